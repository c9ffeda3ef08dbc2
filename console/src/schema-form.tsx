/**
 * A parameter form generated from a provider's restore or verify schema (`extended_info_schema`):
 * one fieldset per resource type of the checkpoint, one control per property. Only fields the
 * operator filled in are sent, so the plugin's defaults apply to the rest; the API validates again.
 */
import type { JsonSchema } from './types.js';
import { Field } from './ui.js';

export type FormValues = Record<string, Record<string, string | boolean>>;

const typeOf = (s: JsonSchema): string => (Array.isArray(s.type) ? (s.type.find((t) => t !== 'null') ?? 'string') : (s.type ?? 'string'));

/** Karbor's parameters shape `{"<type>": {...}}` from what the form holds; throws a readable Error on a bad number. */
export function parametersOf(schemas: Record<string, JsonSchema>, values: FormValues): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [type, fields] of Object.entries(values)) {
    const props = schemas[type]?.properties ?? {};
    for (const [key, raw] of Object.entries(fields)) {
      const schema = props[key];
      if (!schema || raw === '') continue;
      let value: unknown = raw;
      const t = typeOf(schema);
      if (t === 'integer' || t === 'number') {
        value = Number(raw);
        if (!Number.isFinite(value) || (t === 'integer' && !Number.isInteger(value))) throw new Error(`${type}: ${key} must be a ${t}`);
      } else if (t === 'array') {
        value = String(raw)
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '');
      }
      (out[type] ??= {})[key] = value;
    }
  }
  return out;
}

/** The types that have anything to ask. */
export const askedTypes = (schemas: Record<string, JsonSchema>, types: readonly string[]): string[] =>
  types.filter((t) => Object.keys(schemas[t]?.properties ?? {}).length > 0);

export function SchemaFields(props: {
  schemas: Record<string, JsonSchema>;
  types: readonly string[];
  values: FormValues;
  onChange: (values: FormValues) => void;
}) {
  const { schemas, values, onChange } = props;
  const set = (type: string, key: string, v: string | boolean) => onChange({ ...values, [type]: { ...values[type], [key]: v } });
  const types = askedTypes(schemas, props.types);
  if (types.length === 0) return <p>This provider takes no parameters here.</p>;
  return (
    <>
      {types.map((type) => (
        <fieldset class="stack" key={type}>
          <legend>{type}</legend>
          {Object.entries(schemas[type]!.properties!).map(([key, schema]) => {
            const t = typeOf(schema);
            const label = `${key}${schema.required?.includes(key) ? ' (required)' : ''}`;
            const current = values[type]?.[key];
            if (t === 'boolean') {
              const checked = typeof current === 'boolean' ? current : schema.default === true;
              return (
                <Field key={key} label={label} {...(schema.description ? { hint: schema.description } : {})}>
                  {(id, hint) => (
                    <input
                      id={id}
                      type="checkbox"
                      name={`${type}.${key}`}
                      checked={checked}
                      aria-describedby={hint}
                      onChange={(e) => set(type, key, (e.currentTarget as HTMLInputElement).checked)}
                    />
                  )}
                </Field>
              );
            }
            const text = typeof current === 'string' ? current : '';
            // JSON Schema patterns search anywhere; an HTML pattern must match the whole value, so the
            // pattern is shown, not enforced here (the API checks it and says what is wrong).
            const hintText = [
              schema.description,
              schema.default !== undefined ? `Default: ${JSON.stringify(schema.default)}.` : '',
              schema.pattern ? `Pattern: ${schema.pattern}` : '',
            ]
              .filter(Boolean)
              .join(' ');
            return (
              <Field key={key} label={label} {...(hintText ? { hint: hintText } : {})}>
                {(id, hint) =>
                  schema.enum ? (
                    <select
                      id={id}
                      name={`${type}.${key}`}
                      value={text}
                      aria-describedby={hint}
                      onChange={(e) => set(type, key, e.currentTarget.value)}
                    >
                      <option value="">(default)</option>
                      {schema.enum.map((v) => (
                        <option key={String(v)} value={String(v)}>
                          {String(v)}
                        </option>
                      ))}
                    </select>
                  ) : t === 'array' ? (
                    <textarea
                      id={id}
                      name={`${type}.${key}`}
                      value={text}
                      aria-describedby={hint}
                      placeholder="one per line"
                      onInput={(e) => set(type, key, e.currentTarget.value)}
                    />
                  ) : (
                    <input
                      id={id}
                      name={`${type}.${key}`}
                      type={(t === 'integer' || t === 'number' ? 'number' : 'text') as 'text'}
                      value={text}
                      aria-describedby={hint}
                      {...(schema.minimum !== undefined ? { min: schema.minimum } : {})}
                      onInput={(e) => set(type, key, e.currentTarget.value)}
                    />
                  )
                }
              </Field>
            );
          })}
        </fieldset>
      ))}
    </>
  );
}
