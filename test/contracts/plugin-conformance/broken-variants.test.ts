import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaseResult, ConformanceFixtures } from '../../../src/plugin-kit/index.js';
import { PROMISES, runPluginConformance } from '../../../src/plugin-kit/index.js';
import { filePlugin, type Flaw } from './file-plugin.js';

/** A file of 4 MiB (so protect streams many pieces) with the password its options name. */
function fileFixtures(): ConformanceFixtures & { password: string } {
  const password = `bwk-secret-${randomBytes(12).toString('hex')}`;
  const root = fs.mkdtempSync(join(tmpdir(), 'bwk-broken-'));
  const source = join(root, 'data', 'payload.bin');
  fs.mkdirSync(join(root, 'data'));
  fs.writeFileSync(source, randomBytes(4 * 1024 * 1024));
  const original = fs.readFileSync(source);
  process.env.BWK_BROKEN_VARIANT_PASSWORD = password;
  return {
    password,
    options: { password_env: 'BWK_BROKEN_VARIANT_PASSWORD' },
    source: async () => ({ type: 'kit.file', id: source, name: 'payload.bin' }),
    listParameters: { directory: join(root, 'data') },
    missingId: join(root, 'nothing-here'),
    secrets: [password],
    async destination(label) {
      const place = fs.mkdtempSync(join(root, `restore-${label}-`));
      const target = join(place, 'restored.bin');
      return {
        parameters: { target_path: target },
        written: async () => fs.readdirSync(place).length > 0,
        async expectEqualToSource() {
          if (!fs.readFileSync(target).equals(original)) throw new Error(`${target} differs from the source`);
        },
      };
    },
    cleanup: async () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

const failed = (results: CaseResult[]) => results.filter((r) => r.outcome === 'fail');

/**
 * The suite catches broken plugins: run programmatically against an honest plugin it passes whole;
 * against each deliberately broken variant exactly the promise that variant breaks fails, and the
 * failure message names it.
 */
describe('the conformance suite against broken plugins', function () {
  this.timeout(300_000);

  it('passes the honest plugin on every promise', async () => {
    const results = await runPluginConformance(filePlugin(), fileFixtures());
    expect(failed(results), JSON.stringify(failed(results), null, 2)).to.deep.equal([]);
    expect(results.map((r) => r.promise)).to.include.members(Object.values(PROMISES).filter((p) => p !== PROMISES.storesNothing));
  });

  const variants: [Flaw, string, string, RegExp][] = [
    [
      'skips-restore-hash',
      'skips the hash check on restore',
      PROMISES.restoreChecks,
      /restore succeeded with byte \d+ of stored object "content" changed/,
    ],
    ['ignores-cancellation', 'ignores cancellation', PROMISES.cancel, /protect went on writing after cancellation/],
    ['saves-password', 'writes its password into saved info', PROMISES.secrets, /configured secret #1 appears in saved info/],
    ['deletes-part', 'deletes only part of its data', PROMISES.delete, /delete left 1 of 2 stored objects: meta\.json/],
  ];
  for (const [flaw, what, promise, detail] of variants) {
    it(`fails a plugin that ${what} on "${promise}" only`, async () => {
      const results = await runPluginConformance(filePlugin([flaw]), fileFixtures());
      const failures = failed(results);
      expect(
        failures.map((f) => f.promise),
        JSON.stringify(failures, null, 2),
      ).to.deep.equal([promise]);
      expect(failures[0]!.message).to.include(`promise broken: ${promise}: `);
      expect(failures[0]!.message).to.match(detail);
    });
  }
});
