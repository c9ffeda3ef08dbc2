import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openBulwark } from '../../src/processes/app.js';
import { buildFlowGraph, dependentsOf, flowTaskId } from '../../src/core/flow-graph.js';
import { HOOK_NAMES } from '../../src/core/hooks.js';
import type { ResourceGraph } from '../../src/core/resource-graph.js';
import type { RequestContext } from '../../src/protection-manager/request.js';
import { RECORDER_PLUGIN, tempDir } from '../helpers/paths.js';

/**
 * The app.stack plugin through the real app: a provider of app.stack + the test.recorder plugin
 * (loaded by path), a stack db ← files, db ← cache, protected and restored with the local engine.
 * Ordering is read from the recorder's hook log (a line when a hook starts, `:end` when it returned).
 */
const PROVIDER_ID = '5a7c0de5-0000-4000-8000-0000000057ac';
const R = 'test.recorder';
type Stacks = Record<string, { resources: Array<{ type: string; id: string; depends_on?: string[] }> }>;

function writeStackProvider(home: string, stacks: Stacks, logFile: string): void {
  mkdirSync(join(home, 'providers'), { recursive: true });
  writeFileSync(
    join(home, 'providers', 'stack.yaml'),
    [
      `id: ${PROVIDER_ID}`,
      'name: shop-stack',
      'plugins:',
      '  - name: app.stack',
      `    options: ${JSON.stringify({ stacks })}`,
      '  - name: fs.directory',
      `  - name: ${R}`,
      `    module: ${JSON.stringify(RECORDER_PLUGIN)}`,
      `    options: ${JSON.stringify({ log_file: logFile, log_end: true })}`,
      'bank:',
      '  type: fs',
      '  options: {path: bank}',
      '',
    ].join('\n'),
  );
}

const SHOP: Stacks = {
  shop: {
    resources: [
      { type: R, id: 'db' },
      { type: R, id: 'files', depends_on: [`${R}#db`] },
      { type: R, id: 'cache', depends_on: [`${R}#db`] },
    ],
  },
  orphan: { resources: [{ type: 'noop', id: 'demo' }] },
};

describe('app.stack plugin: members ordered across families by their prepare and complete hooks', function () {
  this.timeout(60_000);
  const ctx: RequestContext = { projectId: 'default', admin: false };
  const home = tempDir('app-stack');
  const log = join(home.path, 'hooks.log');
  // A second family: the files of a site whose schema (a recorder resource standing in for a database) they need first.
  const data = tempDir('app-stack-data');
  const siteFiles = join(data.path, 'site-files');
  const site = {
    resources: [
      { type: R, id: 'schema' },
      { type: 'fs.directory', id: siteFiles, depends_on: [`${R}#schema`] },
    ],
  };
  let app: BulwarkApp;

  const lines = (kind: string) =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .filter(([k]) => k === kind)
      .map(([, id, hook]) => `${id} ${hook}`);
  const at = (entries: string[], entry: string): number => {
    const i = entries.indexOf(entry);
    expect(i, `${entry} is in the hook log`).to.be.greaterThan(-1);
    return i;
  };
  const expectBefore = (entries: string[], first: string, then: string) =>
    expect(at(entries, first), `${first} before ${then}`).to.be.lessThan(at(entries, then));
  const protectPlan = async (resources: Array<{ type: string; id: string }>) => {
    const plan = await app.manager.createPlan(ctx, { name: 'stack', provider_id: PROVIDER_ID, resources });
    return (await (await app.manager.protect(ctx, plan.id)).done).record;
  };
  const children = (graph: ResourceGraph | null | undefined) => Object.fromEntries((graph?.nodes ?? []).map((n) => [n.ref, n.children]));

  before(async () => {
    writeFileSync(log, '');
    mkdirSync(siteFiles);
    writeFileSync(join(siteFiles, 'index.html'), 'uses schema v2');
    writeStackProvider(home.path, { ...SHOP, site }, log);
    app = await openBulwark(home.path);
  });
  after(async () => {
    await app?.close();
    home.cleanup();
    data.cleanup();
  });

  it('lists the configured stacks as app.stack resources, with their members', async () => {
    const provider = app.providers.get(PROVIDER_ID);
    const stacks = await provider.protectables.get('app.stack')!.listResources({ projectId: 'default', parameters: {} });
    expect(stacks.map((s) => s.id)).to.deep.equal(['orphan', 'shop', 'site']);
    expect(stacks[1]!.extra_info).to.deep.equal({ members: [`${R}#db`, `${R}#files`, `${R}#cache`] });
    expect(provider.extendedInfoSchema().restore_schema['app.stack']).to.deep.equal({
      type: 'object',
      additionalProperties: false,
      properties: {},
    });
  });

  it('protect: the stack is the parent of its root, members depend on what they name; Karbor order holds across members', async () => {
    writeFileSync(log, '');
    const started: string[] = [];
    const stop = app.events.subscribe((e) => {
      if (e.type === 'task_started') started.push(e.task);
    });
    const record = await protectPlan([{ type: 'app.stack', id: 'shop' }]).finally(stop);
    expect(record.status, JSON.stringify(record.extra_info)).to.equal('available');
    expect(record.resource_graph?.roots).to.deep.equal(['app.stack#shop']);
    expect(children(record.resource_graph)).to.deep.equal({
      'app.stack#shop': [`${R}#db`],
      [`${R}#cache`]: [],
      [`${R}#db`]: [`${R}#cache`, `${R}#files`],
      [`${R}#files`]: [],
    });
    // The stack stores nothing and runs nothing: every task is a member's.
    expect(started.filter((t) => t.startsWith('app.stack#'))).to.deep.equal([]);
    expect(started).to.have.length(12);
    const entries = lines('protect');
    for (const child of ['files', 'cache']) {
      expectBefore(entries, 'db prepare_begin:end', `${child} prepare_begin`);
      expectBefore(entries, `${child} prepare_finish:end`, 'db prepare_finish');
      expectBefore(entries, `${child} complete:end`, 'db complete');
    }
    for (const id of ['db', 'files', 'cache']) {
      for (let i = 1; i < HOOK_NAMES.length; i++) expectBefore(entries, `${id} ${HOOK_NAMES[i - 1]}:end`, `${id} ${HOOK_NAMES[i]}`);
    }
  });

  it('restore: a parent whose restore work is in prepareBegin has finished it before any hook of a dependent starts', async () => {
    const checkpoint = await protectPlan([{ type: 'app.stack', id: 'shop' }]);
    writeFileSync(log, '');
    // db "restores" (here: takes 300 ms) in prepare_begin, as a database plugin would for files that reference it.
    const restore = await app.manager.restore(ctx, {
      checkpoint_id: checkpoint.id,
      parameters: { [`${R}#db`]: { delay_ms: 300, delay_hook: 'prepare_begin' } },
    });
    const record = (await restore.done).record;
    expect(record.status, JSON.stringify(record.resources_reason)).to.equal('success');
    const entries = lines('restore');
    const dbPrepared = at(entries, 'db prepare_begin:end');
    const dependentHooks = entries.filter((e) => /^(files|cache) /.test(e));
    expect(dependentHooks).to.have.length(16);
    for (const e of dependentHooks) expect(entries.indexOf(e), `${e} after db prepare_begin ended`).to.be.greaterThan(dbPrepared);
    for (const child of ['files', 'cache']) expectBefore(entries, `${child} complete:end`, 'db complete');
    expect((await (await app.manager.verify(ctx, { checkpoint_id: checkpoint.id })).done).record.status).to.equal('success');
  });

  it('the flow graph orders prepare_begin and complete across members, and leaves the mains unordered', async () => {
    const checkpoint = await protectPlan([{ type: 'app.stack', id: 'shop' }]);
    const flow = buildFlowGraph(checkpoint.resource_graph!, (ref) => (ref.startsWith('app.stack#') ? [] : HOOK_NAMES));
    const task = (id: string, hook: (typeof HOOK_NAMES)[number]) => flowTaskId(`${R}#${id}`, hook);
    const afterDbPrepare = dependentsOf(flow, task('db', 'prepare_begin'));
    for (const child of ['files', 'cache']) {
      for (const hook of HOOK_NAMES) expect(afterDbPrepare, `${child} ${hook} waits for db prepare_begin`).to.include(task(child, hook));
      expect(dependentsOf(flow, task(child, 'main'))).to.include(task('db', 'complete'));
      expect(dependentsOf(flow, task(child, 'main')), `${child} main does not wait for db main`).not.to.include(task('db', 'main'));
      expect(dependentsOf(flow, task('db', 'main')), `db main does not wait for ${child} main`).not.to.include(task(child, 'main'));
    }
  });

  it('across families: an fs.directory member is protected and restored after the prepare_begin of what it depends on', async () => {
    const events: string[] = [];
    const stop = app.events.subscribe((e) => {
      if (e.type === 'task_started' || e.type === 'task_succeeded') events.push(`${e.task} ${e.type}`);
    });
    const fsMain = `fs.directory#${siteFiles}|main`;
    try {
      const checkpoint = await protectPlan([{ type: 'app.stack', id: 'site' }]);
      expect(checkpoint.status, JSON.stringify(checkpoint.extra_info)).to.equal('available');
      expect(children(checkpoint.resource_graph)[`${R}#schema`]).to.deep.equal([`fs.directory#${siteFiles}`]);
      expectBefore(events, `${R}#schema|prepare_begin task_succeeded`, `${fsMain} task_started`);
      expectBefore(events, `${fsMain} task_succeeded`, `${R}#schema|complete task_started`);
      events.length = 0;
      const target = join(data.path, 'restored');
      const restore = await app.manager.restore(ctx, {
        checkpoint_id: checkpoint.id,
        parameters: { 'fs.directory': { target_path: target }, [`${R}#schema`]: { delay_ms: 200, delay_hook: 'prepare_begin' } },
      });
      expect((await restore.done).record.status).to.equal('success');
      expect(readFileSync(join(target, 'index.html'), 'utf8')).to.equal('uses schema v2');
      expectBefore(events, `${R}#schema|prepare_begin task_succeeded`, `${fsMain} task_started`);
    } finally {
      stop();
    }
  });

  it('a plan naming only a member still gets the members that depend on it (depends_on holds provider-wide)', async () => {
    const record = await protectPlan([{ type: R, id: 'db' }]);
    expect(record.status).to.equal('available');
    expect(record.resource_graph?.roots).to.deep.equal([`${R}#db`]);
    expect(children(record.resource_graph)[`${R}#db`]).to.deep.equal([`${R}#cache`, `${R}#files`]);
  });

  it('refuses a plan whose stack has a member of a type the provider does not protect, naming it', async () => {
    const err = await app.manager
      .createPlan(ctx, { name: 'orphan', provider_id: PROVIDER_ID, resources: [{ type: 'app.stack', id: 'orphan' }] })
      .then(
        () => null,
        (e: { code: string; message: string }) => e,
      );
    expect(err?.code).to.equal('BWK_ERR_PLAN_INVALID');
    expect(err?.message).to.include('noop#demo as a dependent of app.stack#orphan');
    expect(err?.message).to.include('protects no "noop" (supported: app.stack, fs.directory, test.recorder)');
  });

  it('refuses an unknown stack by name, listing the configured ones', async () => {
    const err = await app.manager
      .createPlan(ctx, { name: 'x', provider_id: PROVIDER_ID, resources: [{ type: 'app.stack', id: 'shopp' }] })
      .then(
        () => null,
        (e: { code: string; message: string }) => e,
      );
    expect(err?.code).to.equal('BWK_ERR_RESOURCE_NOT_FOUND');
    expect(err?.message).to.include('configured: orphan, shop, site');
  });
});

describe('app.stack plugin: options refused when the provider loads', function () {
  this.timeout(30_000);
  const refusal = async (stacks: Stacks): Promise<{ code: string; message: string } | null> => {
    const home = tempDir('app-stack-bad');
    try {
      writeStackProvider(home.path, stacks, join(home.path, 'hooks.log'));
      const app = await openBulwark(home.path).catch((e: { code: string; message: string }) => e);
      if ('close' in app) {
        await (app as BulwarkApp).close();
        return null;
      }
      return app;
    } finally {
      home.cleanup();
    }
  };
  const member = (id: string, ...deps: string[]) => ({ type: R, id, depends_on: deps.map((d) => `${R}#${d}`) });

  it('a cycle in depends_on, naming it', async () => {
    const err = await refusal({ loop: { resources: [member('a', 'c'), member('b', 'a'), member('c', 'b')] } });
    expect(err?.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err?.message).to.include(`provider ${PROVIDER_ID}, plugin "app.stack" options`);
    expect(err?.message).to.include(`depends_on has a cycle: ${R}#a → ${R}#c → ${R}#b → ${R}#a (each depends on the next)`);
  });

  it('a cycle made of two stacks, since their edges form one graph', async () => {
    const err = await refusal({ one: { resources: [member('a'), member('b', 'a')] }, two: { resources: [member('a', 'b'), member('b')] } });
    expect(err?.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err?.message).to.include(`depends_on has a cycle: ${R}#a → ${R}#b → ${R}#a`);
  });

  it('a depends_on naming nothing in the stack, a repeated member, a nested stack, a schema violation', async () => {
    const unknown = await refusal({ shop: { resources: [member('db'), member('files', 'dbb')] } });
    expect(unknown?.message).to.include(
      `stacks.shop.resources[1].depends_on: "${R}#dbb" is not a member of stack shop (members: ${R}#db, ${R}#files)`,
    );
    const twice = await refusal({ shop: { resources: [member('db'), member('db')] } });
    expect(twice?.message).to.include(`stacks.shop.resources[1]: ${R}#db is listed twice`);
    const nested = await refusal({ shop: { resources: [{ type: 'app.stack', id: 'other' }] } });
    expect(nested?.message).to.include('a stack cannot be a member of a stack');
    const noId = await refusal({ shop: { resources: [{ type: R } as { type: string; id: string }] } });
    expect(noId?.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(noId?.message).to.include('stacks.shop.resources[0]: missing required field "id"');
  });
});
