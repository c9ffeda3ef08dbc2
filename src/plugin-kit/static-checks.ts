/**
 * The conformance checks that need no stored data: the plugin's schemas and its protectable's
 * listing. Each returns the problems it found, in words a plugin author can act on.
 */
import { Ajv } from 'ajv';
import type { ConformanceFixtures } from './fixtures.js';
import type { JsonSchema, ProtectablePlugin, ProtectionPlugin, Resource } from '../plugins/api.js';
import { resourceRef } from '../plugins/api.js';

/** Strict: an unknown keyword or a misspelt one is an error, as it would silently check nothing. */
const strictAjv = new Ajv({ strict: true, allErrors: true, useDefaults: true, strictRequired: false });
const UNKNOWN_FIELD = 'bwk_conformance_unknown_field';

export type SchemaKind = 'options' | 'restore' | 'verify' | 'saved_info' | 'list';

/** Whether a value the schema accepts is refused once it carries a field the schema does not name. */
function refusesUnknown(schema: JsonSchema, example: Record<string, unknown>, where: string): string[] {
  let validate;
  try {
    validate = strictAjv.compile(schema);
  } catch (err) {
    return [`${where} is not a valid JSON Schema: ${(err as Error).message}`];
  }
  if (!validate(structuredClone(example))) {
    return [`${where} refuses the fixture's own valid value ${JSON.stringify(example)}: ${strictAjv.errorsText(validate.errors)}`];
  }
  if (validate({ ...structuredClone(example), [UNKNOWN_FIELD]: true })) return [`${where} accepts an unknown field "${UNKNOWN_FIELD}"`];
  return [];
}

/** A schema that is not a closed object cannot refuse a misspelt parameter. */
function closedObject(schema: JsonSchema, where: string): string[] {
  let problems: string[] = [];
  try {
    strictAjv.compile(schema);
  } catch (err) {
    problems = [`${where} is not a valid JSON Schema: ${(err as Error).message}`];
  }
  if (schema.type !== 'object') problems.push(`${where} has type ${JSON.stringify(schema.type)}, not "object"`);
  if (schema.additionalProperties !== false && schema.unevaluatedProperties !== false)
    problems.push(`${where} does not set additionalProperties: false, so it accepts unknown fields`);
  return problems;
}

/** Every schema of every type the plugin protects, and of its protectables' listings. */
export function checkSchemas(
  plugin: ProtectionPlugin,
  protectables: ProtectablePlugin[],
  sourceType: string,
  examples: Partial<Record<SchemaKind, Record<string, unknown>>>,
): string[] {
  const problems: string[] = [];
  for (const type of plugin.supportedResourceTypes()) {
    const schemas = plugin.schemas(type);
    for (const kind of ['options', 'restore', 'verify', 'saved_info'] as const) {
      const schema = schemas[kind];
      const where = `the ${kind} schema of ${type}`;
      if (schema === undefined) {
        // Without one, Bulwark cannot refuse a misspelt parameter: only saved_info may be left out (nothing is saved).
        if (kind !== 'saved_info') problems.push(`${where} is missing`);
        continue;
      }
      problems.push(...closedObject(schema, where));
      const example = examples[kind];
      if (type === sourceType && example !== undefined) problems.push(...refusesUnknown(schema, example, where));
    }
  }
  for (const p of protectables) {
    const schema = p.listParametersSchema?.();
    if (schema === undefined) continue;
    const where = `the listing parameters schema of ${p.resourceType()}`;
    problems.push(...closedObject(schema, where));
    if (p.resourceType() === sourceType && examples.list !== undefined) problems.push(...refusesUnknown(schema, examples.list, where));
  }
  return [...new Set(problems)];
}

const same = (a: Resource, b: Resource): boolean => a.type === b.type && a.id === b.id && (a.name ?? null) === (b.name ?? null);
const shown = (r: Resource): string => JSON.stringify({ type: r.type, id: r.id, name: r.name });

/** Listing holds the source; every listed resource shows the same; a missing id is refused as not found. */
export async function checkProtectable(
  protectables: ProtectablePlugin[],
  source: Resource,
  fixtures: ConformanceFixtures,
  noteError: (err: unknown) => void,
): Promise<string[]> {
  const p = protectables.find((x) => x.resourceType() === source.type);
  if (p === undefined) return [`the plugin has no protectable for ${source.type}: operators cannot list or show its resources`];
  const ctx = { projectId: 'conformance-project', parameters: structuredClone(fixtures.listParameters ?? {}) };
  const schema = p.listParametersSchema?.();
  if (schema !== undefined && !strictAjv.validate(schema, ctx.parameters))
    return [`the fixture's listing parameters are refused by the listing schema: ${strictAjv.errorsText()}`];
  const problems: string[] = [];
  const listed = await p.listResources(ctx);
  if (!listed.some((r) => r.type === source.type && r.id === source.id))
    problems.push(
      `listResources does not list the source ${resourceRef(source)} (listed: ${listed.map(resourceRef).join(', ') || 'nothing'})`,
    );
  for (const r of listed.slice(0, 50)) {
    let one: Resource;
    try {
      one = await p.showResource(ctx, r.id);
    } catch (err) {
      noteError(err);
      problems.push(`listResources lists ${resourceRef(r)} but showResource refuses it: ${(err as Error).message}`);
      continue;
    }
    if (!same(one, r)) problems.push(`listResources says ${shown(r)} but showResource says ${shown(one)}`);
  }
  try {
    const ghost = await p.showResource(ctx, fixtures.missingId);
    problems.push(`showResource of the missing id "${fixtures.missingId}" returned ${shown(ghost)} instead of refusing it`);
  } catch (err) {
    noteError(err);
    const code = (err as { code?: unknown }).code;
    if (code !== 'BWK_ERR_RESOURCE_NOT_FOUND')
      problems.push(`showResource of the missing id "${fixtures.missingId}" failed with ${String(code)}, not BWK_ERR_RESOURCE_NOT_FOUND`);
  }
  return problems;
}
