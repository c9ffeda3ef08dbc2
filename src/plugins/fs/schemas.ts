/** The parameter schemas `fs.directory` declares (they become the provider's extended_info_schema). */
import type { ResourceSchemas } from '../api.js';
import { NO_PARAMETERS } from '../protection-table.js';

const XATTR_OPTIONS = {
  type: 'object',
  additionalProperties: false,
  properties: {
    skip_namespaces: {
      type: 'array',
      items: { type: 'string', enum: ['user', 'trusted', 'security', 'system'] },
      description:
        'Extended attribute namespaces to leave out (system holds the POSIX ACLs, security the capabilities and SELinux labels).',
    },
  },
};

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
      on_unreadable: {
        type: 'string',
        enum: ['fail', 'warn'],
        default: 'warn',
        description:
          'An entry the protect cannot read (permission denied, vanished, unknown type, unreadable attributes): warn stores the rest and ' +
          'lists it in saved_info and the log; fail stores nothing and fails the protect naming it.',
      },
      xattrs: XATTR_OPTIONS,
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
      on_not_restored: {
        type: 'string',
        enum: ['fail', 'warn'],
        default: 'warn',
        description:
          'An entry not restored as archived (an attribute the target refuses, a device when not root, a socket): warn lists it in the ' +
          "restore's progress message and the log; fail fails the restore naming it (after writing the rest).",
      },
      xattrs: XATTR_OPTIONS,
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
      hardlinks: { type: 'integer', minimum: 0, description: 'Paths stored as hard links to a file archived before them.' },
      special_files: { type: 'integer', minimum: 0, description: 'FIFOs, devices and sockets recorded.' },
      with_xattrs: { type: 'integer', minimum: 0, description: 'Entries stored with extended attributes (ACLs, capabilities included).' },
      skipped: {
        type: 'array',
        description:
          'Entries not archived (unreadable, vanished while walking, unknown type) or archived without some extended attributes ' +
          '("xattrs"); at most 1000 are listed. Checkpoints of format 2 also list sockets, FIFOs and devices here.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['path', 'kind'],
          properties: {
            path: { type: 'string' },
            kind: {
              type: 'string',
              enum: ['unreadable', 'vanished', 'unknown', 'xattrs', 'socket', 'fifo', 'block_device', 'character_device'],
            },
            reason: { type: 'string' },
          },
        },
      },
      skipped_count: { type: 'integer', minimum: 0, description: 'All skipped entries, listed or not.' },
      on_unreadable: { type: 'string', enum: ['fail', 'warn'] },
    },
  },
  verify: NO_PARAMETERS,
};
