/**
 * What a plugin author gives the conformance suite: where real data of their resource type comes
 * from, where a restore may put it, and how to tell the restored copy from the original. The suite
 * never looks inside the plugin's stored format; it judges by these.
 */
import type { PluginDefinition, Resource, RestorePolicy } from '../plugins/api.js';

/** Where one restore writes, and how the fixture judges what it wrote. */
export interface RestoreDestination {
  /** Restore parameters that send the restore there (validated against the plugin's restore schema). */
  parameters: Record<string, unknown>;
  /** Throws (any error; its message is shown) when the restored data differs from the source, by the fixture's own comparison. */
  expectEqualToSource(): Promise<void>;
  /** Whether anything at all was written there (a file, a database, a key): a refused restore must write nothing. */
  written(): Promise<boolean>;
}

export interface ConformanceFixtures {
  /** Called once before the suite: creates real data and returns the resource that holds it. */
  source(): Promise<Resource>;
  /** A fresh place for one restore that nothing has written to yet; `label` names the case using it. */
  destination(label: string): Promise<RestoreDestination>;
  /** The plugin's options as a provider file would give them (default `{}`). */
  options?: Record<string, unknown>;
  /** Plan parameters of the resource (default `{}`). */
  protectParameters?: Record<string, unknown>;
  /** Parameters of `listResources` whose listing holds the source resource (default `{}`). */
  listParameters?: Record<string, unknown>;
  /** An id `showResource` must refuse with BWK_ERR_RESOURCE_NOT_FOUND. */
  missingId: string;
  /**
   * Secret values the options give the plugin (a password it reads from an environment variable or a
   * file): none may appear in saved info, a log line, an error or the bank.
   */
  secrets?: string[];
  /** The restore policy hooks get (default: everything allowed, nothing forbidden). */
  policy?: RestorePolicy;
  /**
   * False for a plugin that stores no data for this type (a grouping type such as app.stack): the
   * suite then checks that protect stores nothing, instead of the promises about stored bytes.
   */
  storesData?: boolean;
  /** False for a plugin whose restore has nothing to write back (noop): a successful restore then need not write. */
  restoreWrites?: boolean;
  /** Called once after the suite. */
  cleanup?(): Promise<void>;
}

/** Creates the plugin under test; a PluginDefinition (what a plugin module exports) or a function returning one. */
export type PluginFactory = PluginDefinition | (() => PluginDefinition | Promise<PluginDefinition>);
