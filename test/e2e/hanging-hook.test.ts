import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import type { Daemon } from '../helpers/processes.js';
import { memberClient, startServe } from '../helpers/serve.js';
import { waitFor } from '../helpers/wait.js';
import { writeRecorderProvider } from '../helpers/test-provider.js';

const PROVIDER = '5e7e57e5-0000-4000-8000-0000000a4a46';

/**
 * A hook that never returns and ignores its signal (a plugin stuck in a kernel call) used to make
 * cancel a no-op and SIGTERM unable to stop `bulwark serve`: close waited for the attempt forever.
 * Now a cancelled attempt is abandoned after tasks.cancel_grace_ms and the process can exit.
 */
describe('e2e: a hook that ignores cancellation is abandoned after the grace period', function () {
  this.timeout(120_000);
  const home = tempDir('hang-home');
  const log = join(home.path, 'hooks.log');
  let serve: Daemon | undefined;
  let post: (path: string, body?: unknown) => Promise<{ status: number; json: Record<string, { id: string; status: string }> }>;
  let get: (path: string) => Promise<Record<string, { id: string; status: string; reason?: string }>>;

  before(async () => {
    writeRecorderProvider(home.path, { id: PROVIDER, logFile: log });
    writeFileSync(join(home.path, 'bulwark.yaml'), 'tasks:\n  cancel_grace_ms: 500\n  retry:\n    max_attempts: 1\n');
    allowAll(home.path, ['hang']);
    let url: string;
    ({ serve, url } = await startServe(home.path));
    const call = await memberClient(home.path, url, 'hang');
    post = (path, body) => call('POST', path, body) as ReturnType<typeof post>;
    get = async (path) => (await call('GET', path)).json as Awaited<ReturnType<typeof get>>;
  });
  after(async () => {
    if (serve && serve.child.exitCode === null) await serve.kill();
    home.cleanup();
  });

  /** Starts a protect whose main hook hangs, and waits until it hangs. */
  async function hangingProtect(name: string): Promise<string> {
    const plan = (
      await post('/plans', {
        plan: {
          name,
          provider_id: PROVIDER,
          resources: [{ type: 'test.recorder', id: name }],
          parameters: { 'test.recorder': { hang_hook: 'main' } },
        },
      })
    ).json.plan!;
    const checkpoint = (await post(`/providers/${PROVIDER}/checkpoints`, { checkpoint: { plan_id: plan.id } })).json.checkpoint!;
    await waitFor(
      `${name}'s main hook to start`,
      () => (existsSync(log) && readFileSync(log, 'utf8').includes(`protect ${name} main `)) || null,
    );
    return checkpoint.id;
  }

  it('cancel ends the operation: the stuck task fails BWK_ERR_TASK_ABANDONED', async () => {
    const id = await hangingProtect('stuck');
    expect((await post(`/operations/${id}/cancel`)).status).to.equal(202);
    const ended = await waitFor('the cancelled protect to end', async () => {
      const c = (await get(`/providers/${PROVIDER}/checkpoints/${id}`)).checkpoint!;
      return c.status === 'protecting' ? null : c;
    });
    expect(ended.status).to.equal('error');
    const reasons = JSON.stringify(ended);
    expect(reasons).to.match(/BWK_ERR_TASK_ABANDONED/);
  });

  it('SIGTERM stops serve while a hook hangs and holds a timer', async () => {
    await hangingProtect('stuck-at-shutdown');
    const code = await Promise.race([serve!.stop(), new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000))]);
    expect(code).to.equal(0);
  });
});
