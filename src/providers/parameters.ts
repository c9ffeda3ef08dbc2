import { bwkError } from '../core/errors.js';
import { compileSchema, describeSchemaError, sortSchemaErrors } from '../common/schema.js';
import { resourceRef, type Resource } from '../core/resource.js';
import type { ResourceSchemas } from '../plugins/api.js';
import type { Provider } from './registry.js';

/**
 * Parameters use Karbor's shape: `{"<type>": {...}, "<type>#<id>": {...}}`; the second overrides the
 * first for one resource. Unlike Karbor (which only checked key names) every value is validated
 * against the plugin's schema: types, enums, required fields.
 */
export type ParameterKind = 'plan' | 'restore' | 'verify';

const SCHEMA_OF: Record<ParameterKind, keyof ResourceSchemas> = { plan: 'options', restore: 'restore', verify: 'verify' };

interface Key {
  type: string;
  id: string | null;
}

function parseKey(key: string): Key {
  const hash = key.indexOf('#');
  return hash < 0 ? { type: key, id: null } : { type: key.slice(0, hash), id: key.slice(hash + 1) };
}

/** Merges `<type>` and `<type>#<id>` parameters for one resource (resource-specific wins). */
export function mergedParameters(parameters: Record<string, unknown>, resource: { type: string; id: string }): Record<string, unknown> {
  const byType = parameters[resource.type];
  const byResource = parameters[resourceRef(resource)];
  return { ...(isObject(byType) ? byType : {}), ...(isObject(byResource) ? byResource : {}) };
}

/**
 * Validates parameters for `resources` under `provider` and throws a coded error for the first
 * problem. `extraIds` are resources known beyond the plan's roots (a checkpoint's whole graph).
 */
export function validateParameters(kind: ParameterKind, provider: Provider, resources: readonly Resource[], parameters: unknown): void {
  if (!isObject(parameters))
    throw bwkError('BWK_ERR_PARAMETERS_INVALID', {
      kind,
      key: '(all)',
      reason: 'parameters must be a JSON object keyed by "<type>" or "<type>#<id>"',
    });
  const supported = [...provider.protection.keys()].sort();
  const idsByType = new Map<string, Set<string>>();
  for (const r of resources) {
    if (!idsByType.has(r.type)) idsByType.set(r.type, new Set());
    idsByType.get(r.type)!.add(r.id);
  }
  for (const [key, value] of Object.entries(parameters)) {
    const { type, id } = parseKey(key);
    if (!provider.protection.has(type)) {
      throw bwkError('BWK_ERR_PARAMETERS_KEY_UNKNOWN', { kind, key, expected: supported.join(', ') || 'none' });
    }
    if (!isObject(value)) throw bwkError('BWK_ERR_PARAMETERS_INVALID', { kind, key, reason: 'must be a JSON object' });
    // Every key's type is listed, even with no resource yet (children found later): its value is checked on its own below.
    if (!idsByType.has(type)) idsByType.set(type, new Set());
    if (id !== null) idsByType.get(type)!.add(id);
  }
  for (const [type, ids] of idsByType) {
    const schema = provider.schemas(type)[SCHEMA_OF[kind]];
    if (!provider.protection.has(type)) continue;
    for (const id of ids) {
      // Deep copy: Ajv fills defaults in place, also inside nested objects the caller still owns.
      const merged = structuredClone(mergedParameters(parameters, { type, id }));
      checkAgainst(schema, merged, kind, parameters[resourceRef({ type, id })] !== undefined ? resourceRef({ type, id }) : type);
    }
    if (ids.size === 0 && parameters[type] !== undefined) checkAgainst(schema, structuredClone(parameters[type]), kind, type);
  }
}

/** The parameters a hook receives: merged, validated, with schema defaults filled in. */
export function resolveParameters(
  kind: ParameterKind,
  provider: Provider,
  resource: Resource,
  parameters: Record<string, unknown>,
): Record<string, unknown> {
  const merged = structuredClone(mergedParameters(parameters, resource));
  const schema = provider.schemas(resource.type)[SCHEMA_OF[kind]];
  checkAgainst(schema, merged, kind, resourceRef(resource));
  return merged;
}

/** Validates `value` in place (defaults are filled in); a plugin without a schema accepts only `{}`. */
function checkAgainst(schema: Record<string, unknown> | undefined, value: unknown, kind: ParameterKind, key: string): void {
  if (!schema) {
    if (isObject(value) && Object.keys(value).length === 0) return;
    throw bwkError('BWK_ERR_PARAMETERS_INVALID', {
      kind,
      key,
      reason: `the plugin declares no ${SCHEMA_OF[kind]} schema, so it takes no parameters`,
    });
  }
  const validate = compileSchema(schema);
  if (!validate(value)) {
    const e = sortSchemaErrors(validate.errors ?? [])[0]!;
    throw bwkError('BWK_ERR_PARAMETERS_INVALID', { kind, key, reason: describeSchemaError(e) });
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
