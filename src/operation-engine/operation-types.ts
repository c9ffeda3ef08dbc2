/**
 * The scheduled operation types and what each one's `operation_definition` takes. Karbor's client
 * sends every definition value as a string ("max_backups": "3"): a whole-number field accepts a
 * string of digits, and nothing else is coerced. Unknown fields are refused, naming them. A new type
 * is an entry here and its run in runs.ts.
 */
import { bwkError } from '../core/errors.js';
import type { ScheduledOperationType, TriggerType } from '../store/scheduling-records.js';
import { checkRetentionPolicy, type KeepRules, type RetentionPolicy } from './retention.js';

type Field = 'uuid' | 'string' | { min: number; max?: number } | 'keep';

interface TypeSpec {
  fields: Record<string, Field>;
  /** Fields it cannot do without. */
  required: string[];
  /** Bank upkeep is for admins: it reads or rewrites a whole provider's bank. */
  adminOnly: boolean;
  /** The triggers that may fire it. */
  triggers: TriggerType[];
}

const PLAN_FIELDS = { plan_id: 'uuid', provider_id: 'string' } as const;
const KEEP_KEYS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

export const OPERATION_TYPES: Readonly<Partial<Record<ScheduledOperationType, TypeSpec>>> = {
  protect: { fields: { ...PLAN_FIELDS }, required: ['plan_id'], adminOnly: false, triggers: ['time'] },
  retention_protect: {
    fields: { ...PLAN_FIELDS, max_backups: { min: 1 }, retention_duration: { min: 1 }, keep: 'keep' },
    required: ['plan_id'],
    adminOnly: false,
    triggers: ['time'],
  },
  // With an event trigger it verifies the checkpoint the event names; with a time trigger, the plan's newest available one.
  verify: { fields: { ...PLAN_FIELDS }, required: ['plan_id'], adminOnly: false, triggers: ['time', 'event'] },
  // Copies the plan's newest available checkpoint (time trigger) or the one its event names into
  // to_provider_id's bank; the retention fields judge the copies it made there.
  copy: {
    fields: { plan_id: 'uuid', to_provider_id: 'string', max_backups: { min: 1 }, retention_duration: { min: 1 }, keep: 'keep' },
    required: ['plan_id', 'to_provider_id'],
    adminOnly: false,
    triggers: ['time', 'event'],
  },
  // read_data_percent 0 (or absent): the structure check only; above 0, --read-data of that share of the packs.
  bank_check: {
    fields: { provider_id: 'string', read_data_percent: { min: 0, max: 100 } },
    required: ['provider_id'],
    adminOnly: true,
    triggers: ['time'],
  },
  bank_gc: { fields: { provider_id: 'string' }, required: ['provider_id'], adminOnly: true, triggers: ['time'] },
};

const invalid = (field: string, reason: string): Error => bwkError('BWK_ERR_SCHEDULED_OPERATION_INVALID', { field, reason });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The runs a fire of `type` overlaps with (the overlap policy's "previous run for the same plan"):
 * protects of the plan for protects, verifications for verifications. Restores never count.
 */
export const overlapFamily = (type: string): readonly string[] =>
  type === 'verify' || type === 'copy' ? [type] : ['protect', 'retention_protect'];

export function operationTypeOf(type: unknown): { type: ScheduledOperationType; spec: TypeSpec } {
  if (typeof type !== 'string' || !Object.hasOwn(OPERATION_TYPES, type))
    throw invalid('operation_type', `${JSON.stringify(type)} is not one of ${Object.keys(OPERATION_TYPES).join(', ')}`);
  return { type: type as ScheduledOperationType, spec: OPERATION_TYPES[type as ScheduledOperationType]! };
}

function wholeNumber(field: string, v: unknown, bounds: { min: number; max?: number }): number {
  const n = typeof v === 'string' && /^\d{1,12}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < bounds.min || (bounds.max !== undefined && n > bounds.max))
    throw invalid(
      field,
      `${JSON.stringify(v)} is not a whole number from ${bounds.min}${bounds.max === undefined ? ' up' : ` to ${bounds.max}`}`,
    );
  return n;
}

/** The definition with its values coerced and checked; the retention policy, if any, checked too. */
export function checkDefinition(type: ScheduledOperationType, definition: unknown): Record<string, unknown> {
  const spec = operationTypeOf(type).spec;
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition))
    throw invalid('operation_definition', 'it must be an object');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(definition)) {
    const field = spec.fields[key];
    const name = `operation_definition.${key}`;
    if (field === undefined) throw invalid(name, `${type} takes no such field (it takes ${Object.keys(spec.fields).join(', ')})`);
    if (field === 'uuid') {
      if (typeof value !== 'string' || !UUID.test(value)) throw invalid(name, `${JSON.stringify(value)} is not a UUID`);
      out[key] = value.toLowerCase();
    } else if (field === 'string') {
      if (typeof value !== 'string' || value === '' || value.length > 200) throw invalid(name, 'it must be a non-empty string');
      out[key] = value;
    } else if (field === 'keep') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(name, 'it must be an object');
      const keep: KeepRules = {};
      for (const [k, v] of Object.entries(value)) {
        if (!(KEEP_KEYS as readonly string[]).includes(k)) throw invalid(`${name}.${k}`, `keep takes ${KEEP_KEYS.join(', ')}`);
        keep[k as keyof KeepRules] = wholeNumber(`${name}.${k}`, v, { min: 0 });
      }
      out[key] = keep;
    } else {
      out[key] = wholeNumber(name, value, field);
    }
  }
  for (const key of spec.required) if (out[key] === undefined) throw invalid(`operation_definition.${key}`, `${type} needs it`);
  if (type === 'retention_protect') {
    try {
      checkRetentionPolicy(retentionPolicyOf(out));
    } catch (err) {
      throw invalid('operation_definition', String((err as { details?: { reason?: unknown } }).details?.reason ?? err));
    }
  }
  return out;
}

export function retentionPolicyOf(definition: Record<string, unknown>): RetentionPolicy {
  return {
    ...(definition.max_backups !== undefined ? { max_backups: definition.max_backups as number } : {}),
    ...(definition.retention_duration !== undefined ? { retention_duration: definition.retention_duration as number } : {}),
    ...(definition.keep !== undefined ? { keep: definition.keep as KeepRules } : {}),
  };
}
