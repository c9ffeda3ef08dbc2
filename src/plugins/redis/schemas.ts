/** The parameter schemas `redis.instance` declares (they become the provider's extended_info_schema). */
import type { ResourceSchemas } from '../api.js';
import { NO_PARAMETERS } from '../protection-table.js';

export const REDIS_INSTANCE_SCHEMAS: ResourceSchemas = {
  options: NO_PARAMETERS,
  restore: {
    type: 'object',
    additionalProperties: false,
    properties: {
      target_instance: {
        type: 'string',
        minLength: 1,
        description: 'A Redis instance configured in this provider to restore into; default: the protected one.',
      },
      target_db: {
        type: 'integer',
        minimum: 0,
        maximum: 15,
        description: 'Database index to restore into; default: the protected database.',
      },
      conflict: {
        type: 'string',
        enum: ['fail', 'replace'],
        default: 'fail',
        description: 'When a key of the checkpoint already exists in the target: fail before writing anything, or replace it.',
      },
    },
  },
  saved_info: {
    type: 'object',
    additionalProperties: false,
    required: ['keys', 'bytes', 'by_type', 'skipped'],
    properties: {
      keys: { type: 'integer', minimum: 0, description: 'Keys stored in the checkpoint.' },
      bytes: { type: 'integer', minimum: 0, description: 'Size of the stored records.' },
      by_type: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 }, description: 'Stored keys per Redis type.' },
      skipped: {
        type: 'object',
        additionalProperties: false,
        required: ['vanished', 'expired'],
        properties: {
          vanished: { type: 'integer', minimum: 0, description: 'Keys SCAN returned that were deleted before they could be dumped.' },
          expired: { type: 'integer', minimum: 0, description: 'Keys whose TTL ran out while they were being dumped.' },
        },
      },
      redis_version: { type: 'string' },
    },
  },
  verify: NO_PARAMETERS,
};
