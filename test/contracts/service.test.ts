import { expect } from 'chai';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpProtectionService } from '../../src/api/client.js';
import { listenApi } from '../../src/api/listen.js';
import { silentLogger } from '../../src/common/logging.js';
import { openBulwark } from '../../src/processes/app.js';
import type { BulwarkApp } from '../../src/processes/app.js';
import type { ProtectionService } from '../../src/protection-manager/service.js';
import { AmqpTransport } from '../../src/rpc/amqp.js';
import { rpcProtectionService, serveProtection } from '../../src/rpc/protection-rpc.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { amqpUrl, requireService } from '../helpers/services.js';
import { COPY_PROVIDER, describeServiceContract } from './service.contract.js';
import type { ServiceFixture } from './service.contract.js';

const PROJECT_A = 'svc-proj-a';
const PROJECT_B = 'svc-proj-b';
const member = (projectId: string) => ({ projectId, admin: false });
const admin = (projectId: string) => ({ projectId, admin: true });

/**
 * A temp home with Bulwark open on it (local engine, SQLite catalog, the built-in providers, and one
 * more fs.directory provider with a bank of its own, which checkpoints are copied to).
 */
async function openHome(): Promise<{ app: BulwarkApp; close(): Promise<void> }> {
  const home = tempDir('svc-home');
  try {
    allowAll(home.path, [PROJECT_A, PROJECT_B]);
    mkdirSync(join(home.path, 'providers'), { recursive: true });
    writeFileSync(
      join(home.path, 'providers', 'copies.yaml'),
      `id: ${COPY_PROVIDER}\nname: copies\nplugins:\n  - name: fs.directory\nbank:\n  type: fs\n  options: {path: bank-copies}\n`,
    );
    const app = await openBulwark(home.path);
    return {
      app,
      async close() {
        try {
          await app.close();
        } finally {
          home.cleanup();
        }
      },
    };
  } catch (err) {
    home.cleanup();
    throw err;
  }
}

/**
 * The service as the serving side receives it: records the methods called on it, so a harness can
 * show that a client's call arrived through its transport (and arrived once).
 */
function recorded(service: ProtectionService): { service: ProtectionService; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(service, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(prop);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { service: proxy, calls };
}

/** Makes one listProviders call through `service` and checks the serving side saw exactly that call. */
async function expectOneServedCall(service: ProtectionService, ctx: { projectId: string; admin: boolean }, calls: string[]): Promise<void> {
  const before = calls.length;
  const providers = await service.listProviders(ctx);
  expect(providers.length).to.be.greaterThan(0);
  expect(calls.slice(before)).to.deep.equal(['listProviders']);
}

describeServiceContract('in-process ProtectionManager', {
  async open(): Promise<ServiceFixture> {
    const home = await openHome();
    const service = home.app.manager;
    return {
      a: { service, ctx: member(PROJECT_A) },
      b: { service, ctx: member(PROJECT_B) },
      admin: { service, ctx: admin(PROJECT_A) },
      home: home.app.home,
      async checkTransport() {
        expect(service).to.be.an('object').that.has.property('createPlan').that.is.a('function');
        expect(service.constructor.name).to.equal('ProtectionManager');
      },
      close: () => home.close(),
    };
  },
});

describeServiceContract('RPC over RabbitMQ', {
  requires: (ctx) => {
    requireService(ctx, 'RabbitMQ', amqpUrl());
  },
  async open(): Promise<ServiceFixture> {
    const home = await openHome();
    const queue = `test-service-contract-${randomUUID()}`;
    // Two connections, as the API process and the protection-service process would have.
    let server: AmqpTransport | undefined;
    let client: AmqpTransport | undefined;
    try {
      server = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-service-server' });
      client = await AmqpTransport.connect(amqpUrl(), silentLogger, { connectionName: 'bulwark-test-service-client' });
      const served = recorded(home.app.manager);
      const serving = await serveProtection(server, queue, served.service, home.app.logger);
      const service = rpcProtectionService(client, queue, 60_000);
      const serverTransport = server;
      const clientTransport = client;
      return {
        a: { service, ctx: member(PROJECT_A) },
        b: { service, ctx: member(PROJECT_B) },
        admin: { service, ctx: admin(PROJECT_A) },
        home: home.app.home,
        async checkTransport() {
          expect(service).to.not.equal(home.app.manager);
          expect(clientTransport).to.be.instanceOf(AmqpTransport);
          expect(clientTransport).to.not.equal(serverTransport);
          // The queue is this run's own, and serveProtection is the only one consuming it.
          const conn = await amqp.connect(amqpUrl());
          try {
            const ch = await conn.createChannel();
            const q = await ch.checkQueue(queue);
            expect(q.consumerCount, `consumers of ${queue}`).to.equal(1);
          } finally {
            await conn.close();
          }
          await expectOneServedCall(service, member(PROJECT_A), served.calls);
        },
        async close() {
          try {
            await serving.close();
            await clientTransport.close();
            await serverTransport.close();
            // Request queues are durable: remove this run's from the shared broker.
            const conn = await amqp.connect(amqpUrl());
            try {
              const ch = await conn.createChannel();
              await ch.deleteQueue(queue);
            } finally {
              await conn.close();
            }
          } finally {
            await home.close();
          }
        },
      };
    } catch (err) {
      await client?.close();
      await server?.close();
      await home.close();
      throw err;
    }
  },
});

describeServiceContract('HTTP (REST API)', {
  async open(): Promise<ServiceFixture> {
    const home = await openHome();
    const { app } = home;
    try {
      const served = recorded(app.manager);
      const api = await listenApi({
        config: { ...app.config, api: { ...app.config.api, port: 0 } },
        home: app.home,
        service: served.service,
        scheduling: app.scheduling,
        quotas: app.quotas,
        services: app.services,
        tokens: app.store.tokens,
        events: app.events,
        logger: app.logger,
        version: 'test',
      });
      const tokenA = (await app.store.tokens.createToken({ project_id: PROJECT_A, role: 'member' })).token;
      const tokenB = (await app.store.tokens.createToken({ project_id: PROJECT_B, role: 'member' })).token;
      const adminToken = (await app.store.tokens.createToken({ project_id: PROJECT_A, role: 'admin' })).token;
      const clientA = new HttpProtectionService(api.url, tokenA);
      const clientB = new HttpProtectionService(api.url, tokenB);
      return {
        a: { service: clientA, ctx: member(PROJECT_A) },
        b: { service: clientB, ctx: member(PROJECT_B) },
        admin: { service: new HttpProtectionService(api.url, adminToken), ctx: admin(PROJECT_A) },
        home: app.home,
        async checkTransport() {
          const url = new URL(api.url);
          expect(url.protocol).to.equal('http:');
          expect(Number(url.port)).to.be.greaterThan(0);
          // Each client is its token's project, as the server tells it.
          expect(await clientA.identity()).to.deep.equal({ project_id: PROJECT_A, role: 'member' });
          expect(await clientB.identity()).to.deep.equal({ project_id: PROJECT_B, role: 'member' });
          await expectOneServedCall(clientA, member(PROJECT_A), served.calls);
          const res = await fetch(new URL('/healthz', api.url));
          expect(await res.json()).to.deep.equal({ status: 'ok' });
        },
        async close() {
          try {
            await api.app.close();
          } finally {
            await home.close();
          }
        },
      };
    } catch (err) {
      await home.close();
      throw err;
    }
  },
});
