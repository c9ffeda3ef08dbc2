import { expect } from 'chai';
import Fastify from 'fastify';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CONSOLE_DIR, consoleRoutes, loadConsoleFiles } from '../../src/api/console.js';
import { openApiApp, type ApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';

/**
 * The web console's files as the API serves them: a fixed set read from dist/console at start-up,
 * with a CSP that allows only this origin's script and style, and no way to reach another file.
 */
describe('REST API: the web console files', function () {
  this.timeout(60_000);
  const home = tempDir('api-console');
  let app: ApiApp;
  let api: FastifyInstance;

  before(async () => {
    app = await openApiApp(home.path);
    api = app.api;
  });
  after(async () => {
    await app?.close();
    home.cleanup();
  });

  it('serves the page at / with a CSP of this origin only, and the page has no inline script or style', async () => {
    const r = await api.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).to.equal(200);
    expect(r.headers['content-type']).to.match(/^text\/html/);
    const csp = String(r.headers['content-security-policy']);
    expect(csp).to.include("default-src 'none'").and.include("script-src 'self'").and.include("frame-ancestors 'none'");
    expect(csp).not.to.include('unsafe');
    expect(r.headers['x-content-type-options']).to.equal('nosniff');
    expect(r.headers['x-frame-options']).to.equal('DENY');
    const scripts = [...r.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length, 'script tags').to.equal(1);
    for (const [, attrs, body] of scripts) {
      expect(attrs).to.match(/src="\/console\/app\.js"/);
      expect(body!.trim(), 'inline script').to.equal('');
    }
    expect(r.body).not.to.match(/<style|\sstyle=|\son[a-z]+=|https?:\/\//i);
  });

  it('serves the bundle and style sheet read from dist/console, with the same headers', async () => {
    for (const [file, type] of [
      ['app.js', /^text\/javascript/],
      ['app.css', /^text\/css/],
    ] as const) {
      const r = await api.inject({ method: 'GET', url: `/console/${file}` });
      expect(r.statusCode, file).to.equal(200);
      expect(r.headers['content-type']).to.match(type);
      expect(r.headers['content-security-policy']).to.include("script-src 'self'");
      expect(r.rawPayload.equals(readFileSync(join(CONSOLE_DIR, file))), `${file} as built`).to.equal(true);
    }
  });

  it('reaches no other file: traversal, encoded separators and unknown names are a coded 404', async () => {
    const urls = [
      '/console/..%2Fpackage.json',
      '/console/%2e%2e%2f%2e%2e%2fpackage.json',
      '/console/..%5c..%5cpackage.json',
      '/console/../../package.json',
      '/console/app.js%00.css',
      '/console/app.js.map',
      '/console/.%2Fapp.js',
      '/console/',
      '/console/app.js/..',
      '/console%2Fapp.js',
      '/package.json',
    ];
    for (const url of urls) {
      const r = await api.inject({ method: 'GET', url });
      expect(r.statusCode, url).to.be.oneOf([400, 404]);
      expect((JSON.parse(r.body) as { code: string }).code, url).to.match(/^BWK_ERR_(NOT_FOUND|INVALID_INPUT)$/);
      expect(r.body, url).not.to.include('"devDependencies"');
    }
  });

  it('adds no authority: /v1 still needs a token', async () => {
    const r = await api.inject({ method: 'GET', url: '/v1/identity' });
    expect(r.statusCode).to.equal(401);
  });

  it('takes only regular files of known types from its directory: no symlink, no subdirectory', async () => {
    const dir = join(home.path, 'console-dir');
    mkdirSync(join(dir, 'sub.js'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(dir, 'notes.txt'), 'not served');
    writeFileSync(join(home.path, 'secret.js'), 'secret');
    symlinkSync(join(home.path, 'secret.js'), join(dir, 'linked.js'));
    expect([...loadConsoleFiles(dir).keys()]).to.deep.equal(['index.html']);
  });

  it('says the console is not built when its directory is missing, and still serves nothing else', async () => {
    const bare = Fastify();
    consoleRoutes(bare, loadConsoleFiles(join(home.path, 'missing')));
    const r = await bare.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).to.equal(404);
    expect(JSON.parse(r.body)).to.include({ code: 'BWK_ERR_NOT_FOUND' });
    expect(r.body).to.include('not built');
    await bare.close();
  });
});
