/**
 * The public plugin API. Built-in plugins (fs.directory, noop) implement exactly this, and so does a
 * provider author's plugin loaded from a file path or an npm package (docs/plugin-authoring.md).
 * A plugin module's default export (or its `plugin` export) is a PluginDefinition.
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../common/logging.js';
import type { Resource } from '../core/resource.js';

// The pure core's resource, reference and hook names are part of the public API.
export type { Resource } from '../core/resource.js';
export { resourceRef } from '../core/resource.js';
export { HOOK_NAMES, type HookName } from '../core/hooks.js';

/** The API version these types describe (the public module is src/plugin-api/v1.ts, `bulwark/plugin-api/v1`). */
export const PLUGIN_API_VERSION = 1;
/** Every version the loader accepts; a v2 would be added here beside 1 (docs/plugin-authoring.md "Compatibility"). */
export const SUPPORTED_PLUGIN_API_VERSIONS: readonly number[] = [PLUGIN_API_VERSION];

/** A JSON Schema (draft-07 / 2019-09 subset Ajv understands). */
export type JsonSchema = Record<string, unknown>;

export interface PluginEnvironment {
  /** The Bulwark home directory. */
  home: string;
  /** The provider this instance serves. */
  providerId: string;
  /** `options` given to this plugin in the provider file. */
  options: Record<string, unknown>;
  logger: Logger;
}

export interface PluginDefinition {
  /** Must equal PLUGIN_API_VERSION. */
  apiVersion: number;
  /** Name used in provider files, e.g. `fs.directory`. */
  name: string;
  description?: string;
  /** Called once per provider that lists the plugin, with that provider's options for it. */
  create(env: PluginEnvironment): PluginInstance | Promise<PluginInstance>;
}

export interface PluginInstance {
  protection?: ProtectionPlugin;
  protectables?: ProtectablePlugin[];
}

/** Schemas per resource type; together they form the provider's `extended_info_schema`. */
export interface ResourceSchemas {
  /** Plan parameters (`{"<type>": {...}}` or `{"<type>#<id>": {...}}`). */
  options?: JsonSchema;
  /** Restore parameters. */
  restore?: JsonSchema;
  /** What `ctx.saveInfo()` stores with the checkpoint during protect. */
  saved_info?: JsonSchema;
  /** Verification parameters. */
  verify?: JsonSchema;
}

/**
 * One operation (protect, restore, verify or delete) on one resource. Every hook is optional; a
 * missing hook gets no task. Order per resource: prepareBegin → prepareFinish → main → complete; for a
 * parent P and child C: P.prepareBegin → C.prepareBegin, C.prepareFinish → P.prepareFinish,
 * C.complete → P.complete; main hooks of different resources run in parallel.
 */
export interface Operation<C extends HookContext = HookContext> {
  prepareBegin?(ctx: C): Promise<void>;
  prepareFinish?(ctx: C): Promise<void>;
  main?(ctx: C): Promise<void>;
  complete?(ctx: C): Promise<void>;
  /**
   * Runs when the operation failed after this resource's hooks started: remove temporary state
   * (snapshots, half-written data). Best effort; its own failure is logged, not raised.
   */
  revert?(ctx: C): Promise<void>;
}

/** How `readChunks` reads. */
export interface ReadChunksOptions {
  /**
   * Plaintext bytes read ahead at most (default 32 MiB). A reader with other reads in flight (a
   * restore writing large files with `writeChunksToFile` beside its stream) asks for less.
   */
  aheadBytes?: number;
}

/** A piece of content in the bank's chunk store: its id (BLAKE3, keyed on an encrypted bank) and plaintext size. */
export interface ChunkRef {
  id: string;
  size: number;
}

/**
 * Builds one chunked object out of several streams (one per file) and chunks reused from an earlier
 * checkpoint. Each `write` starts new chunk boundaries, so a file's chunks do not depend on its
 * neighbours; nothing is visible until `commit`.
 */
/** What fstat said of a file read by the chunk store's workers: what a manifest entry needs. */
export interface FileFacts {
  /** Full st_mode. */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ino: bigint;
  ctimeNs: bigint;
}

/** One file of ChunkedWriter.readFiles. */
export type FileRead =
  | { kind: 'data'; facts: FileFacts; size: number; blake3: string }
  /** No longer a regular file at that path (removed, or replaced by a link, FIFO, ...). */
  | { kind: 'gone' }
  /** Grew past the size it was listed with: stream it with `write` instead. */
  | { kind: 'grew' }
  /** Could not be read (EACCES, EIO): `code` is the system's. */
  | { kind: 'error'; code: string | undefined; message: string };

/** A large local file read, cut and hashed by the chunk store's workers (ChunkedWriter.rescanFile). */
export type FileRescan =
  | {
      kind: 'data';
      facts: FileFacts;
      size: number;
      blake3: string;
      /**
       * Appends the file's chunks, storing the few the bank lacks (read again from the file and
       * checked against the ids the scan found); returns how many. Null, with nothing appended,
       * when too much of the file is new or it changed since the scan: stream it with `write`.
       */
      append(): Promise<number | null>;
    }
  | { kind: 'gone' }
  | { kind: 'error'; code: string | undefined; message: string };

export interface FilesRead {
  files: readonly FileRead[];
  /** Appends file `i`'s chunks (a `data` one) to the writer's list; returns how many. */
  append(i: number): Promise<number>;
}

export interface ChunkedWriter {
  /**
   * Chunks, deduplicates, compresses and (on an encrypted bank) encrypts a stream, appending its
   * chunks; returns how many chunks and bytes it added (their ids are known by `commit`). Resolves
   * once the stream is read: chunks of consecutive streams are processed in parallel.
   */
  write(source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ chunks: number; size: number }>;
  /**
   * Reads small local files (up to 1 MiB each) in the chunk store's worker threads, with synchronous
   * I/O off the main thread, and seals their chunks; nothing is appended until `append(i)` is called
   * for each file, in the order the caller wants (batches read in parallel, appended in order). The
   * BLAKE3 is of the whole content as read, which is exactly what is stored.
   */
  readFiles(files: readonly { path: Buffer; size: number }[]): Promise<FilesRead>;
  /**
   * Reads a large local file in a worker thread, cutting and hashing it without sealing anything, so
   * that a file that changed only a little costs the main thread almost nothing (optional: absent,
   * stream the file with `write`). Nothing is appended until `append()`.
   */
  rescanFile?(path: Buffer): Promise<FileRescan>;
  /** Appends chunks already in the bank; false (and nothing appended) when one of them is gone. */
  reuse(refs: readonly ChunkRef[]): Promise<boolean>;
  /** Chunks appended so far (the next `write` or `reuse` starts at this position). */
  readonly length: number;
  /** Makes every chunk durable and stores the list under `name`; returns the list. */
  commit(name: string): Promise<{ size: number; chunks: number; refs: ChunkRef[] }>;
}

/**
 * This resource's data inside one checkpoint; names are relative (`manifest.json`, `data/0001`).
 * Streams go through the bank's chunk store (deduplicated across checkpoints, compressed, encrypted
 * when the bank is); small objects written with `put` are stored whole (encrypted when the bank is).
 * Every read checks what it returns: a chunk that does not match its id is BWK_ERR_DATA_CORRUPT.
 */
export interface BankSection {
  put(name: string, data: Buffer | string): Promise<void>;
  putStream(name: string, source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ size: number }>;
  get(name: string): Promise<Buffer>;
  getStream(name: string): Promise<Readable>;
  /** Logical size (what `get`/`getStream` return), or null when absent. */
  stat(name: string): Promise<{ size: number } | null>;
  /** Names (relative to the section) starting with `prefix`, sorted. */
  list(prefix?: string): Promise<string[]>;
  delete(name: string): Promise<void>;
  /** A writer for one chunked object made of several streams and reused chunks. */
  chunkedWriter(): Promise<ChunkedWriter>;
  /** The chunks of an object written with `putStream` or a ChunkedWriter. */
  getChunkList(name: string): Promise<ChunkRef[]>;
  /** The plaintext of these chunks in order, read ahead in parallel and checked chunk by chunk. */
  readChunks(refs: readonly ChunkRef[], signal?: AbortSignal, options?: ReadChunksOptions): AsyncIterable<Buffer>;
  /**
   * Writes these chunks' plaintext into the open file descriptor `fd` from offset 0 and returns its
   * BLAKE3 (hex), checked chunk by chunk as `readChunks` checks. 64 KiB blocks of zeros are not
   * written: truncate the file to its size afterwards and they read back as zeros (holes). The
   * plaintext is opened, hashed and written off the main thread. Keep `fd` open until the promise
   * settles: nothing writes to it after that. Optional: a section without it is read with `readChunks`.
   */
  writeChunksToFile?(refs: readonly ChunkRef[], fd: number, signal?: AbortSignal): Promise<string>;
  /**
   * The BLAKE3 (hex) of these chunks' plaintext, checked chunk by chunk as `readChunks` checks,
   * computed off the main thread (a verify of large files). Optional, as `writeChunksToFile`.
   */
  hashChunks?(refs: readonly ChunkRef[], signal?: AbortSignal): Promise<string>;
}

export interface Progress {
  done: number;
  total?: number;
  unit?: 'bytes' | 'items';
  message?: string;
}

export interface HookContext {
  operationId: string;
  checkpointId: string;
  projectId: string;
  resource: Resource;
  /** Parameters for this resource: `<type>` merged with `<type>#<id>`, validated, defaults applied. */
  parameters: Record<string, unknown>;
  bank: BankSection;
  /** Aborted on cancellation or task timeout: stop work and child processes promptly. */
  signal: AbortSignal;
  logger: Logger;
  progress(p: Progress): void;
  /**
   * What this hook last passed to `saveResumeState` in an earlier attempt of the same task (a worker
   * died mid-hook and the temporal engine retried it elsewhere), or null on a first attempt or with
   * the local engine. A hook that can resume skips the work the state says is done.
   */
  resumeState: unknown;
  /** Records resumable progress (small and JSON-serializable: it travels in heartbeats). */
  saveResumeState(state: unknown): void;
}

export interface ProtectContext extends HookContext {
  /** Stores metadata with the checkpoint, validated against the `saved_info` schema. */
  saveInfo(info: Record<string, unknown>): Promise<void>;
  /**
   * This resource's section in the newest available checkpoint of the same plan, or null: what a
   * plugin reads to skip unchanged data (read only; its chunks can be reused with ChunkedWriter.reuse).
   */
  previous: BankSection | null;
}

export interface RestoreContext extends HookContext {
  restoreId: string;
  /**
   * The restore policy of the process running the hook. checkRestore saw it when the request
   * arrived; a plugin that writes to paths checks them again here, when it writes: a path may lead
   * elsewhere by then (another resource of the same restore can create a symlink on the way).
   */
  policy: RestorePolicy;
  /** What protect saved with `saveInfo`, or null. */
  savedInfo: Record<string, unknown> | null;
}

export interface VerifyContext extends HookContext {
  verificationId: string;
  savedInfo: Record<string, unknown> | null;
}

export type DeleteContext = HookContext;

/** Restore policy from bulwark.yaml, for checkRestore and for the restore hooks (RestoreContext.policy). */
export interface RestorePolicy {
  /** Absolute path prefixes a restore may write under. */
  allowedTargetPaths: readonly string[];
  /** Paths a restore must never write into (the Bulwark home and bank). */
  forbiddenPaths: readonly string[];
}

export interface ProtectionPlugin {
  /** Resource types this plugin protects. */
  supportedResourceTypes(): string[];
  /** Parameter schemas for one of those types. */
  schemas(resourceType: string): ResourceSchemas;
  getProtectOperation(resource: Resource): Operation<ProtectContext>;
  getRestoreOperation(resource: Resource): Operation<RestoreContext>;
  getVerifyOperation(resource: Resource): Operation<VerifyContext>;
  getDeleteOperation(resource: Resource): Operation<DeleteContext>;
  /**
   * Checks restore parameters before anything is written (e.g. a target path against the policy).
   * Throw an error with a `code` (BWK_ERR_RESTORE_TARGET_DENIED...) to refuse the restore.
   */
  checkRestore?(resource: Resource, parameters: Record<string, unknown>, policy: RestorePolicy): void | Promise<void>;
  /**
   * Checks a resource's plan parameters (its `options`, resolved and validated against the schema)
   * beyond what the schema can say, when a plan is created or changed. Throw a coded error to refuse
   * the plan; nothing is stored.
   */
  checkOptions?(resource: Resource, parameters: Record<string, unknown>): void | Promise<void>;
  /**
   * How resources of `type` are matched against a project's resource scope (`scopes` in bulwark.yaml),
   * in service mode. A type without one is for admin tokens only: members are refused it.
   */
  scope?(type: string): ResourceScope | undefined;
}

/**
 * A resource type's side of resource scopes: a scope lists patterns per type and use (`protect`:
 * plan, protect, verify, list; `restore`: where a restore may write), and the plugin says what they mean.
 */
export interface ResourceScope {
  /** Whether `id` (a resource id, or a restore target from restoreTargets) matches one of `patterns`. */
  matches(id: string, patterns: readonly string[]): boolean | Promise<boolean>;
  /** What a restore of `resource` with these (resolved) parameters writes into, as ids `matches` understands. */
  restoreTargets(resource: Resource, parameters: Record<string, unknown>): string[];
}

export interface ProtectableContext {
  projectId: string;
  /** Validated `--parameters` of a listing, e.g. `{"path": "/srv"}`. */
  parameters: Record<string, unknown>;
}

export interface ProtectablePlugin {
  /** The resource type this protectable lists. */
  resourceType(): string;
  /**
   * Types whose resources this protectable is asked for dependents of (`dependentResources`):
   * usually the types whose resources can have resources of this type as dependents.
   */
  parentResourceTypes(): string[];
  /** Schema of the parameters `listResources` accepts. */
  listParametersSchema?(): JsonSchema;
  listResources(ctx: ProtectableContext): Promise<Resource[]>;
  /** One resource by id. Throw an error with code BWK_ERR_RESOURCE_NOT_FOUND when it does not exist. */
  showResource(ctx: ProtectableContext, id: string): Promise<Resource>;
  /**
   * Resources that depend on `parent` (a postgres.server's databases): in a flow, `parent`'s
   * prepare_begin runs before theirs and their complete before `parent`'s. Usually of this type; a
   * grouping protectable (app.stack) may return resources of other types to order other plugins'
   * resources. Every dependent's type must be protected by the provider the plan uses, else the plan
   * is refused (BWK_ERR_PLAN_INVALID) rather than the resource silently left unprotected.
   */
  dependentResources(ctx: ProtectableContext, parent: Resource): Promise<Resource[]>;
}

/**
 * Errors a plugin throws may carry a `code` from docs/errors.md (e.g. BWK_ERR_DATA_CORRUPT to report
 * corrupt stored data) and `retryable: true` to let the engine try again. PluginError is a helper.
 */
export class PluginError extends Error {
  readonly code: string | undefined;
  readonly retryable: boolean;
  constructor(message: string, options: { code?: string; retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PluginError';
    this.code = options.code;
    this.retryable = options.retryable ?? false;
  }
}
