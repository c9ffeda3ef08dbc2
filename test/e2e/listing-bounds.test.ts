import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newId } from '../../src/common/ids.js';
import { openCatalogStore } from '../../src/store/factory.js';
import type { PlanRecord, RestoreRecord } from '../../src/store/records.js';
import type { OperationLogRow } from '../../src/store/scheduling-records.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon } from '../helpers/processes.js';

const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';
const PROJECT = 'bounds';
const SMALL_PLANS = 1000;
const BIG_PLANS = 150;
/** Each big plan is as large as the default quotas allow: 4 extra_info objects of ~63 KiB, just under quotas.plan_bytes (256 KiB). */
const BIG_RESOURCES = 4;
const EXTRA_INFO_CHARS = 63 * 1024;
const RESTORES = 250;
/**
 * The documented bound (docs/api.md "Page sizes"): four concurrent GET /plans without a limit,
 * each answering the default page of 100 plans of up to 256 KiB (25 MiB), keep `bulwark serve`'s
 * peak RSS under 768 MiB (measured: ~115 MiB idle, 400-500 MiB after). Before pages were bounded,
 * the same requests returned all 1,150 plans (154 MB each with the issue's 1 MB plans) and the
 * server peaked at 1.8 GB.
 */
const PEAK_RSS_BOUND = 768 * 1024 * 1024;

/** Peak resident memory of a process so far (VmHWM: the kernel's high-water mark, not a sample). */
function peakRss(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

const at = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();

function planRecord(i: number, big: boolean): PlanRecord {
  const resources = big
    ? Array.from({ length: BIG_RESOURCES }, (_, r) => ({
        type: 'noop',
        id: `big-${i}-${r}`,
        name: `big ${i}`,
        extra_info: { notes: String(r).repeat(EXTRA_INFO_CHARS) },
      }))
    : [{ type: 'noop', id: `small-${i}`, name: `small ${i}` }];
  return {
    id: newId(),
    project_id: PROJECT,
    name: `${big ? 'big' : 'small'}-${i}`,
    description: '',
    provider_id: NOOP,
    status: 'suspended',
    resources,
    parameters: {},
    created_at: at(i),
    updated_at: at(i),
  };
}

function restoreRecord(i: number): RestoreRecord {
  return {
    id: newId(),
    project_id: PROJECT,
    provider_id: NOOP,
    checkpoint_id: newId(),
    restore_target: null,
    parameters: {},
    status: 'success',
    resources_status: {},
    resources_reason: {},
    created_at: at(i),
    updated_at: at(i),
    token_id: null,
    client_address: null,
  };
}

function logRow(r: RestoreRecord): OperationLogRow {
  return {
    id: r.id,
    project_id: r.project_id,
    scheduled_operation_id: null,
    trigger_id: null,
    fire_key: null,
    operation_type: 'restore',
    plan_id: null,
    provider_id: r.provider_id,
    checkpoint_id: r.checkpoint_id,
    restore_id: r.id,
    verification_id: null,
    due_at: null,
    status: 'success',
    phase: 'done',
    error_info: null,
    started_at: r.created_at,
    ended_at: r.updated_at,
    extra_info: {},
    token_id: null,
    client_address: null,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/**
 * Issue 14, item 4, end to end against `bulwark serve`: 1,150 plans (the newest 150 as large as the
 * quotas allow), rows written straight into the catalog as a project that predates the quotas
 * would have them; every request goes through REST or the CLI as users send them.
 */
describe('e2e: bounded lists and quotas (issue 14)', function () {
  this.timeout(300_000);
  const home = tempDir('bounds');
  let serve: Daemon;
  let url = '';
  let token = '';
  const planIds: string[] = []; // oldest first
  const restoreIds: string[] = [];

  const get = async (path: string) => {
    const r = await fetch(`${url}/v1/${PROJECT}${path}`, { headers: { 'x-auth-token': token } });
    const text = await r.text();
    return { status: r.status, bytes: Buffer.byteLength(text), body: JSON.parse(text) as Record<string, unknown> };
  };

  before(async () => {
    // The embedded CLI acts as the configured project.
    // The seeded records date from 2025: keep their logs past the default 90 days of log retention.
    writeFileSync(join(home.path, 'bulwark.yaml'), `project: ${PROJECT}\noperation_engine: {log_retention_days: 36500}\n`);
    allowAll(home.path, [PROJECT]);
    const store = await openCatalogStore('sqlite:catalog.db', home.path);
    try {
      for (let i = 0; i < SMALL_PLANS + BIG_PLANS; i++) planIds.push((await store.createPlan(planRecord(i, i >= SMALL_PLANS))).id);
      for (let i = 0; i < RESTORES; i++) {
        const restore = await store.createRestore(restoreRecord(i));
        restoreIds.push(restore.id);
        // Each operation's log row, as the protection service writes it when the operation starts.
        await store.scheduling.insertLog(logRow(restore));
      }
    } finally {
      await store.close();
    }
    ({ token } = await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', PROJECT, '--role', 'member']));
    serve = await startDaemon(home.path, ['serve', '--port', '0'], /"url":"[^"]+"/);
    url = (JSON.parse(/\{"url".*\}/.exec(serve.output())![0]) as { url: string }).url;
  });
  after(async () => {
    await serve?.stop();
    home.cleanup();
  });

  it('GET /plans without a limit answers one page of 100 (newest first), and four at once stay under the RSS bound', async () => {
    const idle = peakRss(serve.pid);
    const pages = await Promise.all([1, 2, 3, 4].map(() => get('/plans')));
    const newest = [...planIds].reverse().slice(0, 100);
    for (const page of pages) {
      expect(page.status).to.equal(200);
      expect((page.body.plans as PlanRecord[]).map((p) => p.id)).to.deep.equal(newest);
      expect(page.bytes).to.be.at.most(100 * 256 * 1024);
    }
    const peak = peakRss(serve.pid);
    if (process.env.BULWARK_SHOW_RSS) console.log(`peak RSS ${idle >> 20} MiB idle, ${peak >> 20} MiB after the requests`);
    expect(peak).to.be.below(PEAK_RSS_BOUND);
  });

  it('pages through all 1,150 plans with limit and marker, a limit above 1000 clamped to 1000', async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await get(`/plans?limit=5000&sort=created_at:asc${marker ? `&marker=${marker}` : ''}`);
      expect(page.status).to.equal(200);
      const plans = page.body.plans as PlanRecord[];
      expect(plans.length).to.be.at.most(1000);
      if (plans.length === 0) break;
      seen.push(...plans.map((p) => p.id));
      marker = plans.at(-1)!.id;
    }
    expect(seen).to.deep.equal(planIds);
  });

  it('a plan over quotas.plans_per_project is a coded 403 and changes nothing', async () => {
    const r = await fetch(`${url}/v1/${PROJECT}/plans`, {
      method: 'POST',
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ plan: { name: 'one-too-many', provider_id: NOOP, resources: [{ id: 'x', type: 'noop' }] } }),
    });
    const body = (await r.json()) as { code: string; message: string };
    expect(r.status, JSON.stringify(body)).to.equal(403);
    expect(body.code).to.equal('BWK_ERR_QUOTA_EXCEEDED');
    expect(body.message).to.match(/already has 1150 plans, its quota plans \(quotas\.plans_per_project in bulwark\.yaml\) is 50/);
    const newest = (await get('/plans?limit=1')).body.plans as PlanRecord[];
    expect(newest.map((p) => p.id)).to.deep.equal([planIds.at(-1)]);
  });

  it('GET /operation_logs without a limit answers one page of 100; marker paging reaches every log once', async () => {
    const first = await get('/operation_logs');
    expect(first.status).to.equal(200);
    const logs = first.body.operation_logs as Array<{ id: string }>;
    expect(logs.map((l) => l.id)).to.deep.equal([...restoreIds].reverse().slice(0, 100));
    const seen = logs.map((l) => l.id);
    for (let marker = seen.at(-1); marker !== undefined;) {
      const page = (await get(`/operation_logs?marker=${marker}`)).body.operation_logs as Array<{ id: string }>;
      seen.push(...page.map((l) => l.id));
      marker = page.at(-1)?.id;
    }
    expect(seen).to.deep.equal([...restoreIds].reverse());
  });

  it('the CLI still lists every plan and restore, fetching page after page; --limit above a page spans pages', async () => {
    const plans = await cliJson<PlanRecord[]>(home.path, ['plan', 'list']);
    expect(plans.map((p) => p.id)).to.deep.equal([...planIds].reverse());
    const restores = await cliJson<RestoreRecord[]>(home.path, ['restore', 'list']);
    expect(restores.map((r) => r.id)).to.deep.equal([...restoreIds].reverse());
    const limited = await cliJson<PlanRecord[]>(home.path, ['plan', 'list', '--limit', '1100']);
    expect(limited.map((p) => p.id)).to.deep.equal([...planIds].reverse().slice(0, 1100));
    // The same through the REST API (the CLI's --url mode): pages of 100, as the server answers them.
    const remote = await runCli(home.path, ['--url', url, 'restore', 'list', '--limit', '230'], { env: { BULWARK_TOKEN: token } });
    expect(remote.code, remote.stderr).to.equal(0);
    expect(remote.json<RestoreRecord[]>().map((r) => r.id)).to.deep.equal([...restoreIds].reverse().slice(0, 230));
  });
});
