/**
 * `bulwark bank check` and `bank gc` with --url against a server's REST API: the same report the
 * service returns embedded, BWK_ERR_BANK_CHECK_FAILED (exit 1, the report still printed) when a check
 * finds a corrupt chunk, and BWK_ERR_FORBIDDEN for a member's token.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckReport } from '../../src/bank/chunks/check.js';
import type { GcReport } from '../../src/bank/chunks/gc.js';
import { HttpProtectionService } from '../../src/api/client.js';
import type { ProtectionService } from '../../src/protection-manager/service.js';
import { openApiApp, type ApiApp } from '../helpers/api-app.js';
import { flipChunkByte, homeBank, resourceSectionPrefix } from '../helpers/bank-files.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { sleep } from '../helpers/wait.js';

const FS = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';

describe('CLI: bank check and gc with --url against the REST API', function () {
  this.timeout(120_000);
  const home = tempDir('cli-bank-server');
  const client = tempDir('cli-bank-client');
  const data = tempDir('cli-bank-data');
  const project = 'bank-url';
  const admin = { projectId: project, admin: true };
  let server: ApiApp;
  let url = '';
  let adminToken = '';
  let memberToken = '';
  let checkpointId = '';
  const cli = (token: string, args: string[]): Promise<CliResult> =>
    runCli(client.path, args, { env: { BULWARK_URL: url, BULWARK_TOKEN: token } });

  before(async () => {
    allowAll(home.path, [project]);
    writeFileSync(join(data.path, 'a.txt'), 'alpha\n');
    mkdirSync(join(data.path, 'sub'));
    writeFileSync(join(data.path, 'sub', 'b.bin'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256)));
    server = await openApiApp(home.path);
    await server.api.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(server.api.server.address() as { port: number }).port}`;
    adminToken = await server.token(project, 'admin');
    memberToken = await server.token(project, 'member');
    const ctx = { projectId: project, admin: false };
    const plan = await server.app.manager.createPlan(ctx, {
      name: 'bank',
      provider_id: FS,
      resources: [{ type: 'fs.directory', id: data.path }],
    });
    const handle = await server.app.manager.protect(ctx, plan.id);
    const { record } = await handle.done;
    expect(record.status).to.equal('available');
    checkpointId = handle.id;
  });
  after(async () => {
    await server?.close();
    for (const t of [home, client, data]) t.cleanup();
  });

  it('bank check (and --read-data) prints the report the service returns, exit 0', async () => {
    const r = await cli(adminToken, ['bank', 'check']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json<CheckReport>()).to.deep.equal(await server.app.manager.checkBank(admin, {}));
    const read = await cli(adminToken, ['bank', 'check', '--provider', 'fs-directory', '--read-data']);
    expect(read.code, read.stderr).to.equal(0);
    const report = read.json<CheckReport>();
    expect(report).to.deep.equal(await server.app.manager.checkBank(admin, { read_data: true }));
    expect(report).to.include({ ok: true, corrupt_chunks: 0 });
    expect(report.packs_read).to.equal(report.packs).and.to.be.greaterThan(0);
  });

  it('a corrupt chunk: the report (ok: false) on stdout, BWK_ERR_BANK_CHECK_FAILED naming the provider, exit 1', async () => {
    const prefix = resourceSectionPrefix(home.path, checkpointId);
    await flipChunkByte(homeBank(home.path), prefix, 'data');
    try {
      const r = await cli(adminToken, ['bank', 'check', '--read-data', '--percent', '100']);
      expect(r.code, r.stderr).to.equal(1);
      const report = r.json<CheckReport>();
      expect(report.ok).to.equal(false);
      expect(report.corrupt_chunks).to.equal(1);
      const err = r.error();
      expect(err.code).to.equal('BWK_ERR_BANK_CHECK_FAILED');
      expect(err.message).to.contain('of provider fs-directory').and.to.contain('1 corrupt chunk(s)');
    } finally {
      await flipChunkByte(homeBank(home.path), prefix, 'data');
    }
    expect((await cli(adminToken, ['bank', 'check', '--read-data'])).code).to.equal(0);
  });

  it('bank gc prints the report of the collection, exit 0', async () => {
    const r = await cli(adminToken, ['bank', 'gc', '--clock-skew', '0']);
    expect(r.code, r.stderr).to.equal(0);
    const report = r.json<GcReport>();
    expect(report.referenced_chunks).to.be.greaterThan(0);
    expect(report.packs_before).to.be.greaterThan(0);
  });

  it("a member's token: BWK_ERR_FORBIDDEN, nothing on stdout, exit 1; bad options are refused", async () => {
    for (const args of [
      ['bank', 'check'],
      ['bank', 'check', '--read-data'],
      ['bank', 'gc'],
    ]) {
      const r = await cli(memberToken, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.error().code).to.equal('BWK_ERR_FORBIDDEN');
    }
    const percent = await cli(adminToken, ['bank', 'check', '--percent', '10']);
    expect(percent.code).to.equal(1);
    expect(percent.error()).to.include({ code: 'BWK_ERR_INVALID_INPUT' });
    expect(percent.error().message).to.contain('--percent needs --read-data');
  });

  it('answers a check that outlasts api.idle_timeout_ms: the socket waits for it', async () => {
    const slowHome = tempDir('cli-bank-slow');
    allowAll(slowHome.path, [project]);
    const slow = await openApiApp(slowHome.path, (app) => ({
      limits: { idle_timeout_ms: 300 },
      service: new Proxy(app.manager, {
        get(target, prop, receiver) {
          if (prop === 'checkBank')
            return async (...args: Parameters<ProtectionService['checkBank']>) => {
              await sleep(1_500);
              return target.checkBank(...args);
            };
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
    }));
    try {
      await slow.api.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(slow.api.server.address() as { port: number }).port}`;
      const service = new HttpProtectionService(base, await slow.token(project, 'admin'));
      expect((await service.checkBank(admin, {})).ok).to.equal(true);
      // The socket it came on (kept alive) is idle-limited again: a plain request on it still works.
      expect((await service.listProviders(admin)).length).to.be.greaterThan(0);
    } finally {
      await slow.close();
      slowHome.cleanup();
    }
  });
});
