/**
 * The `app.stack` plugin's options in a provider file, validated once in create():
 *
 *   stacks:
 *     shop:
 *       resources:
 *         - {type: postgres.database, id: main/shop}
 *         - {type: fs.directory, id: /srv/shop, depends_on: ["postgres.database#main/shop"]}
 *
 * `depends_on` names other members of the same stack by ref (`<type>#<id>`). A depends_on naming no
 * member, or a cycle (within a stack or across stacks: the edges are one graph, see protectable.ts),
 * is refused here, so a provider that loads never yields a stack the flow graph would reject.
 */
import { resourceRef, type JsonSchema } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { compileSchema, describeSchemaError, sortSchemaErrors } from '../../common/schema.js';

export const APP_STACK = 'app.stack';

/** Stack names are resource ids and appear in bank keys and CLI arguments: keep them plain. */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,63}$/;

export interface StackMember {
  type: string;
  id: string;
  /** `<type>#<id>`, the key the resource graph uses. */
  ref: string;
  /** Refs of the members of the same stack this one depends on. */
  depends_on: string[];
}

export interface Stack {
  name: string;
  description?: string;
  members: StackMember[];
}

export const APP_STACK_OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['stacks'],
  properties: {
    stacks: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['resources'],
        properties: {
          description: { type: 'string' },
          resources: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['type', 'id'],
              properties: {
                type: {
                  type: 'string',
                  pattern: '^[^#\\s]+$',
                  description: 'Resource type of the member, protected by another plugin of the same provider.',
                },
                id: { type: 'string', minLength: 1 },
                depends_on: {
                  type: 'array',
                  uniqueItems: true,
                  default: [],
                  items: { type: 'string', pattern: '^[^#]+#.+$' },
                  description: 'Refs (`<type>#<id>`) of members of this stack restored first.',
                },
              },
            },
          },
        },
      },
    },
  },
};

type RawStacks = Record<string, { description?: string; resources: Array<{ type: string; id: string; depends_on: string[] }> }>;

/** Validates the options and returns the stacks by name. Errors name the provider and the field. */
export function parseStacks(providerId: string, options: Record<string, unknown>): ReadonlyMap<string, Stack> {
  const fail = (reason: string): Error =>
    bwkError('BWK_ERR_CONFIG_INVALID', { file: `provider ${providerId}, plugin "${APP_STACK}" options`, reason });
  const copy = structuredClone(options);
  const validate = compileSchema(APP_STACK_OPTIONS_SCHEMA);
  if (!validate(copy)) throw fail(describeSchemaError(sortSchemaErrors(validate.errors ?? [])[0]!));
  const stacks = new Map<string, Stack>();
  for (const [name, raw] of Object.entries((copy as { stacks: RawStacks }).stacks)) {
    if (!STACK_NAME.test(name)) throw fail(`stacks: "${name}" is not a valid stack name (1-63 letters, digits, "_", "." or "-")`);
    const members: StackMember[] = [];
    const refs = new Set<string>();
    for (const [i, m] of raw.resources.entries()) {
      const ref = resourceRef(m);
      if (m.type === APP_STACK)
        throw fail(`stacks.${name}.resources[${i}]: ${ref}: a stack cannot be a member of a stack; list its resources instead`);
      if (refs.has(ref)) throw fail(`stacks.${name}.resources[${i}]: ${ref} is listed twice`);
      refs.add(ref);
      members.push({ type: m.type, id: m.id, ref, depends_on: [...m.depends_on].sort() });
    }
    for (const [i, m] of members.entries()) {
      for (const dep of m.depends_on) {
        if (!refs.has(dep))
          throw fail(
            `stacks.${name}.resources[${i}].depends_on: "${dep}" is not a member of stack ${name} (members: ${[...refs].join(', ')}); ` +
              `add it to the stack or fix the ref`,
          );
      }
    }
    stacks.set(name, { name, ...(raw.description !== undefined ? { description: raw.description } : {}), members });
  }
  const cycle = findDependencyCycle([...stacks.values()].flatMap((s) => s.members));
  if (cycle)
    throw fail(
      `depends_on has a cycle: ${cycle.join(' → ')} (each depends on the next); a member cannot depend on itself, even through others: ` +
        `remove one of these depends_on`,
    );
  return stacks;
}

/**
 * One cycle of the union of every stack's depends_on edges, as a closed walk (`[a, b, a]` = a
 * depends on b, b on a), or null. Depth-first in ref order, so the same options give the same message.
 */
export function findDependencyCycle(members: readonly StackMember[]): string[] | null {
  const deps = new Map<string, Set<string>>();
  for (const m of members) {
    const set = deps.get(m.ref) ?? new Set<string>();
    m.depends_on.forEach((d) => set.add(d));
    deps.set(m.ref, set);
  }
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (ref: string): string[] | null => {
    if (state.get(ref) === 'done') return null;
    if (state.get(ref) === 'open') return [...path.slice(path.indexOf(ref)), ref];
    state.set(ref, 'open');
    path.push(ref);
    for (const d of [...(deps.get(ref) ?? [])].sort()) {
      const found = visit(d);
      if (found) return found;
    }
    path.pop();
    state.set(ref, 'done');
    return null;
  };
  for (const ref of [...deps.keys()].sort()) {
    const found = visit(ref);
    if (found) return found;
  }
  return null;
}
