import { Ajv } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Bodies are validated strictly: unknown fields are errors (fastify's default ajv would silently
 * strip them) and "3" is not a number. Query strings are text by nature, so they are coerced.
 */
const strict = new Ajv({ allErrors: false, strict: false, removeAdditional: false, coerceTypes: false, useDefaults: true });
const coercing = new Ajv({ allErrors: false, strict: false, removeAdditional: false, coerceTypes: true, useDefaults: true });

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const validate = (httpPart === 'querystring' ? coercing : strict).compile(schema);
  return (data: unknown) =>
    validate(data) ? { value: data } : { error: Object.assign(new Error('invalid'), { validation: validate.errors }) };
};
