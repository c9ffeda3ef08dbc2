/**
 * Bulwark plugin API, version 1: what a plugin author imports (`import type { PluginDefinition } from
 * 'bulwark/plugin-api/v1'`). The compatibility policy (docs/plugin-authoring.md "Compatibility"):
 * within v1 Bulwark only adds optional members to what a plugin implements and members to what it is
 * given, and never removes or changes the meaning of one; anything else is v2, a new module beside
 * this one, loaded side by side with v1 plugins for at least one release.
 */
export type {
  BankSection,
  ChunkRef,
  ChunkedWriter,
  DeleteContext,
  FileFacts,
  FileRead,
  FileRescan,
  FilesRead,
  HookContext,
  JsonSchema,
  Operation,
  PluginDefinition,
  PluginEnvironment,
  PluginInstance,
  ReadChunksOptions,
  Progress,
  ProtectableContext,
  ProtectablePlugin,
  ProtectContext,
  ProtectionPlugin,
  Resource,
  ResourceSchemas,
  ResourceScope,
  RestoreContext,
  RestorePolicy,
  VerifyContext,
  HookName,
} from '../plugins/api.js';
export type { Logger } from '../common/logging.js';
export { PluginError, resourceRef, HOOK_NAMES } from '../plugins/api.js';

/** The value a v1 plugin's `apiVersion` holds. */
export const API_VERSION = 1;
