import { expect } from 'chai';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

interface ListedToken {
  id: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** `bulwark token create --expires-in` and `token list` as an operator runs them (issue 15). */
describe('CLI: token expiry', function () {
  this.timeout(60_000);
  const home = tempDir('token-cli');
  after(() => home.cleanup());

  it('refuses a bad --expires-in with a coded error and creates nothing', async () => {
    const r = await runCli(home.path, ['token', 'create', '--project', 'demo', '--role', 'member', '--expires-in', '12hours']);
    expect(r.code).to.equal(1);
    expect(r.error().code).to.equal('BWK_ERR_INVALID_DURATION');
    expect(r.error().message).to.include('--expires-in "12hours"');
    expect((await runCli(home.path, ['token', 'list'])).json<ListedToken[]>()).to.deep.equal([]);
  });

  it('stores the expiry, and token list shows it with last_used_at', async () => {
    const before = Date.now();
    const created = await runCli(home.path, ['token', 'create', '--project', 'demo', '--role', 'member', '--expires-in', '90d']);
    expect(created.code, created.stderr).to.equal(0);
    const { id, expires_at } = created.json<ListedToken>();
    const ninetyDays = 90 * 86_400_000;
    expect(Date.parse(expires_at!)).to.be.at.least(before + ninetyDays);
    const listed = (await runCli(home.path, ['token', 'list'])).json<ListedToken[]>();
    expect(listed.map(({ id: i, expires_at: e, last_used_at: u }) => ({ i, e, u }))).to.deep.equal([{ i: id, e: expires_at, u: null }]);
    const table = await runCli(home.path, ['token', 'list'], { json: false });
    expect(table.stdout).to.include('expires_at').and.to.include('last_used_at');
  });
});
