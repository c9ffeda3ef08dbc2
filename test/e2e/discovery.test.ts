import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { pgUrl, requireService } from '../helpers/services.js';

/**
 * `bulwark protectable instances postgres.database --parameters '{"server":"main"}'` lists the real
 * databases of a server named in the operator's provider.
 */
describe('e2e: discovery of real databases', function () {
  this.timeout(60_000);
  const home = tempDir('discover');
  after(() => home.cleanup());

  it('lists the databases of server "main" from a home provider, not the built-in default', async function () {
    const url = new URL(requireService(this, 'PostgreSQL', pgUrl()));
    mkdirSync(join(home.path, 'providers'), { recursive: true });
    writeFileSync(
      join(home.path, 'providers', 'pg.yaml'),
      [
        'id: 7d1a6c0e-2b9f-4e3a-8c55-1f0e2d3c4b5a',
        'name: pg-main',
        'plugins:',
        '  - name: postgres',
        '    options:',
        '      servers:',
        `        main: {host: ${url.hostname}, port: ${url.port || 5432}, user: ${url.username || 'postgres'}}`,
        'bank: {type: fs}',
        '',
      ].join('\n'),
    );
    const list = await cliJson<Array<{ type: string; id: string; name: string }>>(home.path, [
      'protectable',
      'instances',
      'postgres.database',
      '--parameters',
      '{"server":"main"}',
    ]);
    const dbName = url.pathname.slice(1) || 'postgres';
    expect(list.map((r) => r.id)).to.include(`main/${dbName}`);
    expect(list.every((r) => r.type === 'postgres.database' && r.id.startsWith('main/'))).to.equal(true);
    expect(list.map((r) => r.name)).to.not.include('template0');
  });
});
