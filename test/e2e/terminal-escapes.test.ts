import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalogStore } from '../../src/store/factory.js';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { hasRawControl } from '../helpers/raw-control.js';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
/** Clears the screen, sets the window title, then forges a table row on a line of its own; ends with a C1 CSI. */
const EVIL = 'www\x1b[2J\x1b]0;owned\x07\r\nfake-id  forged-row\u009b31m\u202e';

/** Issue 14 (5): user-given text reaches a terminal only as visible escapes, and names refuse control characters. */
describe('e2e: control characters in names never reach the terminal raw', function () {
  this.timeout(120_000);
  const home = tempDir('home');
  const work = tempDir('work');
  const source = join(work.path, 'data');
  let oldPlanId = '';

  before(async () => {
    mkdirSync(source);
    writeFileSync(join(source, 'f.txt'), 'content\n');
    // An "old" record, stored before names were checked: straight into the catalog, as creation now refuses it.
    const store = await openCatalogStore('sqlite:catalog.db', home.path);
    oldPlanId = randomUUID();
    const now = new Date().toISOString();
    await store.createPlan({
      id: oldPlanId,
      project_id: 'default',
      name: EVIL,
      description: `desc ${EVIL}`,
      provider_id: FS_PROVIDER,
      status: 'suspended',
      resources: [{ type: 'fs.directory', id: source, name: EVIL }],
      parameters: {},
      created_at: now,
      updated_at: now,
    });
    await store.close();
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  it('plan list (table) shows the name escaped, on one row', async () => {
    const r = await runCli(home.path, ['plan', 'list'], { json: false });
    expect(r.code, r.stderr).to.equal(0);
    // Line feeds end lines; the rows below show no name added any.
    expect(hasRawControl(r.stdout, ['\n'])).to.equal(false);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows).to.have.length(3); // header, rule, the one plan: no forged row
    expect(rows[2]).to.contain(oldPlanId).and.contain('www\\x1b[2J\\x1b]0;owned\\x07\\r\\nfake-id');
  });

  it('plan show (table) shows name, description and resources escaped', async () => {
    const r = await runCli(home.path, ['plan', 'show', oldPlanId], { json: false });
    expect(r.code, r.stderr).to.equal(0);
    // Line feeds end lines (the resources' JSON is indented); the name's own are escaped.
    expect(hasRawControl(r.stdout, ['\n'])).to.equal(false);
    expect(r.stdout).to.match(/^name +www\\x1b\[2J/m);
    expect(r.stdout).to.contain('desc www\\x1b');
    // The resources are JSON: its escapes, and \u009b for the C1 character JSON.stringify leaves raw.
    expect(r.stdout).to.contain('\\u001b[2J').and.contain('\\u009b31m').and.contain('\\u202e');
  });

  it('-o json keeps the exact value, with C1 and bidi characters as JSON escapes', async () => {
    for (const args of [
      ['plan', 'list'],
      ['plan', 'show', oldPlanId],
    ]) {
      const r = await runCli(home.path, args);
      expect(r.code, r.stderr).to.equal(0);
      expect(hasRawControl(r.stdout, ['\n'])).to.equal(false);
      const doc = r.json<{ name: string } | Array<{ name: string }>>();
      expect(Array.isArray(doc) ? doc[0]!.name : doc.name).to.equal(EVIL);
    }
  });

  it('plan create refuses a name with ESC, OSC, CR or LF with BWK_ERR_CONTROL_CHARACTER, storing nothing', async () => {
    const before = await cliJson<Array<{ id: string }>>(home.path, ['plan', 'list']);
    for (const name of ['a\x1b[2Jb', 'a\x1b]0;title\x07', 'a\rb', 'a\nb', 'a\u009bb']) {
      const r = await runCli(home.path, [
        'plan',
        'create',
        '--name',
        name,
        '--provider',
        'fs-directory',
        '--resource',
        `fs.directory=${source}`,
      ]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.error().code).to.equal('BWK_ERR_CONTROL_CHARACTER');
      expect(hasRawControl(r.stderr.replace(/\n$/, ''))).to.equal(false);
    }
    const description = await runCli(home.path, [
      'plan',
      'create',
      '--name',
      'ok',
      '--description',
      'x\x1b]0;t\x07',
      '--provider',
      'fs-directory',
      '--resource',
      `fs.directory=${source}`,
    ]);
    expect(description.error().code).to.equal('BWK_ERR_CONTROL_CHARACTER');
    expect(await cliJson<Array<{ id: string }>>(home.path, ['plan', 'list'])).to.deep.equal(before);
  });

  it('a table-mode error that echoes the name shows it escaped on stderr', async () => {
    const r = await runCli(
      home.path,
      ['plan', 'create', '--name', 'a\x1b[2J', '--provider', 'fs-directory', '--resource', `fs.directory=${source}`],
      { json: false },
    );
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^error: plan name holds the control character \\x1b \(character 2\)/);
    expect(hasRawControl(r.stderr.replace(/\n$/, ''))).to.equal(false);
  });

  it('an old plan with such a name can still be updated without renaming it, and renamed to a clean name', async () => {
    const suspended = await cliJson<{ name: string }>(home.path, ['plan', 'update', oldPlanId, '--status', 'started']);
    expect(suspended.name).to.equal(EVIL);
    const refused = await runCli(home.path, ['plan', 'update', oldPlanId, '--name', 'b\nc']);
    expect(refused.error().code).to.equal('BWK_ERR_CONTROL_CHARACTER');
    const renamed = await cliJson<{ name: string }>(home.path, ['plan', 'update', oldPlanId, '--name', 'www', '--description', 'clean']);
    expect(renamed.name).to.equal('www');
  });
});
