/**
 * E-mail notifications (issue 22): an SMTP sink started here (smtp-server, in this process) receives
 * one plain-text message for a burst of failures, through the relay settings of bulwark.yaml with
 * the password read from its variable; real protects through the recorder plugin, real catalog.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';
import { SMTPServer } from 'smtp-server';
import { WebhookDispatcher } from '../../src/notifications/dispatcher.js';
import { openApiApp, type ApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';
import { TEST_PROVIDER_ID, writeRecorderProvider } from '../helpers/test-provider.js';

const SMTP_PASSWORD = 'smtp-relay-password-of-the-test-91ab';

interface Mail {
  from: string;
  to: string[];
  raw: string;
  user: string | undefined;
}

describe('notifications: e-mail through an SMTP relay, a burst in one message', function () {
  this.timeout(120_000);
  const home = tempDir('notify-email');
  const mails: Mail[] = [];
  let smtp: SMTPServer;
  let a: ApiApp;

  before(async () => {
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, cb) {
        if (auth.username === 'bulwark' && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as { port: number }).port;
    allowAll(home.path, ['p']);
    const file = join(home.path, 'bulwark.yaml');
    const doc = load(readFileSync(file, 'utf8')) as Record<string, unknown>;
    doc.notifications = {
      retry: { max_attempts: 5, initial_delay_ms: 10, max_delay_ms: 20 },
      email: {
        smtp_host: '127.0.0.1',
        smtp_port: port,
        smtp_tls: 'none',
        smtp_user: 'bulwark',
        password_env: 'BWK_NOTIFY_SMTP_PASSWORD',
        from: 'bulwark@example.com',
        // Nothing is sent until the test's rounds say so: the burst is what is queued by then.
        batch_ms: 0,
        console_url: 'https://bulwark.example.com/console/',
      },
    };
    writeFileSync(file, dump(doc), { mode: 0o600 });
    process.env.BWK_NOTIFY_SMTP_PASSWORD = SMTP_PASSWORD;
    writeRecorderProvider(home.path);
    a = await openApiApp(home.path);
  });
  after(async () => {
    await a?.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    delete process.env.BWK_NOTIFY_SMTP_PASSWORD;
    home.cleanup();
  });

  it('sends one message for two failures, saying what failed, why, what to do, with a console link', async () => {
    const token = await a.token('p');
    const res = await a.api.inject({
      method: 'POST',
      url: '/v1/p/subscriptions',
      headers: { 'x-auth-token': token },
      payload: {
        subscription: { target: { type: 'email', addresses: ['ops@example.com', 'dba@example.com'] }, filter: { outcomes: ['error'] } },
      },
    });
    expect(res.statusCode, res.body).to.equal(201);
    const sub = (JSON.parse(res.body) as { subscription: { id: string; secret: string; addresses: string[] } }).subscription;
    expect(sub.addresses).to.deep.equal(['ops@example.com', 'dba@example.com']);

    const ctx = { projectId: 'p', admin: false };
    const failed: { plan: string; checkpoint: string }[] = [];
    for (const name of ['nightly-a', 'nightly-b', 'fine']) {
      const plan = await a.app.manager.createPlan(ctx, {
        name,
        provider_id: TEST_PROVIDER_ID,
        resources: [{ type: 'test.recorder', id: name }],
        parameters: { 'test.recorder': name === 'fine' ? {} : { fail_hook: 'main' } },
      });
      const { record } = await (await a.app.manager.protect(ctx, plan.id)).done;
      if (name !== 'fine') failed.push({ plan: plan.id, checkpoint: record.id });
    }

    const dispatcher = new WebhookDispatcher({
      store: a.app.store.notifications,
      config: a.app.config.notifications,
      logger: a.app.logger,
    });
    expect(await dispatcher.runOnce()).to.be.greaterThan(0);
    expect(await dispatcher.runOnce()).to.equal(0);
    expect(mails).to.have.length(1);
    const [mail] = mails;
    expect(mail!.user).to.equal('bulwark');
    expect(mail!.from).to.equal('bulwark@example.com');
    expect(mail!.to).to.deep.equal(['ops@example.com', 'dba@example.com']);
    const raw = mail!.raw.replace(/=\r?\n/g, ''); // undo quoted-printable soft line breaks
    expect(raw).to.match(/^Subject: Bulwark: 2 operations ended in project p \(2 failed\)/m);
    for (const f of failed) {
      expect(raw).to.include(`Plan: ${f.plan}`);
      expect(raw).to.include(`Checkpoint: ${f.checkpoint}`);
      expect(raw).to.include(`https://bulwark.example.com/console/#/checkpoints/${TEST_PROVIDER_ID}/${f.checkpoint}`);
      expect(raw).to.include(`bulwark checkpoint create --plan ${f.plan}`);
    }
    expect(raw).to.include('failed on purpose');
    expect(raw).to.not.include(SMTP_PASSWORD);
    expect(raw).to.not.include(sub.secret);

    const log = await a.api.inject({ method: 'GET', url: `/v1/p/subscriptions/${sub.id}/deliveries`, headers: { 'x-auth-token': token } });
    const deliveries = (JSON.parse(log.body) as { deliveries: { status: string; attempts: number }[] }).deliveries;
    expect(deliveries.map((d) => [d.status, d.attempts])).to.deep.equal([
      ['delivered', 1],
      ['delivered', 1],
    ]);
  });

  it('holds a failure for the batch window, then sends what gathered in it together', async () => {
    mails.length = 0;
    const ctx = { projectId: 'p', admin: false };
    const { config } = a.app;
    const dispatcherWith = (batch_ms: number) =>
      new WebhookDispatcher({
        store: a.app.store.notifications,
        config: { ...config.notifications, email: { ...config.notifications.email, batch_ms } },
        logger: a.app.logger,
      });
    const protectFailing = async (name: string) => {
      const plan = await a.app.manager.createPlan(ctx, {
        name,
        provider_id: TEST_PROVIDER_ID,
        resources: [{ type: 'test.recorder', id: name }],
        parameters: { 'test.recorder': { fail_hook: 'main' } },
      });
      await (
        await a.app.manager.protect(ctx, plan.id)
      ).done;
    };
    const hourly = dispatcherWith(3_600_000);
    await protectFailing('burst-1');
    expect(await hourly.runOnce(), 'younger than the window: held').to.equal(0);
    await protectFailing('burst-2');
    expect(await hourly.runOnce()).to.equal(0);
    expect(mails).to.have.length(0);
    // Once the first is older than the window (a window of 0 here), both go in one message.
    await dispatcherWith(0).runOnce();
    expect(mails).to.have.length(1);
    expect(mails[0]!.raw).to.match(/^Subject: Bulwark: 2 operations ended in project p \(2 failed\)/m);
  });

  it('refuses addresses that could add headers or recipients', async () => {
    const token = await a.token('p');
    for (const address of [
      'ops@example.com\r\nBcc: x@evil.example',
      'Ops <ops@example.com>',
      'ops@example.com, x@evil.example',
      'no-at-sign',
    ]) {
      const res = await a.api.inject({
        method: 'POST',
        url: '/v1/p/subscriptions',
        headers: { 'x-auth-token': token },
        payload: { subscription: { target: { type: 'email', addresses: [address] } } },
      });
      expect(res.statusCode, address).to.equal(400);
      expect((JSON.parse(res.body) as { code: string }).code).to.equal('BWK_ERR_INVALID_INPUT');
    }
  });
});
