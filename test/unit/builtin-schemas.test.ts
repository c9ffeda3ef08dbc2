/**
 * The schemas of the built-in plugins compile: provider loading skips that check for them (it cost
 * every CLI command ~150 ms), so this suite is where a broken built-in schema is caught.
 */
import { expect } from 'chai';
import { Ajv } from 'ajv';
import { AJV_OPTIONS } from '../../src/common/schema.js';
import { silentLogger } from '../../src/common/logging.js';
import { BUILTIN_PLUGINS } from '../../src/plugins/builtin.js';

/** Options each plugin needs to start (as in config/providers/), none for the others. */
const OPTIONS: Record<string, Record<string, unknown>> = {
  redis: { instances: { local: { host: '127.0.0.1', port: 6379, db: 0 } } },
  postgres: { servers: { local: { host: '127.0.0.1', port: 5432, user: 'postgres' } } },
  mariadb: { servers: { local: { host: '127.0.0.1', port: 3306, user: 'root' } } },
  'app.stack': { stacks: { shop: { resources: [{ type: 'fs.directory', id: '/srv/shop' }] } } },
};

describe('built-in plugins: every schema compiles', () => {
  for (const [name, def] of BUILTIN_PLUGINS) {
    it(name, async () => {
      const options = OPTIONS[name] ?? {};
      const instance = await def.create({ home: '/nonexistent-bulwark-home', providerId: 'test', options, logger: silentLogger });
      const types = instance.protection?.supportedResourceTypes() ?? [];
      expect(types.length, `${name} protects no resource type`).to.be.greaterThan(0);
      let compiled = 0;
      for (const type of types) {
        for (const [kind, schema] of Object.entries(instance.protection!.schemas(type))) {
          if (schema === undefined) continue;
          // A fresh Ajv each time: a schema that only compiles after another was added would be caught.
          expect(() => new Ajv(AJV_OPTIONS).compile(schema), `${name} ${type} ${kind}`).to.not.throw();
          compiled++;
        }
      }
      expect(compiled, `${name} has no schema at all`).to.be.greaterThan(0);
    });
  }
});
