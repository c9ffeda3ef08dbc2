import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { describePluginConformance } from '../../../src/plugin-kit/index.js';
import { redisPlugin } from '../../../src/plugins/redis/index.js';
import { comparable, seedAllTypes, snapshot } from '../../helpers/redis-data.js';
import { redisServerBinary, startPrivateRedis } from '../../helpers/private-redis.js';
import type { PrivateRedis } from '../../helpers/private-redis.js';
import { requirePrerequisite } from '../../helpers/services.js';

/**
 * The redis plugin passes the suite plugin authors run, on a Redis server of the test's own that
 * requires a password (the configured secret): the source is its db 0, each restore gets a db of its own.
 */
describe('built-in redis plugin', function () {
  const password = `bwk-secret-${randomBytes(12).toString('hex')}`;
  const passwordEnv = 'BWK_CONFORMANCE_REDIS_PASSWORD';
  let server: PrivateRedis | undefined;
  let binary = '';
  const clients: Redis[] = [];
  const client = (db: number): Redis => {
    const c = new Redis({ port: server!.port, host: '127.0.0.1', password, db, lazyConnect: false });
    clients.push(c);
    return c;
  };
  let original: Record<string, string> = {};
  let nextDb = 1;

  before(function () {
    binary = requirePrerequisite(this, 'redis-server', redisServerBinary());
  });

  describePluginConformance(redisPlugin, {
    async source() {
      server = await startPrivateRedis(binary);
      const bootstrap = new Redis({ port: server.port, host: '127.0.0.1' });
      await bootstrap.config('SET', 'requirepass', password);
      bootstrap.disconnect();
      process.env[passwordEnv] = password;
      const src = client(0);
      await seedAllTypes(src);
      original = comparable(await snapshot(src));
      return { type: 'redis.instance', id: 'main', name: 'main' };
    },
    get options() {
      return { instances: { main: { host: '127.0.0.1', port: server?.port ?? 6379, password_env: passwordEnv } } };
    },
    missingId: 'no-such-instance',
    secrets: [password],
    async destination(label) {
      const db = nextDb++;
      if (db > 15) throw new Error(`the fixture ran out of Redis databases at "${label}"`);
      const target = client(db);
      return {
        parameters: { target_instance: 'main', target_db: db },
        written: async () => (await target.dbsize()) > 0,
        async expectEqualToSource() {
          const got = comparable(await snapshot(target));
          if (!isDeepStrictEqual(got, original)) {
            const keys = Object.keys({ ...got, ...original }).filter((k) => got[k] !== original[k]);
            throw new Error(`db ${db} differs from the source in ${keys.length} keys (hex): ${keys.slice(0, 5).join(', ')}`);
          }
        },
      };
    },
    async cleanup() {
      for (const c of clients.splice(0)) c.disconnect();
      await server?.stop();
      delete process.env[passwordEnv];
    },
  });
});
