import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { namedPlaces } from '../../src/processes/embedded.js';
import { openApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { waitFor } from '../helpers/wait.js';
import { destroyRawConnections, openRaw, parseResponse, within } from '../helpers/raw-http.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

/**
 * Every answer is `{code, message}` with a registered code — Fastify's and Node's own refusals too —
 * and no answer names a place on the server the caller did not send.
 */
describe('REST API error answers', function () {
  this.timeout(60_000);
  const home = tempDir('api-errors');
  const outside = tempDir('api-errors-outside');
  let app: BulwarkApp;
  let api: FastifyInstance;
  let port = 0;
  let token = '';

  /** One raw request; the connection is closed by the server or after the answer (Connection: close). */
  const raw = async (request: string) => {
    const c = await openRaw(port);
    c.socket.write(request);
    return parseResponse(await within('the answer', c.closed, 15_000));
  };
  const get = (path: string, extra = '') =>
    raw(`GET ${path} HTTP/1.1\r\nHost: t\r\nX-Auth-Token: ${token}\r\nConnection: close\r\n${extra}\r\n`);
  const post = (path: string, body: string, type = 'application/json') =>
    raw(
      `POST ${path} HTTP/1.1\r\nHost: t\r\nX-Auth-Token: ${token}\r\nConnection: close\r\nContent-Type: ${type}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );

  before(async () => {
    allowAll(home.path, ['p']);
    ({ app, api } = await openApiApp(home.path, (a) => ({
      places: { named: namedPlaces(a), visible: a.config.restore.allowed_target_paths },
    })));
    await api.listen({ host: '127.0.0.1', port: 0 });
    port = (api.server.address() as { port: number }).port;
    token = (await app.store.tokens.createToken({ project_id: 'p', role: 'member' })).token;
  });
  after(async () => {
    destroyRawConnections();
    await api?.close();
    await app?.close();
    home.cleanup();
    outside.cleanup();
  });

  const cases: Array<[string, () => ReturnType<typeof raw>, number, string]> = [
    ['malformed JSON', () => post('/v1/p/plans', '{"plan": '), 400, 'BWK_ERR_INVALID_INPUT'],
    ['an unknown route', () => get('/v1/p/no-such-thing'), 404, 'BWK_ERR_NOT_FOUND'],
    ['a route outside /v1', () => get('/nowhere'), 404, 'BWK_ERR_NOT_FOUND'],
    ['a body over the limit (by Content-Length)', () => post('/v1/p/plans', 'x'.repeat(20_000)), 400, 'BWK_ERR_BODY_TOO_LARGE'],
    ['an unsupported media type', () => post('/v1/p/plans', '<plan/>', 'application/xml'), 400, 'BWK_ERR_INVALID_INPUT'],
    ['headers over 16 KiB', () => get('/v1/p/plans', `X-Big: ${'a'.repeat(20_000)}\r\n`), 431, 'BWK_ERR_HEADERS_TOO_LARGE'],
    ['a URL with a bad percent-encoding', () => get('/v1/p/plans/%zz'), 400, 'BWK_ERR_INVALID_INPUT'],
    ['a request that is not HTTP', () => raw('HELLO THERE\r\n\r\n'), 400, 'BWK_ERR_INVALID_INPUT'],
  ];
  for (const [what, send, status, code] of cases) {
    it(`${what} → ${status} ${code} in the {code, message} shape`, async () => {
      const r = await send();
      expect(r.status, JSON.stringify(r.body)).to.equal(status);
      expect(r.body.code).to.equal(code);
      expect(r.body.message).to.be.a('string').and.not.equal('');
      expect(r.body.error).to.deep.equal({ code: r.body.code, message: r.body.message });
    });
  }

  it('answers an internal failure (ENAMETOOLONG) with a generic coded 500 naming the request id, not the path', async () => {
    const path = `/${'a'.repeat(300)}/x`;
    const r = await get(`/v1/p/protectables/fs.directory/instances?parameters=${encodeURIComponent(JSON.stringify({ path }))}`);
    expect(r.status).to.equal(500);
    expect(r.body.code).to.equal('BWK_ERR_INTERNAL');
    expect(r.body.message).to.match(/request id [0-9a-f-]{36}/);
    expect(r.body.message).to.not.match(/ENAMETOOLONG|aaaa/);
  });

  it('answers ELOOP with the same generic 500, and logs the real error under the request id', async () => {
    const loop = join(outside.path, 'loop');
    symlinkSync('loop', loop);
    const r = await get(`/v1/p/protectables/fs.directory/instances/${loop}/x`);
    expect(r.status).to.equal(500);
    expect(r.body.code).to.equal('BWK_ERR_INTERNAL');
    expect(JSON.stringify(r.body)).to.not.contain(outside.path).and.not.contain('ELOOP');
    const id = /request id ([0-9a-f-]{36})/.exec(String(r.body.message))![1]!;
    const logged = await waitFor('the failure in the log', () =>
      readFileSync(join(home.path, 'logs', 'bulwark.log'), 'utf8')
        .split('\n')
        .find((line) => line.includes(id)),
    );
    expect(logged).to.contain('ELOOP').and.contain(loop);
  });

  describe('a restore the policy denies', () => {
    let checkpointId = '';
    before(async () => {
      const data = join(outside.path, 'data');
      mkdirSync(data);
      writeFileSync(join(data, 'a.txt'), 'a');
      const ctx = { projectId: 'p', admin: false };
      const plan = await app.manager.createPlan(ctx, { name: 'denied', provider_id: FS, resources: [{ id: data, type: 'fs.directory' }] });
      checkpointId = (await (await app.manager.protect(ctx, plan.id)).done).record.id;
    });
    const restoreTo = (target: string) =>
      post(
        '/v1/p/restores',
        JSON.stringify({ restore: { checkpoint_id: checkpointId, parameters: { 'fs.directory': { target_path: target } } } }),
      );

    it('says the target is inside the Bulwark home without naming where the home is', async () => {
      const target = join(home.path, 'restored');
      const r = await restoreTo(target);
      expect(r.status, JSON.stringify(r.body)).to.equal(400);
      expect(r.body.code).to.equal('BWK_ERR_RESTORE_TARGET_DENIED');
      expect(r.body.message).to.contain("inside Bulwark's own state");
      // The caller's own target is echoed as sent; nothing else names the home.
      expect(String(r.body.message).split(target).join('')).to.not.contain(home.path);
    });

    it('does not name the home through a symlink the target resolves through', async () => {
      const link = join(outside.path, 'into-home');
      symlinkSync(home.path, link);
      const r = await restoreTo(join(link, 'restored'));
      expect(r.body.code).to.equal('BWK_ERR_RESTORE_TARGET_DENIED');
      expect(JSON.stringify(r.body)).to.not.contain(home.path);
      expect(r.body.message).to.contain("inside Bulwark's own state");
    });
  });
});
