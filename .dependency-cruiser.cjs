/**
 * The import rules of src/ and workflows/, checked by `npm run lint` (dependency-cruiser):
 * no cycles, no import from a lower layer to a higher one, and adapters reached only through their
 * factory. Tests are not cruised: they may use any module directly.
 */

/** Lowest first; a folder may import its own layer and the ones below, never one above. */
const LAYERS = [
  ['core'], // pure: errors, resource, hooks, graphs, flow progress (bundled into Temporal workflows)
  ['common'], // config, logging, ids, schemas
  ['plugins', 'plugin-api'], // the plugin API (plugin-api/v1: what authors import) and the built-in plugins that implement it
  ['bank', 'store'], // the bank (objects, chunk store) and the catalog
  ['checkpoints', 'plugin-kit'], // plugin-kit: the conformance suite, run against a plugin over a real bank
  ['providers'],
  ['protection-manager', 'workflows'], // the service, its engines, the workflow code
  ['rpc', 'api', 'operation-engine'], // how the service is reached, and what calls it on a schedule
  ['processes'], // one wiring module per process
  ['cli'],
];

const folder = (name) => (name === 'workflows' ? '^workflows/' : `^src/${name}/`);
const either = (names) => `(${names.map(folder).join('|')})`;

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.join('+')}`,
  comment: `${layer.join(', ')} must not import a higher layer (${LAYERS.slice(i + 1)
    .flat()
    .join(', ')})`,
  severity: 'error',
  from: { path: either(layer) },
  to: { path: either(LAYERS.slice(i + 1).flat()) },
}));

/** Adapter modules and the only modules (besides their own siblings) that may import them. */
const ADAPTERS = [
  { name: 'bank', adapters: '^src/bank/adapters/', factory: '^src/bank/(factory\\.ts|adapters/)' },
  { name: 'rpc', adapters: '^src/rpc/(amqp|in-process)', factory: '^src/rpc/(factory\\.ts|amqp)' },
  {
    name: 'store',
    adapters: '^src/store/(sqlite|postgres|kysely-store|kysely-scheduling)\\.ts$',
    factory: '^src/store/(factory|sqlite|postgres|kysely-store)\\.ts$',
  },
  {
    name: 'engine',
    adapters: '^src/protection-manager/engines/(local|temporal)\\.ts$',
    factory: '^src/protection-manager/engines/factory\\.ts$',
  },
];

const adapterRules = ADAPTERS.map((a) => ({
  name: `adapters-${a.name}`,
  comment: `${a.name} adapters are built by their factory (ports and adapters: callers depend on the port)`,
  severity: 'error',
  from: { pathNot: a.factory },
  to: { path: a.adapters, dependencyTypesNot: ['type-only'] },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'modules that import each other cannot be understood or changed one at a time',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-only-core',
      comment: 'src/core is pure (no node built-ins, nothing of the rest): Temporal workflows bundle it',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { pathNot: '^(src/core/|node_modules/@dagrejs/)' },
    },
    ...layerRules,
    ...adapterRules,
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a cycle through types still ties two modules together.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
