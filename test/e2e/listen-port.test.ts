import { expect } from 'chai';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';

/** Both listening commands check --port the same way, before they open anything. */
describe('e2e: --port of serve and api', function () {
  this.timeout(60_000);
  const home = tempDir('port');
  after(() => home.cleanup());

  for (const bad of ['70000', 'abc', '-1', '80.5', '']) {
    it(`refuses --port "${bad}" with the same coded error from serve and api`, async () => {
      const [serve, api] = await Promise.all([runCli(home.path, ['serve', '--port', bad]), runCli(home.path, ['api', '--port', bad])]);
      for (const r of [serve, api]) {
        expect(r.code, r.stderr).to.equal(1);
        expect(r.error().code).to.equal('BWK_ERR_INVALID_INPUT');
        expect(r.error().message).to.contain('--port must be a whole number from 0 to 65535');
      }
      expect(api.error()).to.deep.equal(serve.error());
    });
  }
});
