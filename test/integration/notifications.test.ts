/**
 * Webhook notifications (issue 22) end to end in one process: a real HTTP receiver started here, the
 * real SQLite catalog of a real home, real protects through the recorder plugin, the REST API built
 * as `bulwark serve` builds it. The dispatcher is driven round by round (runOnce) so nothing depends
 * on how fast the machine is.
 */
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { WebhookDispatcher } from '../../src/notifications/dispatcher.js';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openApiApp, type ApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';
import { PG_PROVIDER_ID, createDb, dropDb, uniqueName, writePgProvider } from '../helpers/postgres-fixture.js';
import { pgUrl, requireService } from '../helpers/services.js';

/** The database password the PostgreSQL provider reads from its password_env: it must reach no payload. */
const DB_PASSWORD = 'db-password-of-the-notify-test-5f1c';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** An HTTP receiver that answers `script` codes in turn (then 200), recording every request. */
class Receiver {
  readonly requests: Received[] = [];
  script: number[] = [];
  private server: Server | null = null;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answered = this.script.shift() ?? 200;
        this.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  get accepted(): Received[] {
    return this.requests.filter((r) => r.answered >= 200 && r.answered < 300);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** What the subscription routes answer, loosely: each test reads the part it asked for. */
interface Body {
  code?: string;
  subscription: { id: string; secret: string; filter: unknown; status: string };
  subscriptions: { id: string }[];
  deliveries: Record<string, unknown>[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function configure(home: string): void {
  allowAll(home, ['p', 'q']);
  const file = join(home, 'bulwark.yaml');
  const doc = load(readFileSync(file, 'utf8')) as Record<string, unknown>;
  doc.notifications = { allowed_hosts: ['127.0.0.1'], retry: { max_attempts: 10, initial_delay_ms: 10, max_delay_ms: 40 } };
  writeFileSync(file, dump(doc), { mode: 0o600 });
}

function dispatcherOf(app: BulwarkApp): WebhookDispatcher {
  return new WebhookDispatcher({ store: app.store.notifications, config: app.config.notifications, logger: app.logger });
}

/** Runs dispatcher rounds until `done` (each round waits out the short test backoff). */
async function deliverUntil(dispatcher: WebhookDispatcher, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) {
    await dispatcher.runOnce();
    if (!done()) await sleep(15);
  }
  expect(done(), 'deliveries did not complete').to.equal(true);
}

/** Every file below `dir` but the catalog (which stores the secret so it can sign), as text. */
function homeText(dir: string): string {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((rel) => join(dir, rel))
    .filter((p) => statSync(p).isFile() && !/catalog\.db/.test(p))
    .map((p) => readFileSync(p, 'latin1'))
    .join('\n');
}

describe('notifications: signed webhooks of operation outcomes, from the catalog outbox', function () {
  this.timeout(120_000);
  const home = tempDir('notify');
  const receiver = new Receiver();
  let a: ApiApp;
  let url = '';
  let tokenP = '';
  let tokenQ = '';

  const open = async () => {
    a = await openApiApp(home.path);
    url = await a.api.listen({ port: 0, host: '127.0.0.1' });
    tokenP = await a.token('p');
    tokenQ = await a.token('q');
  };
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'x-auth-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Body };
  };
  const subscribe = (filter: Record<string, unknown>, target = `http://127.0.0.1:${receiver.port}/hook`) =>
    call('POST', '/v1/p/subscriptions', tokenP, { subscription: { target: { type: 'webhook', url: target }, filter } });
  const protect = async (name: string, fail: boolean) => {
    const ctx = { projectId: 'p', admin: false };
    const plan = await a.app.manager.createPlan(ctx, {
      name,
      provider_id: TEST_PROVIDER_ID,
      resources: [{ type: 'test.recorder', id: name }],
      parameters: { 'test.recorder': fail ? { fail_hook: 'main' } : {} },
    });
    const { record } = await (await a.app.manager.protect(ctx, plan.id)).done;
    return { plan, record };
  };
  const deleteAll = async () => {
    for (const s of (await call('GET', '/v1/p/subscriptions', tokenP)).body.subscriptions as { id: string }[])
      await call('DELETE', `/v1/p/subscriptions/${s.id}`, tokenP);
  };

  before(async () => {
    configure(home.path);
    writeRecorderProvider(home.path);
    process.env.BWK_NOTIFY_PG_PASSWORD = DB_PASSWORD;
    writePgProvider(home.path, { passwordEnv: 'BWK_NOTIFY_PG_PASSWORD' });
    await receiver.start();
    await open();
  });
  after(async () => {
    await a?.close();
    await receiver.stop();
    delete process.env.BWK_NOTIFY_PG_PASSWORD;
    home.cleanup();
  });
  afterEach(async () => {
    await deleteAll();
    receiver.requests.length = 0;
    receiver.script = [];
  });

  it('refuses link-local, metadata and unlisted loopback URLs with a coded error, storing nothing', async () => {
    for (const target of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]/',
      'http://127.0.0.2:8080/',
      'http://localhost/',
      'http://metadata.google.internal/',
      'http://user:pw@example.com/',
      'file:///etc/passwd',
    ]) {
      const res = await subscribe({}, target);
      expect(res.status, target).to.equal(400);
      expect(res.body.code, target).to.equal('BWK_ERR_WEBHOOK_URL_REFUSED');
    }
    expect((await call('GET', '/v1/p/subscriptions', tokenP)).body.subscriptions).to.deep.equal([]);
  });

  it('shows the secret once, and keeps another project out (404)', async () => {
    const created = await subscribe({ kinds: ['protect'], outcomes: ['error'] });
    expect(created.status).to.equal(201);
    const sub = created.body.subscription as { id: string; secret: string };
    expect(sub.secret).to.match(/^bwkwh_[A-Za-z0-9_-]{43}$/);
    const shown = await call('GET', `/v1/p/subscriptions/${sub.id}`, tokenP);
    expect(shown.status).to.equal(200);
    expect(shown.body.subscription).to.not.have.property('secret');
    expect(shown.body.subscription.filter).to.deep.equal({ kinds: ['protect'], outcomes: ['error'], plan_ids: [] });
    const listed = await call('GET', '/v1/p/subscriptions', tokenP);
    expect(JSON.stringify(listed.body)).to.not.include(sub.secret);
    for (const [method, path] of [
      ['GET', `/v1/q/subscriptions/${sub.id}`],
      ['GET', `/v1/q/subscriptions/${sub.id}/deliveries`],
      ['DELETE', `/v1/q/subscriptions/${sub.id}`],
    ] as const) {
      const res = await call(method, path, tokenQ);
      expect(res.status, `${method} ${path}`).to.equal(404);
      expect(res.body.code).to.equal('BWK_ERR_SUBSCRIPTION_NOT_FOUND');
    }
    expect((await call('GET', '/v1/q/subscriptions', tokenQ)).body.subscriptions).to.deep.equal([]);
    expect((await call('GET', `/v1/p/subscriptions/${sub.id}`, tokenP)).status).to.equal(200);
    const bad = await subscribe({ kinds: ['explode'] });
    expect(bad.status).to.equal(400);
  });

  it('delivers exactly one signed CloudEvent per matching outcome, later and once while the receiver answers 500', async () => {
    const sub = (await subscribe({ kinds: ['protect'], outcomes: ['error'] })).body.subscription as { id: string; secret: string };
    receiver.script = [500, 500, 503];
    const failed = await protect('fails', true);
    const ok = await protect('works', false);
    expect(failed.record.status).to.equal('error');
    expect(ok.record.status).to.equal('available');
    const dispatcher = dispatcherOf(a.app);
    await deliverUntil(dispatcher, () => receiver.accepted.length >= 1);
    // Nothing more is owed: further rounds claim nothing and send nothing.
    for (let i = 0; i < 3; i++) expect(await dispatcher.runOnce()).to.equal(0);
    expect(receiver.requests.map((r) => r.answered)).to.deep.equal([500, 500, 503, 200]);
    expect(new Set(receiver.requests.map((r) => r.body)).size, 'every attempt sends the same bytes').to.equal(1);
    const [got] = receiver.accepted;
    const expected = 'sha256=' + createHmac('sha256', sub.secret).update(got!.body).digest('hex');
    expect(got!.headers['x-bulwark-signature']).to.equal(expected);
    expect(got!.headers['content-type']).to.equal('application/cloudevents+json');
    const event = JSON.parse(got!.body) as { data: Record<string, unknown> } & Record<string, unknown>;
    expect(event).to.include({ specversion: '1.0', type: 'org.bulwark.operation.protect.error', source: '/bulwark/projects/p' });
    expect(event.data).to.include({
      kind: 'protect',
      status: 'error',
      project_id: 'p',
      plan_id: failed.plan.id,
      checkpoint_id: failed.record.id,
    });
    expect(String(event.data.reason)).to.include('failed on purpose');
    const log = await call('GET', `/v1/p/subscriptions/${sub.id}/deliveries`, tokenP);
    expect(log.body.deliveries).to.have.length(1);
    expect(log.body.deliveries[0]).to.include({ status: 'delivered', attempts: 4, last_status_code: 200, next_attempt_at: null });
  });

  it('keeps what is owed across a restart, and two dispatchers send it once', async () => {
    const sub = (await subscribe({ outcomes: ['available'] })).body.subscription as { id: string; secret: string };
    await protect('before-restart', false);
    // The service stops before any dispatcher ran: the delivery is only in the catalog's outbox.
    await a.close();
    await open();
    const pending = await call('GET', `/v1/p/subscriptions/${sub.id}/deliveries`, tokenP);
    expect(pending.body.deliveries).to.have.length(1);
    expect(pending.body.deliveries[0]).to.include({ status: 'pending', attempts: 0 });
    const [one, two] = [dispatcherOf(a.app), dispatcherOf(a.app)];
    const claimed = (await Promise.all([one.runOnce(), two.runOnce()])).reduce((x, y) => x + y, 0);
    expect(claimed).to.equal(1);
    expect(receiver.accepted).to.have.length(1);
    expect(await one.runOnce()).to.equal(0);
    expect(await two.runOnce()).to.equal(0);
    const event = JSON.parse(receiver.accepted[0]!.body) as { data: { status: string } };
    expect(event.data.status).to.equal('available');
  });

  it('disables the subscription when the receiver answers 410, and sends it nothing more', async () => {
    const sub = (await subscribe({})).body.subscription as { id: string };
    receiver.script = [410];
    await protect('gone-1', false);
    const dispatcher = dispatcherOf(a.app);
    await deliverUntil(dispatcher, () => receiver.requests.length >= 1);
    const shown = (await call('GET', `/v1/p/subscriptions/${sub.id}`, tokenP)).body.subscription as Record<string, unknown>;
    expect(shown.status).to.equal('disabled');
    await protect('gone-2', false);
    for (let i = 0; i < 3; i++) await dispatcher.runOnce();
    expect(receiver.requests).to.have.length(1);
    const log = await call('GET', `/v1/p/subscriptions/${sub.id}/deliveries`, tokenP);
    expect(log.body.deliveries).to.have.length(1);
    expect(log.body.deliveries[0]).to.include({ status: 'dropped', last_status_code: 410 });
  });

  it('no subscription secret reaches a payload, a response after creation, or any file of the home but the catalog', async () => {
    const sub = (await subscribe({})).body.subscription as { id: string; secret: string };
    receiver.script = [500];
    await protect('secret-check', true);
    await deliverUntil(dispatcherOf(a.app), () => receiver.accepted.length >= 1);
    for (const r of receiver.requests) expect(r.body).to.not.include(sub.secret);
    const log = await call('GET', `/v1/p/subscriptions/${sub.id}/deliveries`, tokenP);
    expect(JSON.stringify(log.body)).to.not.include(sub.secret);
    expect(homeText(home.path)).to.not.include(sub.secret);
  });

  it('a database failure is delivered with its reason, and neither the database password nor the secret is in it', async function () {
    requireService(this, 'PostgreSQL', pgUrl());
    const sub = (await subscribe({ outcomes: ['error'] })).body.subscription as { id: string; secret: string };
    const ctx = { projectId: 'p', admin: false };
    const database = uniqueName('bwk_notify');
    await createDb(database);
    const plan = await a.app.manager.createPlan(ctx, {
      name: 'pg-gone',
      provider_id: PG_PROVIDER_ID,
      resources: [{ type: 'postgres.database', id: `main/${database}` }],
    });
    // Gone before the protect: it fails at the database, with the database's own reason.
    await dropDb(database);
    const { record } = await (await a.app.manager.protect(ctx, plan.id)).done;
    expect(record.status).to.equal('error');
    await deliverUntil(dispatcherOf(a.app), () => receiver.accepted.length >= 1);
    const body = receiver.accepted[0]!.body;
    expect((JSON.parse(body) as { data: { plan_id: string } }).data.plan_id).to.equal(plan.id);
    expect(String((JSON.parse(body) as { data: { reason: string } }).data.reason)).to.include(database);
    expect(body).to.not.include(DB_PASSWORD);
    expect(body).to.not.include(sub.secret);
    expect(homeText(home.path)).to.not.include(DB_PASSWORD);
  });
});
