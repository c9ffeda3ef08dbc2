import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AMQP_PASSWORD_ENV, writeAmqpHome } from '../helpers/amqp-home.js';
import { cliJson } from '../helpers/cli.js';
import { scrape, valueOf } from '../helpers/metrics-text.js';
import { CLI, tempDir } from '../helpers/paths.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon } from '../helpers/processes.js';
import { allowAll } from '../helpers/scopes.js';
import { memberClient, startServe, type RestCall } from '../helpers/serve.js';
import { requireService, temporalAddress } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
const PROJECT = 'progress';
const FILES = 5;
const FILE_BYTES = 8 * 1024 * 1024;
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

interface ProgressEvent {
  type: 'progress';
  operationId: string;
  resource: string;
  done: number;
  total?: number;
  unit?: string;
  hook?: string;
}

/** Reads an SSE response to its end; the operation events it carried, in order. */
async function sseEvents(res: Response): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)![1]!;
      return { event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown> };
    });
}

/** The bytes figures (done, and total when shown) of each progress bar drawn on a terminal. */
function barFigures(terminal: string): Array<{ done: number; total?: number }> {
  const out: Array<{ done: number; total?: number }> = [];
  for (const m of terminal.matchAll(/\] \d+\/\d+ tasks ([\d.]+) (B|KiB|MiB|GiB)(?:\/([\d.]+) (B|KiB|MiB|GiB))?/g)) {
    const done = Number(m[1]) * UNITS[m[2]!]!;
    out.push(m[3] === undefined ? { done } : { done, total: Number(m[3]) * UNITS[m[4]!]! });
  }
  return out;
}

/**
 * Progress across processes: a protect runs in a Temporal worker (another process), `bulwark serve`
 * hears its events from `bulwark.events`, and both `bulwark checkpoint create --url` (its progress
 * bar, on a terminal) and the SSE stream show its bytes growing to the total.
 */
describe('e2e: progress of a protect run by a Temporal worker in another process', function () {
  this.timeout(240_000);
  const home = tempDir('progress-home');
  const work = tempDir('progress-work');
  const source = join(work.path, 'src');
  const daemons: Daemon[] = [];
  let url: string;
  let member: RestCall;
  let token: string;
  let workerMetrics: string;

  before(async function () {
    const address = requireService(this, 'Temporal (TEMPORAL_ADDRESS)', temporalAddress());
    writeAmqpHome(this, home.path, 'bulwark-progress', [
      'engine: temporal',
      'temporal:',
      `  address: ${address}`,
      `  task_queue: bulwark-progress-${randomUUID().slice(0, 8)}`,
    ]);
    allowAll(home.path, [PROJECT]);
    mkdirSync(source);
    for (let i = 0; i < FILES; i++) writeFileSync(join(source, `f${i}`), randomBytes(FILE_BYTES));
    const worker = await startDaemon(home.path, ['worker', '--metrics-port', '0'], /"metrics_url":"[^"]+"/);
    daemons.push(worker);
    workerMetrics = /"metrics_url":"([^"]+)"/.exec(worker.output())![1]!;
    const served = await startServe(home.path);
    daemons.push(served.serve);
    url = served.url;
    member = await memberClient(home.path, url, PROJECT);
    token = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', PROJECT, '--role', 'member'])).token;
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop().catch(() => undefined)));
    delete process.env[AMQP_PASSWORD_ENV];
    home.cleanup();
    work.cleanup();
  });

  it('checkpoint create --url draws growing bytes to the total, and SSE delivers strictly increasing bytes ending at it', async () => {
    const { json } = await member('POST', '/plans', {
      plan: { name: 'big', provider_id: FS_PROVIDER, resources: [{ type: 'fs.directory', id: source }] },
    });
    const planId = (json.plan as { id: string }).id;
    const total = FILES * FILE_BYTES;

    // The CLI on a terminal (script gives it a pty, as a person's shell would), against serve's URL.
    const cli = spawn('script', ['-qfec', `${process.execPath} ${CLI} checkpoint create --plan ${planId} -o json`, '/dev/null'], {
      env: { ...process.env, BULWARK_URL: url, BULWARK_TOKEN: token, BULWARK_HOME: join(work.path, 'client') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let terminal = '';
    cli.stdout.on('data', (d: Buffer) => (terminal += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (terminal += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on('exit', resolve));

    // The same protect through SSE, opened as soon as its checkpoint is listed.
    const checkpointId = await waitFor(
      'the protect to start',
      async () => {
        const listed = await member('GET', `/providers/${FS_PROVIDER}/checkpoints?plan_id=${planId}`);
        return (listed.json.checkpoints as Array<{ id: string }> | undefined)?.[0]?.id;
      },
      60_000,
      50,
    );
    const stream = await fetch(`${url}/v1/${PROJECT}/operations/${checkpointId}/events`, { headers: { 'x-auth-token': token } });
    expect(stream.status).to.equal(200);
    const events = await sseEvents(stream);

    expect(await exited, terminal).to.equal(0);
    const printed = JSON.parse(terminal.slice(terminal.indexOf('\n{') + 1)) as { id: string; status: string };
    expect(printed).to.include({ id: checkpointId, status: 'available' });

    // SSE: bytes strictly increasing, the last report done = total = every byte of the directory.
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as unknown as ProgressEvent);
    expect(progress.length, JSON.stringify(events.map((e) => e.event))).to.be.at.least(2);
    for (const p of progress)
      expect(p).to.include({ operationId: checkpointId, resource: `fs.directory#${source}`, unit: 'bytes', hook: 'main' });
    // The last report announces the total: its figure may repeat the one before (40 MiB read, then "of 40 MiB").
    const done = progress.map((p) => p.done);
    for (let i = 1; i < done.length - 1; i++) expect(done[i], `SSE bytes ${done.join(', ')}`).to.be.above(done[i - 1]!);
    expect(done.at(-1), `SSE bytes ${done.join(', ')}`).to.be.at.least(done.at(-2)!);
    expect(progress.slice(0, -1).every((p) => p.total === undefined)).to.equal(true);
    expect(progress.at(-1)).to.include({ done: total, total });
    const last = events.at(-1)!;
    expect(last.event).to.equal('operation_finished');
    expect(last.data).to.include({ operationId: checkpointId, status: 'available' });

    // The terminal's bar: the same figures, never going back, ending at the total out of the total.
    const figures = barFigures(terminal);
    const shown = figures.map((f) => f.done).filter((d, i, all) => i === 0 || d !== all[i - 1]);
    expect(shown.length, terminal).to.be.at.least(2);
    for (let i = 1; i < shown.length; i++) expect(shown[i], `bar bytes ${shown.join(', ')}`).to.be.above(shown[i - 1]!);
    expect(figures.at(-1), terminal).to.deep.equal({ done: total, total });
  });

  it('the worker that ran the protect counts it on its own /metrics (--metrics-port); serve, which only started it, does not', async () => {
    const worker = await scrape(workerMetrics);
    expect(valueOf(worker, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'available' })).to.equal(1);
    expect(valueOf(worker, 'bulwark_checkpoint_bytes', { kind: 'read' })).to.equal(FILES * FILE_BYTES);
    expect(valueOf(worker, 'bulwark_checkpoint_duration_seconds_count', { provider: FS_PROVIDER, status: 'available' })).to.equal(1);
    const serve = await scrape(`${url}/metrics`);
    expect(valueOf(serve, 'bulwark_checkpoint_total', { provider: FS_PROVIDER, status: 'available' })).to.equal(0);
    expect(valueOf(serve, 'bulwark_checkpoint_bytes', { kind: 'read' })).to.equal(0);
  });
});
