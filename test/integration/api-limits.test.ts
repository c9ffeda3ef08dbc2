import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { openBulwark } from '../../src/processes/app.js';
import type { BulwarkApp } from '../../src/processes/app.js';
import { buildApi } from '../../src/api/server.js';
import type { ApiLimits } from '../../src/api/limits.js';
import { tokenVerifier } from '../../src/api/listen.js';
import type { ProtectionService } from '../../src/protection-manager/service.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { destroyRawConnections, openRaw, parseResponse, within } from '../helpers/raw-http.js';
import { sleep } from '../helpers/wait.js';

/**
 * Slow and numerous clients against a listening API: each limit closes the connection that breaks it
 * and leaves the rest served. Limits are short here so the tests are quick; bounds are generous.
 */
describe('REST API timeouts and connection cap', function () {
  this.timeout(60_000);
  const home = tempDir('api-limits');
  let app: BulwarkApp;
  let token = '';
  const servers: FastifyInstance[] = [];

  /** The service, with provider listing slowed down by `ms`: a response that takes longer than the request timeout. */
  const slowProviders = (service: ProtectionService, ms: number): ProtectionService =>
    new Proxy(service, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (key === 'listProviders')
          return async (...args: Parameters<ProtectionService['listProviders']>) => {
            await sleep(ms);
            return target.listProviders(...args);
          };
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });

  const listen = async (limits: Partial<ApiLimits>, service: ProtectionService = app.manager): Promise<number> => {
    const api = await buildApi({
      service,
      scheduling: app.scheduling,
      quotas: app.quotas,
      services: app.services,
      tokens: tokenVerifier(app.store.tokens),
      events: app.events,
      logger: app.logger,
      bodyLimit: 16 * 1024,
      limits,
      version: 'test',
    });
    servers.push(api);
    await api.listen({ host: '127.0.0.1', port: 0 });
    return (api.server.address() as { port: number }).port;
  };

  before(async () => {
    allowAll(home.path, ['p']);
    app = await openBulwark(home.path);
    token = (await app.store.tokens.createToken({ project_id: 'p', role: 'member' })).token;
  });
  after(async () => {
    destroyRawConnections();
    for (const s of servers) await s.close();
    await app?.close();
    home.cleanup();
  });

  describe('short request timeout (500 ms)', () => {
    let port = 0;
    before(async () => {
      port = await listen({ request_timeout_ms: 500, headers_timeout_ms: 300 }, slowProviders(app.manager, 1500));
    });

    it('closes a connection whose body drips one byte at a time, with a 408', async () => {
      const c = await openRaw(port);
      c.socket.write(
        `POST /v1/p/plans HTTP/1.1\r\nHost: t\r\nX-Auth-Token: ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
      );
      c.drip(50);
      const r = parseResponse(await within('the dripping connection closed', c.closed, 15_000));
      expect(r.status).to.equal(408);
      expect(r.body.code).to.equal('BWK_ERR_REQUEST_TIMEOUT');
    });

    it('closes a connection whose headers never finish, with a 408', async () => {
      const c = await openRaw(port);
      c.socket.write(`GET /v1/p/plans HTTP/1.1\r\nHost: t\r\nX-Slow: `);
      c.drip(50);
      const r = parseResponse(await within('the slow-headers connection closed', c.closed, 15_000));
      expect(r.status).to.equal(408);
      expect(r.body.code).to.equal('BWK_ERR_REQUEST_TIMEOUT');
    });

    it('does not cut a response that takes longer than the request timeout: it bounds receiving, not answering', async () => {
      const c = await openRaw(port);
      c.socket.write(`GET /v1/p/providers HTTP/1.1\r\nHost: t\r\nX-Auth-Token: ${token}\r\nConnection: close\r\n\r\n`);
      const r = parseResponse(await within('the slow response', c.closed, 15_000));
      expect(r.status).to.equal(200);
      expect(r.body.providers).to.be.an('array').with.length.greaterThan(0);
    });
  });

  describe('connection cap of 3, default (30 s) request timeout', () => {
    let port = 0;
    before(async () => {
      port = await listen({ max_connections: 3 });
    });

    it('closes the connection right after a 401 while its body is still dripping', async () => {
      const c = await openRaw(port);
      c.socket.write(`POST /v1/p/plans HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
      c.drip(50);
      // Well within the 30 s request timeout: the 401 itself ends the connection.
      const r = parseResponse(await within('the unauthenticated connection closed', c.closed, 10_000));
      expect(r.status).to.equal(401);
      expect(r.headers).to.contain('connection: close');
      expect(r.body.code).to.equal('BWK_ERR_UNAUTHORIZED');
    });

    it('refuses a connection past the cap, and serves the others', async () => {
      const held = await Promise.all([openRaw(port), openRaw(port), openRaw(port)]);
      // Each held connection has been accepted once it has answered a request (kept alive).
      for (const c of held) {
        c.socket.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
        await within('a held connection answered', waitForResponse(c), 10_000);
      }
      const extra = await openRaw(port);
      extra.socket.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
      expect(await within('the connection past the cap closed', extra.closed, 10_000)).to.equal('');

      held[0]!.socket.write('GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      expect(parseResponse(stripFirst(await within('a held connection closed', held[0]!.closed, 10_000))).status).to.equal(200);
      // A slot is free again: a new connection is served.
      const next = await openRaw(port);
      next.socket.write('GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      expect(parseResponse(await within('a new connection answered', next.closed, 10_000)).status).to.equal(200);
      for (const c of held) c.socket.destroy();
    });
  });
});

/** Resolves once a whole response (headers and its Content-Length of body) has arrived. */
async function waitForResponse(c: { received(): string; closed: Promise<string> }): Promise<void> {
  for (;;) {
    const raw = c.received();
    const end = raw.indexOf('\r\n\r\n');
    const length = Number(/content-length: (\d+)/i.exec(raw)?.[1] ?? -1);
    if (end >= 0 && length >= 0 && raw.length >= end + 4 + length) return;
    await sleep(20);
  }
}

/** The raw text after the first response (keep-alive connections carry several). */
function stripFirst(raw: string): string {
  const end = raw.indexOf('\r\n\r\n');
  const length = Number(/content-length: (\d+)/i.exec(raw)?.[1] ?? 0);
  return raw.slice(end + 4 + length);
}
