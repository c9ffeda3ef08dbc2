import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';

/**
 * One Ajv instance for the whole process: schemas compile once and are cached by identity.
 * `useDefaults` fills documented defaults; `coerceTypes` stays off so "3" is not silently a number.
 */
export const AJV_OPTIONS = { allErrors: true, strict: false, useDefaults: true } as const;
export const ajv = new Ajv(AJV_OPTIONS);

const cache = new WeakMap<object, ValidateFunction>();

/** Where `npm run build` writes validators compiled to code (scripts/gen-validators.ts): dist/generated/. */
export const GENERATED_DIR = new URL('../../generated/', import.meta.url);

export const schemaHash = (schema: object): string => createHash('sha256').update(JSON.stringify(schema)).digest('hex');

/** The file the build writes for a schema of this hash. */
export const generatedFile = (hash: string): URL => new URL(`schema-${hash.slice(0, 32)}.cjs`, GENERATED_DIR);

const require = createRequire(import.meta.url);

/**
 * The build's validator of a schema with exactly this content, if it made one: in `file`, or in the
 * file named by the hash of the schema. Checked against the full hash it carries, so an edited schema
 * never meets an old one.
 */
export function generatedValidator(schema: object, file?: URL): ValidateFunction | undefined {
  const hash = schemaHash(schema);
  const at = file ?? generatedFile(hash);
  if (!existsSync(at)) return undefined;
  const mod = require(at.pathname) as { hash?: string; validate?: ValidateFunction };
  return mod.hash === hash && typeof mod.validate === 'function' ? mod.validate : undefined;
}

/**
 * A validator for `schema`, cached by identity. Built-in schemas (plugin options, resource
 * parameters, plan files) come compiled by the build: Ajv compiling the database plugins' option
 * schemas alone took ~100 ms of every command's start, for providers the command might not use.
 */
export function compileSchema(schema: object): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = generatedValidator(schema) ?? ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

/** Reads `/a/0/b` as `a[0].b` — what an operator recognises in a YAML or JSON document. */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '(top level)';
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** The JSON pointer of the value an error is about (an unknown key points at the key itself). */
export function errorPointer(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return `${e.instancePath}/${extra.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  }
  if (e.keyword === 'required') {
    return e.instancePath;
  }
  return e.instancePath;
}

/** Turns one Ajv error into a sentence that says what is wrong and what would be right. */
export function describeSchemaError(e: ErrorObject): string {
  const where = pointerToPath(e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${where}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    case 'required':
      return `${where}: missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      return `${where}: must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    case 'type':
      return `${where}: must be ${(e.params as { type: string }).type}`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}

/** Orders errors so the most useful one (deepest, not an `anyOf` summary) comes first. */
export function sortSchemaErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const rank = (e: ErrorObject): number => (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if' ? 1 : 0);
  return [...errors].sort((a, b) => rank(a) - rank(b) || b.instancePath.length - a.instancePath.length);
}
