/**
 * The built-in `app.stack` plugin: a logical application that groups resources of other plugins'
 * families (a database, the directory of files that reference it, a cache...) with explicit
 * dependencies between them. Options: see options.ts. It uses only the public plugin API.
 *
 * Resource graph: the stack is the parent of its roots, and a member M with `depends_on: [D]` is a
 * dependent (child) of D (see protectable.ts). The stack itself stores no data: it has no hooks, so it
 * gets no tasks, but it is a protected type so plans can name it, and its members travel with it.
 *
 * What the ordering guarantees, with Karbor's flow semantics (ARCHITECTURE.md "The flow graph"):
 *   - D.prepare_begin finishes before any hook of M starts (D.prepare_begin → M.prepare_begin → M...);
 *   - every hook of M finishes before D.complete starts (... M.complete → D.complete);
 *   - D.main and M.main are NOT ordered: main hooks of different resources run in parallel.
 * So "restore the database before the files that reference it" holds only for work a plugin does in
 * prepareBegin (or, for work that must come after its dependents, in complete). A plugin that does
 * all its restore work in main (postgres.database, fs.directory today) is restored in parallel with
 * its dependents; the stack then orders their prepare/complete hooks and nothing else.
 * test/integration/app-stack.test.ts shows both: a parent whose prepare_begin has ended before any
 * dependent's hook starts, and mains that the flow graph leaves unordered.
 */
import { PLUGIN_API_VERSION } from '../api.js';
import type { PluginDefinition } from '../api.js';
import { NO_PARAMETERS, ProtectionTable } from '../protection-table.js';
import { APP_STACK, parseStacks } from './options.js';
import { AppStackProtectable } from './protectable.js';
import { nameScope } from '../scope-matchers.js';

/** A stack has no data of its own: every operation on it is empty, its members do the work. */
const STACK_OPERATIONS = {
  schemas: { options: NO_PARAMETERS, restore: NO_PARAMETERS, verify: NO_PARAMETERS },
  // A stack is matched by name; its members are resources of their own and each is checked against its own scope.
  scope: nameScope(() => []),
};

export const appStackPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: APP_STACK,
  description:
    'Groups resources of other plugins into an application with explicit dependencies (depends_on), which order their prepare and ' +
    'complete hooks.',
  create: (env) => ({
    protection: new ProtectionTable(APP_STACK, [[APP_STACK, STACK_OPERATIONS]]),
    protectables: [new AppStackProtectable(parseStacks(env.providerId, env.options))],
  }),
};

export default appStackPlugin;
