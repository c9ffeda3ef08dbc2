import { expect } from 'chai';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import type { Daemon } from '../helpers/processes.js';
import { startDaemon } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { requireService, temporalAddress } from '../helpers/services.js';
import { writeRecorderProvider } from '../helpers/test-provider.js';
import { writeTemporalHome } from '../helpers/temporal-home.js';

/** A provider id of its own, so this suite's provider never clashes with another's. */
const TEMPORAL_PROVIDER_ID = '5e7e57e5-0000-4000-8000-0000000a7e51';

interface Rec {
  id: string;
  status: string;
  extra_info?: { reason?: string };
  resources_status?: Record<string, string>;
}
type HookLine = { kind: string; id: string; hook: string; pid: number };

const READY = /serving task queue/;

describe('e2e: temporal engine with real worker and agent processes', function () {
  this.timeout(240_000);
  const home = tempDir('temporal');
  const log = join(home.path, 'hooks.log');
  const daemons: Daemon[] = [];
  const lines = (): HookLine[] =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
      .map(([kind, id, hook, pid]) => ({ kind: kind!, id: id!, hook: hook!, pid: Number(pid) }));
  const start = async (args: string[]) => {
    const d = await startDaemon(home.path, args, READY);
    daemons.push(d);
    return d;
  };

  before(function () {
    const address = requireService(this, 'Temporal (TEMPORAL_ADDRESS)', temporalAddress());
    writeFileSync(log, '');
    writeTemporalHome(home.path, address, 'bulwark-e2e', [
      '  agent_schedule_to_start_timeout_ms: 3000',
      'tasks:',
      '  retry: {max_attempts: 5, initial_delay_ms: 200, max_delay_ms: 1000}',
    ]);
    writeRecorderProvider(home.path, { logFile: log, id: TEMPORAL_PROVIDER_ID });
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.kill().catch(() => undefined)));
    home.cleanup();
  });

  it('a protect survives a SIGKILLed worker: a new worker completes it, and the data verifies', async () => {
    const first = await start(['worker']);
    const plan = await cliJson<{ id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'slow',
      '--provider',
      TEMPORAL_PROVIDER_ID,
      '--resource',
      'test.recorder=slow',
      '--resource',
      'test.recorder=quick',
      '--parameters',
      JSON.stringify({ 'test.recorder#slow': { steps: 20, step_ms: 500 } }),
    ]);
    const started = await cliJson<Rec>(home.path, ['checkpoint', 'create', '--plan', plan.id, '--no-wait']);
    expect(started.status).to.equal('protecting');
    await waitFor('a few steps done on the first worker', () =>
      lines().find((l) => l.kind === 'step' && l.id === 'slow' && l.hook === '5' && l.pid === first.pid),
    );
    await first.kill();

    const second = await start(['worker']);
    const waited = await runCli(home.path, ['operation', 'wait', started.id]);
    expect(waited.code, waited.stderr).to.equal(0);
    const final = waited.json<{ status: string; record: Rec }>();
    expect(final.status).to.equal('available');
    expect(lines().some((l) => l.kind === 'protect' && l.id === 'slow' && l.hook === 'complete' && l.pid === second.pid)).to.equal(true);
    // The retried hook resumed from its last heartbeat instead of starting over, and no step was lost.
    const steps = lines().filter((l) => l.kind === 'step' && l.id === 'slow');
    const resumedAt = Number(steps.find((l) => l.pid === second.pid)!.hook);
    expect(resumedAt, 'first step on the new worker').to.be.greaterThan(0);
    expect(new Set(steps.map((l) => Number(l.hook)))).to.deep.equal(new Set(Array.from({ length: 20 }, (_, i) => i)));
    const verification = await cliJson<Rec>(home.path, ['verification', 'create', '--checkpoint', started.id]);
    expect(verification.status).to.equal('success');
    expect(verification.resources_status).to.deep.equal({ 'test.recorder#quick': 'success', 'test.recorder#slow': 'success' });
  });

  it('a restore survives a SIGKILLed worker too', async () => {
    const [checkpoint] = await cliJson<Rec[]>(home.path, ['checkpoint', 'list', '--status', 'available']);
    const worker = daemons[daemons.length - 1]!;
    const started = await cliJson<Rec>(home.path, [
      'restore',
      'create',
      '--checkpoint',
      checkpoint!.id,
      '--no-wait',
      '--parameters',
      JSON.stringify({ 'test.recorder#slow': { delay_ms: 8_000 } }),
    ]);
    expect(started.status).to.equal('in_progress');
    await waitFor('the restore main hook to start', () =>
      lines().find((l) => l.kind === 'restore' && l.id === 'slow' && l.hook === 'main' && l.pid === worker.pid),
    );
    await worker.kill();
    const next = await start(['worker']);
    const waited = await runCli(home.path, ['operation', 'wait', started.id]);
    expect(waited.code, waited.stderr).to.equal(0);
    expect(waited.json<{ status: string }>().status).to.equal('success');
    expect(lines().some((l) => l.kind === 'restore' && l.id === 'slow' && l.hook === 'main' && l.pid === next.pid)).to.equal(true);
  });

  it('routes a resource planned with node: a to `bulwark agent --node a` only', async () => {
    const agent = await start(['agent', '--node', 'a']);
    const worker = daemons.filter((d) => d.child.exitCode === null && d !== agent).pop()!;
    writeFileSync(log, '');
    const planFile = join(home.path, 'routed.yaml');
    writeFileSync(
      planFile,
      `name: routed\nprovider_id: ${TEMPORAL_PROVIDER_ID}\nresources:\n  - {type: test.recorder, id: central}\n  - {type: test.recorder, ` +
        `id: remote, node: a}\n`,
    );
    const plan = await cliJson<{ id: string }>(home.path, ['plan', 'create', '-f', planFile]);
    const checkpoint = await cliJson<Rec>(home.path, ['checkpoint', 'create', '--plan', plan.id]);
    expect(checkpoint.status).to.equal('available');
    const remote = lines().filter((l) => l.id === 'remote');
    const central = lines().filter((l) => l.id === 'central');
    expect(remote.map((l) => l.hook)).to.deep.equal(['prepare_begin', 'prepare_finish', 'main', 'complete']);
    expect(new Set(remote.map((l) => l.pid))).to.deep.equal(new Set([agent.pid]));
    expect(new Set(central.map((l) => l.pid))).to.deep.equal(new Set([worker.pid]));
    expect(await agent.stop()).to.equal(0);
  });

  it('`operation cancel` stops a running protect: checkpoint error with reason cancelled, no lease held', async () => {
    const plan = await cliJson<{ id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'cancel-me',
      '--provider',
      TEMPORAL_PROVIDER_ID,
      '--resource',
      'test.recorder=long',
      '--parameters',
      JSON.stringify({ 'test.recorder#long': { delay_ms: 120_000 } }),
    ]);
    const started = await cliJson<Rec>(home.path, ['checkpoint', 'create', '--plan', plan.id, '--no-wait']);
    await waitFor('the long main hook to start', () => lines().find((l) => l.kind === 'protect' && l.id === 'long' && l.hook === 'main'));
    const cancel = await runCli(home.path, ['operation', 'cancel', started.id]);
    expect(cancel.code, cancel.stderr).to.equal(0);
    const waited = await runCli(home.path, ['operation', 'wait', started.id]);
    expect(waited.code).to.equal(1);
    const final = waited.json<{ status: string; running: boolean; record: Rec }>();
    expect(final.status).to.equal('error');
    expect(final.record.extra_info?.reason).to.match(/BWK_ERR_OPERATION_CANCELLED/);
    expect(readdirSync(join(home.path, 'bank', 'leases')).filter((n) => n.includes(started.id))).to.deep.equal([]);
    expect(
      lines().some((l) => l.kind === 'protect' && l.id === 'long' && l.hook === 'complete'),
      'complete never ran',
    ).to.equal(false);
  });

  /** Protects a plan of one resource planned on `node`, expecting the protect to fail: its checkpoint. */
  async function failedOnNode(name: string, id: string, node: string): Promise<Rec> {
    const planFile = join(home.path, `${name}.yaml`);
    const resource = `{type: test.recorder, id: ${id}, node: ${node}}`;
    writeFileSync(planFile, `name: ${name}\nprovider_id: ${TEMPORAL_PROVIDER_ID}\nresources:\n  - ${resource}\n`);
    const plan = await cliJson<{ id: string }>(home.path, ['plan', 'create', '-f', planFile]);
    const r = await runCli(home.path, ['checkpoint', 'create', '--plan', plan.id]);
    expect(r.code).to.equal(1);
    const checkpoint = r.json<Rec>();
    expect(checkpoint.status).to.equal('error');
    return checkpoint;
  }

  it('with no agent for a node, the operation fails naming the node after schedule-to-start', async () => {
    const checkpoint = await failedOnNode('orphan', 'lonely', 'nowhere');
    expect(checkpoint.extra_info?.reason)
      .to.match(/BWK_ERR_AGENT_UNAVAILABLE/)
      .and.to.include('"nowhere"')
      .and.to.include('bulwark agent --node nowhere');
  });

  it('an agent whose home has a bank of its own fails the operation naming the node and the bank it opened', async () => {
    // The agent's home is a copy of this one's configuration, as on another machine: same provider, own <home>/bank.
    const agentHome = tempDir('temporal-agent-home');
    try {
      cpSync(join(home.path, 'bulwark.yaml'), join(agentHome.path, 'bulwark.yaml'));
      cpSync(join(home.path, 'providers'), join(agentHome.path, 'providers'), { recursive: true });
      const worker = await start(['worker']); // the workflow's own worker, on this home's bank
      const agent = await startDaemon(agentHome.path, ['agent', '--node', 'elsewhere'], READY);
      daemons.push(agent);
      const checkpoint = await failedOnNode('elsewhere', 'far', 'elsewhere');
      expect(checkpoint.extra_info?.reason)
        .to.match(/^BWK_ERR_BANK_NOT_VISIBLE: agent elsewhere on host /)
        .and.to.include(`checkpoint ${checkpoint.id} is not in the bank it opened (fs bank at ${join(agentHome.path, 'bank')})`);
      await agent.stop();
      await worker.stop();
    } finally {
      agentHome.cleanup();
    }
  });
});
