/**
 * Validators of the schemas every command checks at start-up (bulwark.yaml, provider files),
 * compiled to code by `npm run build` (scripts/gen-validators.ts) instead of by Ajv at every start:
 * compiling the configuration schema alone took ~75 ms of a ~470 ms `plan list`. Each generated
 * module carries the hash of the schema it was made from; a missing or stale one (a build that ran
 * only tsc) falls back to compiling at run time, so a validator can never disagree with its schema.
 */
import type { ValidateFunction } from 'ajv';
import { GENERATED_DIR, compileSchema, generatedValidator, schemaHash } from './schema.js';

export { GENERATED_DIR, schemaHash };

const loaded = new Map<string, ValidateFunction>();

/** The build's validator of `schema` when it matches, else one compiled now (cached either way). */
export function precompiledValidator(name: string, schema: object): ValidateFunction {
  const known = loaded.get(name);
  if (known) return known;
  const fn = generatedValidator(schema, new URL(`${name}-validator.cjs`, GENERATED_DIR)) ?? compileSchema(schema);
  loaded.set(name, fn);
  return fn;
}
