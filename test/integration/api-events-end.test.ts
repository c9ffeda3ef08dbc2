import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InProcessEvents } from '../../src/protection-manager/events.js';
import { openApiApp, type ApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';

/** Reads a whole SSE response (it must end on its own) into its events. */
async function readStream(res: Response): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)![1]!;
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown>;
      return { event, data };
    });
}

/**
 * The API streams an operation's events from wherever it runs; when they never arrive (a broker that
 * dropped them, a process that died before publishing), the stream still ends with the record's final
 * status instead of staying open and silent for ever.
 */
describe('REST API: an operation event stream ends with the final state even when no end event arrives', function () {
  this.timeout(60_000);
  const home = tempDir('api-events-end');
  let a: ApiApp;
  let url = '';

  before(async () => {
    allowAll(home.path, ['p']);
    writeRecorderProvider(home.path, { logFile: join(home.path, 'hooks.log') });
    writeFileSync(join(home.path, 'hooks.log'), '');
    // The API listens on an event bus nothing publishes on: the operation's events never reach it.
    a = await openApiApp(home.path, { events: new InProcessEvents() });
    url = await a.api.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await a?.close();
    home.cleanup();
  });

  it('a stream opened while the protect runs ends with its final status', async () => {
    const token = await a.token('p');
    const plan = await a.app.manager.createPlan(
      { projectId: 'p', admin: false },
      {
        name: 'silent',
        provider_id: TEST_PROVIDER_ID,
        resources: [{ type: 'test.recorder', id: 'x' }],
        parameters: { 'test.recorder': { delay_ms: 1500 } },
      },
    );
    const handle = await a.app.manager.protect({ projectId: 'p', admin: false }, plan.id);
    await handle.started();
    const res = await fetch(`${url}/v1/p/operations/${handle.id}/events`, { headers: { 'x-auth-token': token } });
    const events = await readStream(res);
    const { record } = await handle.done;
    expect(events[0]).to.deep.include({ event: 'status' });
    expect(events[0]!.data.status).to.equal('protecting');
    expect(events.at(-1)).to.deep.equal({ event: 'status', data: { id: handle.id, kind: 'protect', status: record.status } });
    expect(record.status).to.equal('available');
  });
});
