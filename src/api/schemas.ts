/**
 * Request schemas of the REST API. They validate requests (unknown fields and wrong types are 400s)
 * and generate /openapi.json, so the reference can never disagree with what is enforced.
 */
import { OPERATION_TYPES } from '../operation-engine/operation-types.js';
import type { OperationLogStatus, TriggerType } from '../store/scheduling-records.js';

const uuid = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' } as const;
const object = { type: 'object' } as const;

export const projectParams = {
  type: 'object',
  required: ['project_id'],
  properties: { project_id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } },
} as const;
/** The project's params and a free-form string `name` (a provider's UUID or name, a resource type). */
const projectParamsAnd = <N extends string>(name: N) =>
  ({ ...projectParams, properties: { ...projectParams.properties, [name]: { type: 'string' } } as const }) as const;
export const providerRefParams = projectParamsAnd('provider_id');
export const typeParams = projectParamsAnd('type');

export const idParams = { type: 'object', required: ['project_id', 'id'], properties: { ...projectParams.properties, id: uuid } } as const;
export const providerParams = {
  type: 'object',
  required: ['project_id', 'provider_id'],
  properties: { ...projectParams.properties, provider_id: uuid },
} as const;
export const providerIdParams = {
  type: 'object',
  required: ['project_id', 'provider_id', 'id'],
  properties: { ...providerParams.properties, id: uuid },
} as const;

export const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: {
      type: 'integer',
      minimum: 1,
      description: 'page size: paging.default_limit (100) when absent, larger values are clamped to paging.max_limit (1000)',
    },
    marker: { type: 'string' },
    sort: { type: 'string', pattern: '^[a-z_]+(:(asc|desc))?$', description: 'created_at:desc (default) or created_at:asc' },
    all_tenants: { type: 'integer', enum: [0, 1] },
  },
} as const;

export const operationListQuery = {
  ...pageQuery,
  properties: { ...pageQuery.properties, status: { enum: ['in_progress', 'success', 'fail'] }, checkpoint_id: uuid },
} as const;

export const checkpointListQuery = {
  ...pageQuery,
  properties: {
    ...pageQuery.properties,
    plan_id: uuid,
    status: { enum: ['protecting', 'copying', 'available', 'error', 'deleting'] },
    start_date: { type: 'string', description: 'created at or after (ISO-8601)' },
    end_date: { type: 'string', description: 'created at or before (ISO-8601)' },
  },
} as const;

/** A request body holding one object under `key` (`{"plan": {...}}`): the envelope Karbor's API puts every body in. */
const wrapped = <K extends string, S extends object>(key: K, schema: S) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: [key],
    properties: { [key]: schema } as Record<K, S>,
  }) as const;

const resource = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type'],
  properties: {
    id: { type: 'string', minLength: 1 },
    type: { type: 'string', minLength: 1 },
    name: { type: 'string' },
    extra_info: { type: ['object', 'null'] },
    node: { type: 'string' },
    consistency: { type: 'object' },
  },
} as const;

export const planCreateBody = wrapped('plan', {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'provider_id', 'resources'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 255 },
    description: { type: ['string', 'null'], maxLength: 4096 },
    provider_id: uuid,
    resources: { type: 'array', minItems: 1, maxItems: 10000, items: resource },
    parameters: object,
  },
} as const);

export const planUpdateBody = wrapped('plan', {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 255 },
    description: { type: 'string', maxLength: 4096 },
    status: { enum: ['suspended', 'started'] },
    resources: { type: 'array', minItems: 1, items: resource },
    parameters: object,
  },
} as const);

/** A caller-chosen operation id makes a start idempotent: sent again (a retry after a timeout), it returns the first. */
const operationId = {
  ...uuid,
  description: 'optional: a UUID you choose; a repeat with the same id returns the first operation instead of starting another',
} as const;

export const checkpointCreateBody = wrapped('checkpoint', {
  type: 'object',
  additionalProperties: false,
  required: ['plan_id'],
  // Karbor's client spells it extra-info.
  properties: {
    plan_id: uuid,
    extra_info: { type: ['object', 'null'] },
    'extra-info': { type: ['object', 'null'] },
    operation_id: operationId,
  },
} as const);

export const restoreCreateBody = wrapped('restore', {
  type: 'object',
  additionalProperties: false,
  required: ['checkpoint_id'],
  properties: {
    provider_id: uuid,
    checkpoint_id: uuid,
    restore_target: { type: ['string', 'null'] },
    restore_auth: { type: 'null', description: 'not accepted: credentials live in provider configuration, never in requests' },
    parameters: object,
    operation_id: operationId,
  },
} as const);

export const verificationCreateBody = wrapped('verification', {
  type: 'object',
  additionalProperties: false,
  required: ['checkpoint_id'],
  properties: { provider_id: uuid, checkpoint_id: uuid, parameters: object, operation_id: operationId },
} as const);

/** Bank upkeep (POST .../providers/{provider_id}/bank/check and /gc): bare objects, every field optional. */
export const bankCheckBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    read_data: { type: 'boolean', description: 'read, decrypt and hash every chunk, besides checking the structure (slow)' },
    read_data_percent: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 100,
      description: 'with read_data: read a random N% of the packs (default 100)',
    },
  },
} as const;

/** Karbor's `checkpoint-reset-state`: the only update a checkpoint takes. */
/** `checkpoint copy`: the provider (id or name) whose bank receives the copy. */
export const checkpointCopyBody = wrapped('copy', {
  type: 'object',
  additionalProperties: false,
  required: ['to_provider_id'],
  properties: { to_provider_id: { type: 'string', minLength: 1, maxLength: 255 } },
});

export const checkpointUpdateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['os-resetState'],
  properties: {
    'os-resetState': {
      type: 'object',
      additionalProperties: false,
      required: ['state'],
      properties: { state: { enum: ['available', 'error'] } },
    },
  },
} as const;

export const bankGcBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    clock_skew_seconds: {
      type: 'number',
      minimum: 0,
      description: 'how far the clocks of the hosts writing to this bank may differ; packs younger than this are kept (default 60)',
    },
  },
} as const;

export const instancesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { parameters: { type: 'string', description: 'JSON object of listing parameters, e.g. {"path": "/srv"}' } },
} as const;

/*
 * Triggers, scheduled operations and operation logs (Karbor's shapes). The envelope and the record
 * are strict; `properties` and `operation_definition` are free objects whose contents the scheduling
 * service checks field by field, accepting the strings Karbor's client sends for numbers.
 */
const TRIGGER_TYPES = ['time', 'event'] as const satisfies readonly TriggerType[];
const SCHEDULED_OPERATION_TYPES = Object.keys(OPERATION_TYPES);
const OPERATION_LOG_STATUSES = [
  'queued',
  'running',
  'success',
  'error',
  'dropped_out_of_window',
  'skipped_overlap',
] as const satisfies readonly OperationLogStatus[];

export const triggerParams = {
  type: 'object',
  required: ['project_id', 'trigger_id'],
  properties: { ...projectParams.properties, trigger_id: uuid },
} as const;

const triggerProperties = {
  type: 'object',
  description:
    'time: format (crontab | calendar), pattern, timezone, start_time, end_time, window (seconds; an integer or a string of digits); ' +
    'event: event (checkpoint.available). Checked by the service, which names the bad field (BWK_ERR_TRIGGER_INVALID)',
} as const;

export const triggerCreateBody = wrapped('trigger_info', {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type', 'properties'],
  properties: { name: { type: 'string' }, type: { enum: TRIGGER_TYPES }, properties: triggerProperties },
} as const);

export const triggerUpdateBody = wrapped('trigger_info', {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    properties: {
      ...triggerProperties,
      description: `replaces all of them; {} (what Karbor's client sends for none) changes nothing. ${triggerProperties.description}`,
    },
  },
} as const);

export const triggerListQuery = {
  ...pageQuery,
  properties: { ...pageQuery.properties, name: { type: 'string' }, type: { enum: TRIGGER_TYPES } },
} as const;

export const scheduledOperationCreateBody = wrapped('scheduled_operation', {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'operation_type', 'trigger_id', 'operation_definition'],
  properties: {
    name: { type: 'string' },
    description: { type: ['string', 'null'] },
    operation_type: { enum: SCHEDULED_OPERATION_TYPES },
    trigger_id: uuid,
    operation_definition: {
      type: 'object',
      description:
        'protect, retention_protect, verify: plan_id (required), provider_id; ' +
        'retention_protect also max_backups, retention_duration, keep. ' +
        'copy: plan_id and to_provider_id (required), max_backups, retention_duration, keep ' +
        "(judging the copies it made in to_provider_id's bank). " +
        'bank_check (admin tokens only): provider_id (required), read_data_percent (0-100; 0, the default, checks the structure only). ' +
        'bank_gc (admin tokens only): provider_id (required). ' +
        'Checked by the service (BWK_ERR_SCHEDULED_OPERATION_INVALID); whole numbers may be strings of digits',
    },
    overlap: {
      enum: ['skip', 'queue'],
      description: "Bulwark extension: what a fire does while the plan's previous run goes on (default skip)",
    },
  },
} as const);

export const scheduledOperationListQuery = {
  ...pageQuery,
  properties: {
    ...pageQuery.properties,
    name: { type: 'string' },
    operation_type: { enum: SCHEDULED_OPERATION_TYPES },
    trigger_id: uuid,
    plan_id: uuid,
  },
} as const;

export const operationLogListQuery = {
  ...pageQuery,
  properties: {
    ...pageQuery.properties,
    status: { enum: OPERATION_LOG_STATUSES },
    scheduled_operation_id: uuid,
    plan_id: uuid,
    since: { type: 'string', description: 'made at or after (ISO 8601)' },
    until: { type: 'string', description: 'made before (ISO 8601)' },
  },
} as const;
