import { expect } from 'chai';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { privacyWarnings } from '../../src/common/private-files.js';
import { tempDir } from '../helpers/paths.js';

describe('privacy warnings for the home and banks', () => {
  const t = tempDir('privacy');
  after(() => t.cleanup());

  it('warns once for a loose home and a loose bank outside it, quoting paths for the shell; not for private ones', () => {
    const home = join(t.path, 'home');
    const outside = join(t.path, "it's a bank");
    mkdirSync(join(home, 'bank'), { recursive: true });
    mkdirSync(outside);
    chmodSync(home, 0o750);
    chmodSync(join(home, 'bank'), 0o755);
    chmodSync(outside, 0o705);
    const warnings = privacyWarnings(home, [join(home, 'bank'), outside, outside]);
    const risk = 'other local users may read what Bulwark keeps there';
    expect(warnings).to.deep.equal([
      `Bulwark home ${home} is mode 0750: ${risk}; run: chmod 700 ${home}`,
      `bank directory ${outside} is mode 0705: ${risk}; run: chmod 700 '${t.path}/it'\\''s a bank'`,
    ]);
    chmodSync(home, 0o700);
    chmodSync(outside, 0o700);
    expect(privacyWarnings(home, [join(home, 'bank'), outside, join(t.path, 'missing')])).to.deep.equal([]);
  });
});
