import { describePluginConformance } from '../../../src/plugin-kit/index.js';
import { appStackPlugin } from '../../../src/plugins/app-stack/index.js';
import { fsDirectoryPlugin } from '../../../src/plugins/fs/index.js';
import { noopPlugin } from '../../../src/plugins/noop/index.js';
import { fsDirectoryFixtures } from './tree-fixture.js';

/** The built-in plugins that need no server pass the suite plugin authors run (docs/plugin-authoring.md). */
describePluginConformance(fsDirectoryPlugin, fsDirectoryFixtures());

describePluginConformance(noopPlugin, {
  options: { resources: ['alpha', 'beta'] },
  source: async () => ({ type: 'noop', id: 'alpha', name: 'alpha' }),
  destination: async () => ({ parameters: {}, written: async () => false, expectEqualToSource: async () => undefined }),
  restoreWrites: false,
  missingId: 'gamma',
});

describePluginConformance(appStackPlugin, {
  options: {
    stacks: {
      shop: {
        resources: [
          { type: 'noop', id: 'db' },
          { type: 'noop', id: 'files', depends_on: ['noop#db'] },
        ],
      },
    },
  },
  source: async () => ({ type: 'app.stack', id: 'shop', name: 'shop' }),
  destination: async () => ({ parameters: {}, written: async () => false, expectEqualToSource: async () => undefined }),
  storesData: false,
  missingId: 'no-such-stack',
});
