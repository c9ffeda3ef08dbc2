/**
 * Validators of the schemas every command checks at start-up (bulwark.yaml, provider files),
 * compiled to code by `npm run build` (scripts/gen-validators.ts) instead of by Ajv at every start:
 * compiling the configuration schema alone took ~75 ms of a ~470 ms `plan list`. Each generated
 * module carries the hash of the schema it was made from; a missing or stale one (a build that ran
 * only tsc) falls back to compiling at run time, so a validator can never disagree with its schema.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { GENERATED_DIR, compileSchema, schemaHash } from './schema.js';

export { GENERATED_DIR, schemaHash };

const require = createRequire(import.meta.url);
const loaded = new Map<string, ValidateFunction>();

/** The build's validator of `schema` when it matches, else one compiled now (cached either way). */
export function precompiledValidator(name: string, schema: object): ValidateFunction {
  const known = loaded.get(name);
  if (known) return known;
  let fn: ValidateFunction | undefined;
  const file = new URL(`${name}-validator.cjs`, GENERATED_DIR);
  if (existsSync(file)) {
    const mod = require(file.pathname) as { hash?: string; validate?: ValidateFunction };
    if (mod.hash === schemaHash(schema) && typeof mod.validate === 'function') fn = mod.validate;
  }
  fn ??= compileSchema(schema);
  loaded.set(name, fn);
  return fn;
}
