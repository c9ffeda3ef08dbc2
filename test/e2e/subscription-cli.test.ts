/**
 * `bulwark subscription ...` through the built CLI on a real home: the secret is printed once, the
 * metadata address is refused with a coded error (exit 1, nothing stored), another project's
 * subscription is not found.
 */
import { expect } from 'chai';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

describe('CLI: bulwark subscription', function () {
  this.timeout(120_000);
  const home = tempDir('subscription-cli');
  after(() => home.cleanup());

  it('creates, lists without the secret, shows its deliveries, refuses metadata URLs and deletes', async () => {
    const refused = await runCli(home.path, ['subscription', 'create', '--webhook', 'http://169.254.169.254/latest/meta-data/']);
    expect(refused.code).to.equal(1);
    expect(refused.error().code).to.equal('BWK_ERR_WEBHOOK_URL_REFUSED');
    expect((await runCli(home.path, ['subscription', 'list'])).json()).to.deep.equal([]);
    // No target, and e-mail without a relay configured: refused, saying what to do.
    expect((await runCli(home.path, ['subscription', 'create'])).error().code).to.equal('BWK_ERR_INVALID_INPUT');
    const noRelay = await runCli(home.path, ['subscription', 'create', '--email', 'ops@example.com']);
    expect(noRelay.code).to.equal(1);
    expect(noRelay.error().message).to.include('notifications.email.smtp_host');

    const created = await runCli(home.path, [
      'subscription',
      'create',
      '--webhook',
      'https://hooks.example.com/bulwark',
      '--kinds',
      'protect,verify',
      '--outcomes',
      'error,fail',
    ]);
    expect(created.code, created.stderr).to.equal(0);
    const sub = created.json<{ id: string; secret: string; filter: unknown; status: string }>();
    expect(sub.secret).to.match(/^bwkwh_/);
    expect(sub.filter).to.deep.equal({ kinds: ['protect', 'verify'], outcomes: ['error', 'fail'], plan_ids: [] });

    const listed = await runCli(home.path, ['subscription', 'list']);
    expect(listed.stdout).to.not.include(sub.secret);
    expect(listed.json<{ id: string }[]>().map((s) => s.id)).to.deep.equal([sub.id]);
    const shown = await runCli(home.path, ['subscription', 'show', sub.id]);
    expect(shown.json()).to.not.have.property('secret');
    expect((await runCli(home.path, ['subscription', 'deliveries', sub.id])).json()).to.deep.equal([]);

    const elsewhere = await runCli(home.path, ['subscription', 'show', sub.id, '--project', 'other']);
    expect(elsewhere.code).to.equal(1);
    expect(elsewhere.error().code).to.equal('BWK_ERR_SUBSCRIPTION_NOT_FOUND');
    const bad = await runCli(home.path, ['subscription', 'create', '--webhook', 'https://hooks.example.com/', '--outcomes', 'maybe']);
    expect(bad.code).to.equal(1);
    expect(bad.error().code).to.equal('BWK_ERR_INVALID_INPUT');

    expect((await runCli(home.path, ['subscription', 'delete', sub.id])).code).to.equal(0);
    expect((await runCli(home.path, ['subscription', 'list'])).json()).to.deep.equal([]);
  });
});
