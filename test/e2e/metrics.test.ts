import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson } from '../helpers/cli.js';
import { scrape, valueOf, type Sample } from '../helpers/metrics-text.js';
import { tempDir } from '../helpers/paths.js';
import type { Daemon } from '../helpers/processes.js';
import { allowAll } from '../helpers/scopes.js';
import { memberClient, startServe, type RestCall } from '../helpers/serve.js';
import { writeRecorderProvider } from '../helpers/test-provider.js';
import { waitFor } from '../helpers/wait.js';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const RECORDER = '5e7e57e5-0000-4000-8000-00000000e719';
const PROJECT = 'metrics';
/** Label names a Bulwark metric may carry, and those prom-client's process metrics carry. */
const BULWARK_LABELS = new Set(['provider', 'status', 'kind', 'outcome', 'scheduled_operation', 'le']);
const PROCESS_LABELS = new Set(['kind', 'space', 'version', 'major', 'minor', 'patch', 'le', 'type']);

/**
 * `/metrics` of `bulwark serve`, scraped around real operations: every counter moves by exactly what
 * the operations did, and no label carries a per-operation value.
 */
describe('e2e: Prometheus metrics of bulwark serve', function () {
  this.timeout(180_000);
  const home = tempDir('metrics-home');
  const work = tempDir('metrics-work');
  const source = join(work.path, 'src');
  const sizes = [150_000, 70_000, 1];
  let serve: Daemon | undefined;
  let url: string;
  let member: RestCall;
  let adminToken: string;
  /** Every id an operation or record got: none may appear as a label value. */
  const ids = new Set<string>();

  const call = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> => {
    const { status, json } = await member(method, path, body);
    expect(status, `${method} ${path}: ${JSON.stringify(json)}`).to.be.below(300);
    return json as T;
  };
  const metrics = () => scrape(`${url}/metrics`);
  /**
   * The scrape once `name{labels}` has moved from `before`: a record reads final a moment before the
   * operation's end event is counted, so a scrape right after the status would race it.
   */
  const metricsOnce = (before: Sample[], name: string, labels: Record<string, string>) =>
    waitFor(`${name} ${JSON.stringify(labels)} to move`, async () => {
      const now = await metrics();
      return valueOf(now, name, labels) !== valueOf(before, name, labels) ? now : undefined;
    });
  const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}) =>
    valueOf(after, name, labels) - valueOf(before, name, labels);

  const plan = async (provider: string, resources: Array<{ type: string; id: string }>, parameters?: unknown) => {
    const { plan } = await call<{ plan: { id: string } }>('POST', '/plans', {
      plan: { name: `m-${ids.size}`, provider_id: provider, resources, ...(parameters ? { parameters } : {}) },
    });
    ids.add(plan.id);
    return plan.id;
  };
  const protect = async (provider: string, planId: string, want: string) => {
    const { checkpoint } = await call<{ checkpoint: { id: string } }>('POST', `/providers/${provider}/checkpoints`, {
      checkpoint: { plan_id: planId },
    });
    ids.add(checkpoint.id);
    await waitFor(`checkpoint ${checkpoint.id} ${want}`, async () => {
      const { checkpoint: c } = await call<{ checkpoint: { status: string } }>(
        'GET',
        `/providers/${provider}/checkpoints/${checkpoint.id}`,
      );
      return c.status === want || undefined;
    });
    return checkpoint.id;
  };
  const reading = async (noun: 'restore' | 'verification', body: Record<string, unknown>) => {
    const created = (await call<Record<string, { id: string }>>('POST', `/${noun}s`, { [noun]: body }))[noun]!;
    ids.add(created.id);
    await waitFor(`${noun} ${created.id} success`, async () => {
      const r = (await call<Record<string, { status: string }>>('GET', `/${noun}s/${created.id}`))[noun]!;
      expect(r.status).to.not.equal('fail');
      return r.status === 'success' || undefined;
    });
  };

  before(async () => {
    mkdirSync(source);
    for (const [i, size] of sizes.entries()) writeFileSync(join(source, `f${i}`), randomBytes(size));
    allowAll(home.path, [PROJECT]);
    writeRecorderProvider(home.path, { id: RECORDER });
    ({ serve, url } = await startServe(home.path));
    member = await memberClient(home.path, url, PROJECT);
    adminToken = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', PROJECT, '--role', 'admin'])).token;
  });
  after(async () => {
    await serve?.stop();
    home.cleanup();
    work.cleanup();
  });

  let good: string;
  let goodCheckpoint: string;
  let storedTotal = 0;

  it('a successful protect: one available checkpoint, its duration, the bytes it read and the bytes it stored', async () => {
    good = await plan(FS_PROVIDER, [{ type: 'fs.directory', id: source }]);
    const before = await metrics();
    goodCheckpoint = await protect(FS_PROVIDER, good, 'available');
    const after = await metricsOnce(before, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'available' });
    expect(delta(before, after, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'available' })).to.equal(1);
    expect(delta(before, after, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'error' })).to.equal(0);
    expect(delta(before, after, 'bulwark_checkpoint_duration_seconds_count', { provider: FS_PROVIDER, status: 'available' })).to.equal(1);
    expect(delta(before, after, 'bulwark_checkpoint_bytes', { kind: 'read' })).to.equal(sizes.reduce((a, b) => a + b, 0));
    storedTotal = delta(before, after, 'bulwark_checkpoint_bytes', { kind: 'stored' });
    // Random data does not compress: what was stored is at least what was read, plus a little framing.
    expect(storedTotal).to.be.within(
      sizes.reduce((a, b) => a + b, 0),
      2 * sizes.reduce((a, b) => a + b, 0),
    );
    expect(delta(before, after, 'bulwark_restore_total', { status: 'success' })).to.equal(0);
    expect(valueOf(after, 'bulwark_operation_in_progress', { kind: 'protect' })).to.equal(0);
  });

  it('a failed protect: one error checkpoint of its provider, nothing read or stored', async () => {
    const failing = await plan(RECORDER, [{ type: 'test.recorder', id: 'x' }], { 'test.recorder': { fail_hook: 'main' } });
    const before = await metrics();
    await protect(RECORDER, failing, 'error');
    const after = await metricsOnce(before, 'bulwark_checkpoint_total', { provider: RECORDER, status: 'error' });
    expect(delta(before, after, 'bulwark_checkpoint_total', { provider: RECORDER, status: 'error' })).to.equal(1);
    expect(delta(before, after, 'bulwark_checkpoint_total', { provider: RECORDER, status: 'available' })).to.equal(0);
    expect(delta(before, after, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'available' })).to.equal(0);
    expect(delta(before, after, 'bulwark_checkpoint_duration_seconds_count', { provider: RECORDER, status: 'error' })).to.equal(1);
    expect(delta(before, after, 'bulwark_checkpoint_bytes', { kind: 'read' })).to.equal(0);
    expect(delta(before, after, 'bulwark_checkpoint_bytes', { kind: 'stored' })).to.equal(0);
  });

  it('a restore and a verification: one success each, no checkpoint counted', async () => {
    const target = join(work.path, 'restored');
    const before = await metrics();
    await reading('restore', {
      checkpoint_id: goodCheckpoint,
      provider_id: FS_PROVIDER,
      parameters: { 'fs.directory': { target_path: target } },
    });
    const middle = await metricsOnce(before, 'bulwark_restore_total', { status: 'success' });
    expect(delta(before, middle, 'bulwark_restore_total', { status: 'success' })).to.equal(1);
    expect(delta(before, middle, 'bulwark_restore_total', { status: 'fail' })).to.equal(0);
    expect(delta(before, middle, 'bulwark_restore_duration_seconds_count', { status: 'success' })).to.equal(1);
    expect(delta(before, middle, 'bulwark_verification_total', { status: 'success' })).to.equal(0);
    expect(readFileSync(join(target, 'f1')).length).to.equal(sizes[1]);
    await reading('verification', { checkpoint_id: goodCheckpoint, provider_id: FS_PROVIDER });
    const after = await metricsOnce(middle, 'bulwark_verification_total', { status: 'success' });
    expect(delta(middle, after, 'bulwark_verification_total', { status: 'success' })).to.equal(1);
    expect(delta(middle, after, 'bulwark_verification_duration_seconds_count', { status: 'success' })).to.equal(1);
    expect(delta(before, after, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'available' })).to.equal(0);
    expect(delta(before, after, 'bulwark_checkpoint_bytes', { kind: 'read' })).to.equal(0);
  });

  it('a clean bank check sets the bank size (what the protects stored) and its last success time', async () => {
    const started = Date.now() / 1000;
    const res = await fetch(`${url}/v1/${PROJECT}/providers/${FS_PROVIDER}/bank/check`, {
      method: 'POST',
      headers: { 'x-auth-token': adminToken, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { bank_check: { ok: boolean } }).bank_check.ok).to.equal(true);
    const after = await metrics();
    expect(valueOf(after, 'bulwark_bank_bytes', { provider: FS_PROVIDER })).to.equal(storedTotal);
    expect(valueOf(after, 'bulwark_bank_check_last_success_timestamp_seconds', { provider: FS_PROVIDER })).to.be.within(
      Math.floor(started),
      Date.now() / 1000 + 1,
    );
  });

  it('a run of a scheduled operation: its last success time and its interval, by scheduled operation', async () => {
    const { trigger_info: trigger } = await call<{ trigger_info: { id: string } }>('POST', '/triggers', {
      trigger_info: { name: 'nightly', type: 'time', properties: { pattern: '0 3 * * *' } },
    });
    const { scheduled_operation: op } = await call<{ scheduled_operation: { id: string } }>('POST', '/scheduled_operations', {
      scheduled_operation: {
        name: 'nightly-protect',
        operation_type: 'protect',
        trigger_id: trigger.id,
        operation_definition: { plan_id: good, provider_id: FS_PROVIDER },
      },
    });
    const before = await metrics();
    expect(valueOf(before, 'bulwark_scheduled_operation_last_success_timestamp_seconds', { scheduled_operation: op.id })).to.equal(0);
    const asked = Date.now() / 1000;
    await call('POST', `/scheduled_operations/${op.id}/run`);
    const labels = { scheduled_operation: op.id };
    // The interval is read from the catalog every 15 s; the success is set when the run settles.
    const after = await waitFor('the run to succeed and the interval to be read', async () => {
      const now = await metrics();
      const ok =
        valueOf(now, 'bulwark_scheduled_operation_last_success_timestamp_seconds', labels) > 0 &&
        valueOf(now, 'bulwark_scheduled_operation_interval_seconds', labels) > 0;
      return ok ? now : undefined;
    });
    expect(valueOf(after, 'bulwark_scheduled_operation_last_success_timestamp_seconds', labels)).to.be.within(
      asked - 1,
      Date.now() / 1000 + 1,
    );
    expect(valueOf(after, 'bulwark_scheduled_operation_interval_seconds', labels)).to.equal(86_400);
    expect(valueOf(after, 'bulwark_operation_engine_leader')).to.equal(1);
    expect(delta(before, after, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'available' })).to.equal(1);
  });

  it('labels carry no per-operation value: another protect adds no series, and no label names an id', async () => {
    const series = (samples: Sample[]) =>
      new Set(samples.filter((s) => s.name.startsWith('bulwark_')).map((s) => `${s.name}${JSON.stringify(s.labels)}`));
    const before = await metrics();
    await protect(FS_PROVIDER, good, 'available');
    await protect(FS_PROVIDER, await plan(FS_PROVIDER, [{ type: 'fs.directory', id: source }]), 'available');
    const counted = (samples: Sample[]) => valueOf(samples, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'available' });
    const after = await waitFor('both protects counted', async () => {
      const now = await metrics();
      return counted(now) - counted(before) === 2 ? now : undefined;
    });
    expect([...series(after)].filter((s) => !series(before).has(s))).to.deep.equal([]);
    for (const s of after) {
      const allowed = s.name.startsWith('bulwark_') ? BULWARK_LABELS : PROCESS_LABELS;
      for (const [name, value] of Object.entries(s.labels)) {
        expect(allowed.has(name), `${s.name} has label ${name}`).to.equal(true);
        expect(ids.has(value), `${s.name}{${name}="${value}"} names an operation or record`).to.equal(false);
      }
    }
    const providers = new Set(after.filter((s) => s.labels.provider !== undefined).map((s) => s.labels.provider));
    expect([...providers].sort()).to.deep.equal([RECORDER, FS_PROVIDER].sort());
  });
});

/** Every log line of an operation names it and its project: one operation's story is one grep away. */
describe('e2e: log lines of an operation', function () {
  this.timeout(120_000);
  const home = tempDir('oplog-home');
  const work = tempDir('oplog-work');
  let serve: Daemon | undefined;
  after(async () => {
    await serve?.stop();
    home.cleanup();
    work.cleanup();
  });

  it('carry operation, project and checkpoint; a hook line adds its resource and hook', async () => {
    const failing = join(work.path, 'pre-fails');
    mkdirSync(failing);
    allowAll(home.path, [PROJECT]);
    let url: string;
    ({ serve, url } = await startServe(home.path));
    const member = await memberClient(home.path, url, PROJECT);
    const { json } = await member('POST', '/plans', {
      plan: {
        name: 'logged',
        provider_id: FS_PROVIDER,
        // A consistency command whose failure is only logged: a line written from inside the resource's data step.
        resources: [{ type: 'fs.directory', id: failing, consistency: { pre: { command: ['/bin/false'], on_error: 'continue' } } }],
      },
    });
    const planId = (json.plan as { id: string } | undefined)?.id;
    expect(planId, JSON.stringify(json)).to.be.a('string');
    const created = await member('POST', `/providers/${FS_PROVIDER}/checkpoints`, { checkpoint: { plan_id: planId } });
    const id = (created.json.checkpoint as { id: string }).id;
    const lines = await waitFor('the operation to end in the log', () => {
      const all = readFileSync(join(home.path, 'logs', 'bulwark.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return all.some((l) => l.msg === 'operation finished' && l.operation === id) ? all.filter((l) => l.operation === id) : undefined;
    });
    expect(lines.map((l) => l.msg)).to.include.members(['operation started', 'operation finished']);
    for (const line of lines) expect(line, JSON.stringify(line)).to.include({ operation: id, project: PROJECT, checkpoint: id });
    const hookLine = lines.find((l) => l.msg === 'consistency command failed; continuing as configured');
    expect(hookLine, JSON.stringify(lines)).to.include({ resource: `fs.directory#${failing}`, hook: 'main' });
  });
});
