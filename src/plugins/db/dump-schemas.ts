/**
 * Parameter schemas the database families share: what protect saves about a stored dump, and where a
 * database is restored to. Each family's schemas.ts fills in its own limits and adds its own options.
 */
import type { JsonSchema } from '../api.js';

/** The saved info of a dump: its size and SHA-256, which restore and verify hold meta.json to. */
export function dumpSavedInfo(format: string, description: string): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['size', 'sha256', 'format'],
    properties: {
      size: { type: 'integer', minimum: 0, description: 'Bytes of the stored dump.' },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      format: { type: 'string', enum: [format], description },
    },
  };
}

/**
 * Restore parameters of a `<family>.database`: target database and server, and what to do when the
 * target exists. `maxNameLength` is the engine's identifier limit; `dropSafety` says why `drop` cannot
 * lose the existing database to a bad dump; `extra` adds the family's own parameters.
 */
export function databaseRestoreSchema(maxNameLength: number, dropSafety: string, extra: Record<string, JsonSchema> = {}): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      target_database: {
        type: 'string',
        minLength: 1,
        maxLength: maxNameLength,
        description: 'Database to restore into; default: the original name.',
      },
      target_server: { type: 'string', minLength: 1, description: 'Configured server to restore to; default: the original server.' },
      conflict: {
        type: 'string',
        enum: ['fail', 'drop'],
        default: 'fail',
        description: `When the target database exists: fail before touching it, or replace it (${dropSafety}).`,
      },
      ...extra,
    },
  };
}
