import { bwkError } from '../core/errors.js';
import { compileSchema, describeSchemaError, errorPointer, sortSchemaErrors } from '../common/schema.js';
import { parseYamlSource, YamlSyntaxError } from '../common/yaml-source.js';

/** `plan create -f plan.yaml`: the same fields as the API's plan body. */
export interface PlanFile {
  name: string;
  description?: string;
  /** Provider UUID or name. */
  provider_id?: string;
  provider?: string;
  resources: Array<{ type: string; id: string; name?: string; extra_info?: Record<string, unknown>; node?: string; consistency?: unknown }>;
  parameters?: Record<string, unknown>;
}

// A plan file is checked for its shape only: the service validates a plan in full, as it does one sent to the API.
const string = { type: 'string' } as const;
const object = { type: 'object' } as const;

const PLAN_RESOURCE = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'id'],
  properties: { type: string, id: string, name: string, extra_info: object, node: string, consistency: object },
} as const;

export const PLAN_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'resources'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: string,
    provider_id: string,
    provider: string,
    resources: { type: 'array', minItems: 1, items: PLAN_RESOURCE },
    parameters: object,
  },
} as const;

export function parsePlanFile(text: string, file: string): PlanFile {
  let src;
  try {
    src = parseYamlSource(text, file);
  } catch (err) {
    if (err instanceof YamlSyntaxError)
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${file}:${err.line}: YAML syntax: ${err.reason}` });
    throw err;
  }
  const validate = compileSchema(PLAN_FILE_SCHEMA);
  if (!validate(src.value)) {
    const e = sortSchemaErrors(validate.errors ?? [])[0]!;
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${file}:${src.lineOf(errorPointer(e))}: ${describeSchemaError(e)}` });
  }
  const plan = src.value as PlanFile;
  if (!plan.provider_id && !plan.provider)
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${file}:1: give provider_id (or provider, a provider name)` });
  return plan;
}
