/** The parameter schemas `fs.directory` declares (they become the provider's extended_info_schema). */
import type { ResourceSchemas } from '../api.js';
import { NO_PARAMETERS } from '../protection-table.js';

export const FS_DIRECTORY_SCHEMAS: ResourceSchemas = {
  options: {
    type: 'object',
    additionalProperties: false,
    properties: {
      exclude: {
        type: 'array',
        items: { type: 'string' },
        description: 'Paths relative to the directory to leave out; a directory excludes everything below it.',
      },
    },
  },
  restore: {
    type: 'object',
    additionalProperties: false,
    properties: {
      target_path: { type: 'string', pattern: '^/', description: 'Absolute directory to restore into; default: the original path.' },
      conflict: {
        type: 'string',
        enum: ['fail', 'skip', 'overwrite'],
        default: 'fail',
        description:
          'When an entry already exists: fail before writing anything, skip it, or overwrite files and symlinks (directories are never ' +
          'deleted).',
      },
      restore_owner: { type: 'boolean', default: true, description: 'Restore uid/gid (only when Bulwark runs as root).' },
    },
  },
  saved_info: {
    type: 'object',
    additionalProperties: false,
    required: ['files', 'directories', 'symlinks', 'bytes', 'skipped'],
    properties: {
      files: { type: 'integer', minimum: 0 },
      directories: { type: 'integer', minimum: 0, description: 'Including the protected directory itself.' },
      symlinks: { type: 'integer', minimum: 0 },
      bytes: { type: 'integer', minimum: 0 },
      unchanged_files: {
        type: 'integer',
        minimum: 0,
        description: 'Files unchanged since the previous checkpoint (size, mtime, inode, ctime): not read, their chunks reused.',
      },
      unchanged_bytes: { type: 'integer', minimum: 0 },
      skipped: {
        type: 'array',
        description: 'Entries not archived (sockets, FIFOs, devices, entries that vanished while walking); at most 1000 are listed.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['path', 'kind'],
          properties: {
            path: { type: 'string' },
            kind: { type: 'string', enum: ['socket', 'fifo', 'block_device', 'character_device', 'vanished', 'unknown'] },
          },
        },
      },
      skipped_count: { type: 'integer', minimum: 0, description: 'All skipped entries, listed or not.' },
    },
  },
  verify: NO_PARAMETERS,
};
