import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli } from '../helpers/cli.js';
import { CLI, tempDir } from '../helpers/paths.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon } from '../helpers/processes.js';
import { freePort } from '../helpers/private-rabbitmq.js';
import { requireService, temporalAddress } from '../helpers/services.js';
import { writeRecorderProvider } from '../helpers/test-provider.js';
import { writeTemporalHome } from '../helpers/temporal-home.js';
import { waitFor } from '../helpers/wait.js';

/** A provider id of its own, so this suite's checkpoints never mix with another suite's. */
const PROVIDER = '5e7e57e5-0000-4000-8000-0000000f0110';

interface Rec {
  id: string;
  status: string;
  extra_info?: { resources_reason?: Record<string, string> };
}

/** The CLI as an operator runs it, not awaited: its output and exit once it ends, and its pid to signal. */
function spawnFollowing(home: string, args: string[], env: NodeJS.ProcessEnv = {}, output: 'json' | 'table' = 'json') {
  const child = spawn(process.execPath, [CLI, '--home', home, '-o', output, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, ended };
}

describe('e2e: following an operation — an API restart, a late cancel, a cancel mid-run', function () {
  this.timeout(240_000);
  const home = tempDir('follow');
  const log = join(home.path, 'hooks.log');
  const daemons: Daemon[] = [];
  const hookLines = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
  let plan: string;

  before(async function () {
    const address = requireService(this, 'Temporal (TEMPORAL_ADDRESS)', temporalAddress());
    writeFileSync(log, '');
    writeTemporalHome(home.path, address, 'bulwark-follow');
    writeRecorderProvider(home.path, { logFile: log, logEnd: true, id: PROVIDER, name: 'follow' });
    daemons.push(await startDaemon(home.path, ['worker'], /serving task queue/));
    plan = (
      await cliJson<{ id: string }>(home.path, [
        'plan',
        'create',
        '--name',
        'follow',
        '--provider',
        PROVIDER,
        '--resource',
        'test.recorder=slow',
        '--resource',
        'test.recorder=quick',
        '--parameters',
        JSON.stringify({ 'test.recorder#slow': { steps: 12, step_ms: 500 } }),
      ])
    ).id;
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.kill().catch(() => undefined)));
    home.cleanup();
  });

  it('checkpoint create --url rides out an API killed and restarted mid-protect, then prints the checkpoint and exits 0', async () => {
    const port = await freePort();
    const serve = () => startDaemon(home.path, ['serve', '--port', String(port)], /"url":"[^"]+"/);
    let api = await serve();
    daemons.push(api);
    const token = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'default', '--role', 'admin'])).token;
    const before = hookLines().length;
    const cli = spawnFollowing(home.path, ['--url', `http://127.0.0.1:${port}`, 'checkpoint', 'create', '--plan', plan], {
      BULWARK_TOKEN: token,
    });
    await waitFor('the protect is under way on the worker', () =>
      hookLines()
        .slice(before)
        .find((l) => l.startsWith('step slow 2 ')),
    );
    await api.kill();
    // Down for two more steps (a second): the CLI polls every 500 ms, so it meets the outage.
    await waitFor('two more steps while the API is down', () =>
      hookLines()
        .slice(before)
        .find((l) => l.startsWith('step slow 4 ')),
    );
    api = await serve();
    daemons.push(api);
    const { code, stdout, stderr } = await cli.ended;
    expect(code, stderr).to.equal(0);
    const record = JSON.parse(stdout) as Rec;
    expect(record.status).to.equal('available');
    // Exactly one checkpoint of this protect: the retried polls did not start another.
    const listed = await cliJson<Rec[]>(home.path, ['checkpoint', 'list', '--plan', plan]);
    expect(listed.filter((c) => c.id === record.id)).to.have.length(1);
  });

  it('a cancel after the last task finished: the CLI says the protect completed before the cancel took effect', async () => {
    const before = hookLines().length;
    // Table output: notes go to stderr (with -o json stderr carries only errors, and the record says `available`).
    const cli = spawnFollowing(home.path, ['checkpoint', 'create', '--plan', plan], {}, 'table');
    await waitFor(
      'both resources finished their last hook',
      () =>
        hookLines()
          .slice(before)
          .filter((l) => /^protect (slow|quick) complete:end /.test(l)).length === 2 || undefined,
      60_000,
      20,
    );
    cli.child.kill('SIGINT');
    const { code, stdout, stderr } = await cli.ended;
    expect(code, stderr).to.equal(0);
    const id = /^id\s+(\S+)$/m.exec(stdout)?.[1];
    expect(/^status\s+(\S+)$/m.exec(stdout)?.[1], stdout).to.equal('available');
    expect(stderr).to.include(`checkpoint ${id} completed before the cancel took effect: it ended available`);
  });

  it('a cancel mid-run: the stopped resource says cancelled, not that a dependency failed', async () => {
    const before = hookLines().length;
    const started = await cliJson<Rec>(home.path, ['checkpoint', 'create', '--plan', plan, '--no-wait']);
    await waitFor('the slow resource is under way', () =>
      hookLines()
        .slice(before)
        .find((l) => l.startsWith('step slow 1 ')),
    );
    const cancelled = await runCli(home.path, ['operation', 'cancel', started.id]);
    expect(cancelled.code, cancelled.stderr).to.equal(0);
    const waited = await runCli(home.path, ['operation', 'wait', started.id]);
    expect(waited.code).to.equal(1);
    const view = waited.json<{ status: string; record: Rec }>();
    expect(view.status).to.equal('error');
    expect(view.record.extra_info?.resources_reason?.['test.recorder#slow']).to.match(/^cancelled: /);
  });
});

describe('e2e: a cancel mid-run under the local engine (Ctrl-C)', function () {
  this.timeout(120_000);
  const home = tempDir('follow-local');
  const log = join(home.path, 'hooks.log');
  after(() => home.cleanup());

  it('names the resources it stopped as cancelled', async () => {
    writeFileSync(log, '');
    writeRecorderProvider(home.path, { logFile: log, id: PROVIDER, name: 'follow' });
    const plan = await cliJson<{ id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'local',
      '--provider',
      PROVIDER,
      '--resource',
      'test.recorder=slow',
      '--parameters',
      JSON.stringify({ 'test.recorder#slow': { steps: 40, step_ms: 250 } }),
    ]);
    const cli = spawnFollowing(home.path, ['checkpoint', 'create', '--plan', plan.id]);
    await waitFor('the slow resource is under way', () => readFileSync(log, 'utf8').includes('step slow 1 ') || undefined);
    cli.child.kill('SIGINT');
    const { code, stdout } = await cli.ended;
    expect(code).to.equal(1);
    const record = JSON.parse(stdout) as Rec;
    expect(record.status).to.equal('error');
    expect(record.extra_info?.resources_reason?.['test.recorder#slow']).to.match(/^cancelled: /);
  });
});
