/**
 * The plugin kit (`bulwark/plugin-kit`): the conformance suite a plugin author runs against their
 * plugin, and the fixture types it takes. See docs/plugin-authoring.md.
 */
export {
  describePluginConformance,
  runPluginConformance,
  conformanceSuite,
  ConformanceFailure,
  PROMISES,
  CANCEL_GRACE_MS,
} from './conformance.js';
export type { CaseResult, ConformanceCase, ConformanceSuite } from './conformance.js';
export type { ConformanceFixtures, PluginFactory, RestoreDestination } from './fixtures.js';
