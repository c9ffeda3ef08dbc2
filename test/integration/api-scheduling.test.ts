import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import type { BulwarkApp } from '../../src/processes/app.js';
import { openApiApp } from '../helpers/api-app.js';
import { tempDir } from '../helpers/paths.js';
import { allowAll } from '../helpers/scopes.js';

const NOOP = 'b766f37c-d011-4026-8228-28730d734a3f';
const UNKNOWN = '0f0f0f0f-0000-4000-8000-000000000000';
/** Every five minutes: the test home's minimum interval (operation_engine.min_interval_ms). */
const EVERY_5 = '*/5 * * * *';

type Json = Record<string, unknown>;
type Trigger = { id: string; project_id: string; name: string; type: string; properties: Json };
type Operation = { id: string; name: string; status: string; enabled: boolean; operation_definition: Json; trigger_id: string };
type Log = { id: string; scheduled_operation_id: string | null; plan_id: string | null; status: string; operation_type: string };

/**
 * Triggers, scheduled operations and operation logs over REST in Karbor's shapes: bodies as Karbor's
 * client sends them (strings for numbers, `"properties": {}` on a rename), its list parameters,
 * tenancy, and the OpenAPI document.
 */
describe('REST API scheduling: triggers, scheduled operations, operation logs', function () {
  this.timeout(60_000);
  const home = tempDir('api-scheduling');
  let app: BulwarkApp;
  let api: FastifyInstance;
  let tokenA = '';
  let tokenB = '';
  let admin = '';
  let planId = '';

  const call = async (token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
    const r = await api.inject({
      method,
      url,
      headers: { 'x-auth-token': token },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as Json) : {} };
  };
  const a = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, payload?: unknown) =>
    call(tokenA, method, `/v1/proj-a${path}`, payload);
  const ok = <T>(r: { status: number; body: Json }, status: number, key: string): T => {
    expect(r.status, JSON.stringify(r.body)).to.equal(status);
    return r.body[key] as T;
  };
  const refused = (r: { status: number; body: Json }, status: number, code: string, mentions: string) => {
    expect(r.status, JSON.stringify(r.body)).to.equal(status);
    expect(r.body.code).to.equal(code);
    expect(r.body.message).to.include(mentions);
  };
  const newTrigger = async (name: string, properties: Json = { pattern: EVERY_5, format: 'crontab' }) =>
    ok<Trigger>(await a('POST', '/triggers', { trigger_info: { name, type: 'time', properties } }), 200, 'trigger_info');
  const newOperation = async (name: string, triggerId: string, extra: Json = {}) =>
    ok<Operation>(
      await a('POST', '/scheduled_operations', {
        scheduled_operation: {
          name,
          operation_type: 'protect',
          trigger_id: triggerId,
          operation_definition: { plan_id: planId, provider_id: NOOP },
          ...extra,
        },
      }),
      200,
      'scheduled_operation',
    );

  before(async () => {
    writeFileSync(join(home.path, 'bulwark.yaml'), dump({ operation_engine: { min_interval_ms: 300_000 } }));
    allowAll(home.path, ['proj-a', 'proj-b']);
    ({ app, api } = await openApiApp(home.path));
    tokenA = (await app.store.tokens.createToken({ project_id: 'proj-a', role: 'member' })).token;
    tokenB = (await app.store.tokens.createToken({ project_id: 'proj-b', role: 'member' })).token;
    admin = (await app.store.tokens.createToken({ project_id: 'ops', role: 'admin' })).token;
    const plan = await a('POST', '/plans', { plan: { name: 'nightly', provider_id: NOOP, resources: [{ id: 'demo', type: 'noop' }] } });
    planId = ok<{ id: string }>(plan, 200, 'plan').id;
  });
  after(async () => {
    await api?.close();
    await app?.close();
    home.cleanup();
  });

  describe('triggers', () => {
    it('creates, lists, shows, updates and deletes a trigger', async () => {
      const t = await newTrigger('every-5', { pattern: EVERY_5, format: 'crontab', window: '600' });
      expect(t.id).to.match(/^[0-9a-f-]{36}$/);
      expect(t).to.include({ project_id: 'proj-a', name: 'every-5', type: 'time' });
      expect(t.properties).to.deep.equal({ pattern: EVERY_5, format: 'crontab', window: 600 });

      const listed = ok<Trigger[]>(await a('GET', '/triggers'), 200, 'triggers');
      expect(listed.map((x) => x.id)).to.include(t.id);
      expect(ok<Trigger[]>(await a('GET', '/triggers?name=every-5'), 200, 'triggers').map((x) => x.id)).to.deep.equal([t.id]);
      expect(ok<Trigger[]>(await a('GET', '/triggers?name=nothing-called-this'), 200, 'triggers')).to.deep.equal([]);
      expect(ok<Trigger[]>(await a('GET', '/triggers?type=event'), 200, 'triggers')).to.deep.equal([]);
      expect(ok<Trigger[]>(await a('GET', '/triggers?type=time'), 200, 'triggers').map((x) => x.id)).to.include(t.id);
      expect(ok<Trigger>(await a('GET', `/triggers/${t.id}`), 200, 'trigger_info')).to.deep.equal(t);

      // Karbor's client renames with `"properties": {}`: the schedule stays as it was.
      const renamed = ok<Trigger>(
        await a('PUT', `/triggers/${t.id}`, { trigger_info: { properties: {}, name: 'renamed' } }),
        200,
        'trigger_info',
      );
      expect(renamed.name).to.equal('renamed');
      expect(renamed.properties).to.deep.equal(t.properties);
      const rescheduled = ok<Trigger>(
        await a('PUT', `/triggers/${t.id}`, { trigger_info: { properties: { pattern: '0 3 * * *', window: 900 } } }),
        200,
        'trigger_info',
      );
      expect(rescheduled).to.include({ name: 'renamed' });
      expect(rescheduled.properties).to.deep.equal({ pattern: '0 3 * * *', format: 'crontab', window: 900 });
      expect(ok<Trigger>(await a('GET', `/triggers/${t.id}`), 200, 'trigger_info').properties.window).to.equal(900);

      expect((await a('DELETE', `/triggers/${t.id}`)).status).to.equal(202);
      refused(await a('GET', `/triggers/${t.id}`), 404, 'BWK_ERR_TRIGGER_NOT_FOUND', t.id);
      refused(await a('DELETE', `/triggers/${t.id}`), 404, 'BWK_ERR_TRIGGER_NOT_FOUND', t.id);
    });

    it("accepts Karbor's strings for numbers and its calendar format; event triggers too", async () => {
      expect((await newTrigger('int-window', { pattern: EVERY_5, window: 600 })).properties.window).to.equal(600);
      expect((await newTrigger('string-window', { pattern: EVERY_5, window: '600' })).properties.window).to.equal(600);
      const calendar = await newTrigger('calendar', {
        format: 'calendar',
        pattern: 'BEGIN:VEVENT\nRRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=3\nEND:VEVENT',
      });
      expect(calendar.properties.format).to.equal('calendar');
      const karborTime = await newTrigger('karbor-time', { pattern: EVERY_5, start_time: '2030-01-01 03:00:00' });
      expect(karborTime.properties.start_time).to.equal('2030-01-01T03:00:00.000Z');
      const event = await a('POST', '/triggers', {
        trigger_info: { name: 'on-checkpoint', type: 'event', properties: { event: 'checkpoint.available' } },
      });
      expect(ok<Trigger>(event, 200, 'trigger_info').type).to.equal('event');
    });

    it('refuses bad triggers with a coded 400 that names the field', async () => {
      const create = (properties: unknown, over: Json = {}) =>
        a('POST', '/triggers', { trigger_info: { name: 'bad', type: 'time', properties, ...over } });
      refused(await create({ pattern: 'every tuesday' }), 400, 'BWK_ERR_TRIGGER_INVALID', 'pattern');
      // Closer than operation_engine.min_interval_ms (5 minutes here).
      refused(await create({ pattern: '* * * * *' }), 400, 'BWK_ERR_TRIGGER_INVALID', 'pattern');
      refused(await create({ pattern: EVERY_5, window: 'ten' }), 400, 'BWK_ERR_TRIGGER_INVALID', 'window');
      refused(await create({ pattern: EVERY_5, colour: 'red' }), 400, 'BWK_ERR_TRIGGER_INVALID', 'properties.colour');
      refused(await create({ pattern: EVERY_5 }, { name: '' }), 400, 'BWK_ERR_TRIGGER_INVALID', 'name');
      // The envelope and the record are strict; `properties` must be an object.
      refused(await create({ pattern: EVERY_5 }, { colour: 'red' }), 400, 'BWK_ERR_INVALID_INPUT', 'colour');
      refused(await create('pattern=*/5 * * * *'), 400, 'BWK_ERR_INVALID_INPUT', 'properties');
      refused(await create({ pattern: EVERY_5 }, { type: 'sometimes' }), 400, 'BWK_ERR_INVALID_INPUT', 'type');
      refused(
        await a('POST', '/triggers', { trigger: { name: 'x', type: 'time', properties: {} } }),
        400,
        'BWK_ERR_INVALID_INPUT',
        'trigger',
      );

      const t = await newTrigger('to-break');
      refused(
        await a('PUT', `/triggers/${t.id}`, { trigger_info: { properties: { pattern: 'nope' } } }),
        400,
        'BWK_ERR_TRIGGER_INVALID',
        'pattern',
      );
      refused(await a('PUT', `/triggers/${t.id}`, { trigger_info: { type: 'event' } }), 400, 'BWK_ERR_INVALID_INPUT', 'type');
      expect(ok<Trigger>(await a('GET', `/triggers/${t.id}`), 200, 'trigger_info').properties.pattern).to.equal(EVERY_5);
      refused(await a('GET', '/triggers/not-a-uuid'), 400, 'BWK_ERR_INVALID_INPUT', 'trigger_id');
    });

    it("answers 404 for another project's trigger, on every route", async () => {
      const t = await newTrigger('private');
      for (const [method, body] of [
        ['GET', undefined],
        ['PUT', { trigger_info: { name: 'mine-now' } }],
        ['DELETE', undefined],
      ] as const)
        refused(await call(tokenB, method, `/v1/proj-b/triggers/${t.id}`, body), 404, 'BWK_ERR_TRIGGER_NOT_FOUND', t.id);
      refused(await call(tokenB, 'GET', `/v1/proj-a/triggers/${t.id}`), 404, 'BWK_ERR_PROJECT_NOT_FOUND', 'proj-a');
      expect(ok<Trigger[]>(await call(tokenB, 'GET', '/v1/proj-b/triggers'), 200, 'triggers')).to.deep.equal([]);
      expect(ok<Trigger>(await a('GET', `/triggers/${t.id}`), 200, 'trigger_info').name).to.equal('private');
      // And B cannot schedule on A's trigger or plan.
      const op = await call(tokenB, 'POST', '/v1/proj-b/scheduled_operations', {
        scheduled_operation: { name: 'x', operation_type: 'protect', trigger_id: t.id, operation_definition: { plan_id: planId } },
      });
      refused(op, 404, 'BWK_ERR_TRIGGER_NOT_FOUND', t.id);
    });
  });

  describe('scheduled operations', () => {
    it('creates, lists, shows, suspends, resumes, runs and deletes one; its trigger is in use meanwhile', async () => {
      const t = await newTrigger('for-ops');
      const op = await newOperation('protect-nightly', t.id, { description: 'every five minutes' });
      expect(op).to.include({ name: 'protect-nightly', status: 'enabled', enabled: true, trigger_id: t.id });
      expect(op.operation_definition).to.deep.equal({ plan_id: planId, provider_id: NOOP });

      refused(await a('DELETE', `/triggers/${t.id}`), 409, 'BWK_ERR_TRIGGER_IN_USE', op.id);

      const list = async (query = '') => ok<Operation[]>(await a('GET', `/scheduled_operations${query}`), 200, 'operations');
      expect((await list()).map((o) => o.id)).to.include(op.id);
      expect((await list(`?trigger_id=${t.id}`)).map((o) => o.id)).to.deep.equal([op.id]);
      expect((await list('?name=protect-nightly')).map((o) => o.id)).to.deep.equal([op.id]);
      expect((await list(`?plan_id=${planId}&operation_type=protect`)).map((o) => o.id)).to.include(op.id);
      expect(await list('?operation_type=verify')).to.deep.equal([]);
      expect(await list(`?plan_id=${UNKNOWN}`)).to.deep.equal([]);
      expect(ok<Operation>(await a('GET', `/scheduled_operations/${op.id}`), 200, 'scheduled_operation')).to.deep.equal(op);

      const suspended = ok<Operation>(await a('POST', `/scheduled_operations/${op.id}/suspend`), 200, 'scheduled_operation');
      expect(suspended).to.include({ status: 'suspended', enabled: false });
      const resumed = ok<Operation>(await a('POST', `/scheduled_operations/${op.id}/resume`), 200, 'scheduled_operation');
      expect(resumed).to.include({ status: 'enabled', enabled: true });

      const log = ok<Log>(await a('POST', `/scheduled_operations/${op.id}/run`), 202, 'operation_log');
      expect(log).to.include({ scheduled_operation_id: op.id, plan_id: planId, operation_type: 'protect' });
      expect(ok<Log>(await a('GET', `/operation_logs/${log.id}`), 200, 'operation_log').id).to.equal(log.id);

      for (const [method, path] of [
        ['GET', ''],
        ['DELETE', ''],
        ['POST', '/suspend'],
        ['POST', '/resume'],
        ['POST', '/run'],
      ] as const)
        refused(
          await call(tokenB, method, `/v1/proj-b/scheduled_operations/${op.id}${path}`),
          404,
          'BWK_ERR_SCHEDULED_OPERATION_NOT_FOUND',
          op.id,
        );

      expect((await a('DELETE', `/scheduled_operations/${op.id}`)).status).to.equal(202);
      refused(await a('GET', `/scheduled_operations/${op.id}`), 404, 'BWK_ERR_SCHEDULED_OPERATION_NOT_FOUND', op.id);
      expect((await a('DELETE', `/triggers/${t.id}`)).status).to.equal(202);
    });

    it("accepts Karbor's string definitions and refuses bad ones naming the field", async () => {
      const t = await newTrigger('for-retention');
      const retention = await a('POST', '/scheduled_operations', {
        scheduled_operation: {
          name: 'keep-three',
          operation_type: 'retention_protect',
          trigger_id: t.id,
          operation_definition: { plan_id: planId, provider_id: NOOP, max_backups: '3' },
        },
      });
      expect(ok<Operation>(retention, 200, 'scheduled_operation').operation_definition).to.deep.equal({
        plan_id: planId,
        provider_id: NOOP,
        max_backups: 3,
      });
      const create = (definition: unknown, over: Json = {}) =>
        a('POST', '/scheduled_operations', {
          scheduled_operation: {
            name: 'bad',
            operation_type: 'retention_protect',
            trigger_id: t.id,
            operation_definition: definition,
            ...over,
          },
        });
      refused(await create({ plan_id: planId, max_backups: 'three' }), 400, 'BWK_ERR_SCHEDULED_OPERATION_INVALID', 'max_backups');
      refused(await create({ plan_id: planId, colour: 'red' }), 400, 'BWK_ERR_SCHEDULED_OPERATION_INVALID', 'colour');
      refused(await create({ provider_id: NOOP }), 400, 'BWK_ERR_SCHEDULED_OPERATION_INVALID', 'plan_id');
      refused(await create({ plan_id: UNKNOWN, max_backups: '3' }), 404, 'BWK_ERR_PLAN_NOT_FOUND', UNKNOWN);
      refused(
        await create({ plan_id: planId, max_backups: '3' }, { operation_type: 'replicate' }),
        400,
        'BWK_ERR_INVALID_INPUT',
        'operation_type',
      );
      refused(await create({ plan_id: planId, max_backups: '3' }, { overlap: 'sometimes' }), 400, 'BWK_ERR_INVALID_INPUT', 'overlap');
      refused(await create({ plan_id: planId, max_backups: '3' }, { enabled: true }), 400, 'BWK_ERR_INVALID_INPUT', 'enabled');
      refused(await create({ plan_id: planId, max_backups: '3' }, { trigger_id: UNKNOWN }), 404, 'BWK_ERR_TRIGGER_NOT_FOUND', UNKNOWN);
    });
  });

  describe('operation logs', () => {
    let opId = '';
    let runLog: Log;

    before(async () => {
      const op = await newOperation('logged', (await newTrigger('for-logs')).id);
      opId = op.id;
      runLog = ok<Log>(await a('POST', `/scheduled_operations/${op.id}/run`), 202, 'operation_log');
      // A manual protect: its log has no scheduled operation.
      const cp = await a('POST', `/providers/${NOOP}/checkpoints`, { checkpoint: { plan_id: planId } });
      expect(cp.status, JSON.stringify(cp.body)).to.equal(202);
    });

    const logs = async (query = '') => ok<Log[]>(await a('GET', `/operation_logs${query}`), 200, 'operation_logs');

    it('filters by scheduled operation, plan, status and time', async () => {
      const all = await logs();
      expect(all.map((l) => l.id)).to.include(runLog.id);
      expect(all.some((l) => l.scheduled_operation_id === null && l.operation_type === 'protect')).to.equal(true);
      expect((await logs(`?scheduled_operation_id=${opId}`)).map((l) => l.id)).to.deep.equal([runLog.id]);
      expect(await logs(`?scheduled_operation_id=${UNKNOWN}`)).to.deep.equal([]);
      expect((await logs(`?plan_id=${planId}`)).length).to.be.greaterThan(1);
      expect(await logs(`?plan_id=${UNKNOWN}`)).to.deep.equal([]);
      expect((await logs(`?status=${runLog.status}`)).map((l) => l.id)).to.include(runLog.id);
      expect(await logs('?status=dropped_out_of_window')).to.deep.equal([]);
      const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      expect((await logs(`?since=${hourAgo}&until=${inAnHour}`)).map((l) => l.id)).to.include(runLog.id);
      expect(await logs(`?since=${inAnHour}`)).to.deep.equal([]);
      expect(await logs(`?until=${hourAgo}`)).to.deep.equal([]);
      expect((await logs('?limit=1')).length).to.equal(1);
      const [first] = await logs('?limit=1');
      expect((await logs(`?marker=${first!.id}`)).map((l) => l.id)).to.not.include(first!.id);
    });

    it('refuses a bad filter or an unknown marker with a coded 400, and hides other projects', async () => {
      refused(await a('GET', '/operation_logs?status=failed'), 400, 'BWK_ERR_INVALID_INPUT', 'status');
      refused(await a('GET', '/operation_logs?since=yesterday'), 400, 'BWK_ERR_INVALID_INPUT', 'since');
      refused(await a('GET', `/operation_logs?marker=${UNKNOWN}`), 400, 'BWK_ERR_INVALID_INPUT', UNKNOWN);
      refused(await a('GET', '/operation_logs?scheduled_operation_id=x'), 400, 'BWK_ERR_INVALID_INPUT', 'scheduled_operation_id');
      refused(await a('GET', `/operation_logs/${UNKNOWN}`), 404, 'BWK_ERR_OPERATION_LOG_NOT_FOUND', UNKNOWN);
      refused(await call(tokenB, 'GET', `/v1/proj-b/operation_logs/${runLog.id}`), 404, 'BWK_ERR_OPERATION_LOG_NOT_FOUND', runLog.id);
      expect(ok<Log[]>(await call(tokenB, 'GET', '/v1/proj-b/operation_logs'), 200, 'operation_logs')).to.deep.equal([]);
    });
  });

  describe("the list parameters Karbor's client sends", () => {
    const lists = [
      ['/triggers', 'triggers'],
      ['/scheduled_operations', 'operations'],
      ['/operation_logs', 'operation_logs'],
    ] as const;

    before(async () => {
      // At least two of each, so an order can be seen.
      const t1 = await newTrigger('order-1');
      await newTrigger('order-2');
      await newOperation('order-op-1', t1.id);
      await newOperation('order-op-2', t1.id);
    });

    it('sorts by created_at either way with sort=, and pages with limit and marker', async () => {
      for (const [path, key] of lists) {
        const desc = ok<Array<{ id: string }>>(await a('GET', `${path}?sort=created_at:desc`), 200, key).map((x) => x.id);
        const asc = ok<Array<{ id: string }>>(await a('GET', `${path}?sort=created_at:asc`), 200, key).map((x) => x.id);
        expect(desc.length, path).to.be.greaterThan(1);
        expect(asc, path).to.deep.equal([...desc].reverse());
        expect(
          ok<Array<{ id: string }>>(await a('GET', path), 200, key).map((x) => x.id),
          `${path} is newest first`,
        ).to.deep.equal(desc);
        const page = ok<Array<{ id: string }>>(await a('GET', `${path}?limit=1&marker=${desc[0]}`), 200, key).map((x) => x.id);
        expect(page, path).to.deep.equal([desc[1]]);
        refused(await a('GET', `${path}?sort=name:asc`), 400, 'BWK_ERR_INVALID_INPUT', 'sort');
        refused(await a('GET', `${path}?marker=${UNKNOWN}`), 400, 'BWK_ERR_INVALID_INPUT', UNKNOWN);
      }
    });

    it('answers all_tenants, sort_key/sort_dir, project_id and the unsupported filters as the plans list does, never 500', async () => {
      for (const [path, key] of lists) {
        // all_tenants: members are refused, admins see every project.
        refused(await a('GET', `${path}?all_tenants=1`), 403, 'BWK_ERR_FORBIDDEN', 'all_tenants');
        const all = ok<Array<{ project_id: string }>>(await call(admin, 'GET', `/v1/ops${path}?all_tenants=1`), 200, key);
        expect(
          all.some((x) => x.project_id === 'proj-a'),
          path,
        ).to.equal(true);
        expect(ok<unknown[]>(await call(admin, 'GET', `/v1/ops${path}`), 200, key), path).to.deep.equal([]);
        // Like /plans: parameters the API does not take are a coded 400 naming them.
        for (const query of ['sort_key=created_at&sort_dir=desc', 'all_tenants=1&project_id=proj-a']) {
          const r = await a('GET', `${path}?${query}`);
          const plans = await a('GET', `/plans?${query}`);
          expect(r.status, `${path}?${query}: ${JSON.stringify(r.body)}`).to.equal(plans.status);
          expect(r.body.code, `${path}?${query}`).to.equal(plans.body.code);
        }
        refused(await a('GET', `${path}?sort_key=created_at&sort_dir=desc`), 400, 'BWK_ERR_INVALID_INPUT', 'sort_key');
        refused(await call(admin, 'GET', `/v1/ops${path}?all_tenants=1&project_id=proj-a`), 400, 'BWK_ERR_INVALID_INPUT', 'project_id');
      }
      refused(await a('GET', '/triggers?properties=pattern'), 400, 'BWK_ERR_INVALID_INPUT', 'properties');
      refused(await a('GET', '/scheduled_operations?operation_definition=plan_id'), 400, 'BWK_ERR_INVALID_INPUT', 'operation_definition');
    });
  });

  it('describes the new routes in /openapi.json, with their tags and the extensions marked', async () => {
    const doc = JSON.parse((await api.inject({ method: 'GET', url: '/openapi.json' })).body) as {
      paths: Record<string, Record<string, { tags: string[]; description?: string; responses: Json; parameters: Array<{ name: string }> }>>;
    };
    const p = '/v1/{project_id}';
    expect(doc.paths).to.include.keys(
      `${p}/triggers`,
      `${p}/triggers/{trigger_id}`,
      `${p}/scheduled_operations`,
      `${p}/scheduled_operations/{id}`,
      `${p}/scheduled_operations/{id}/suspend`,
      `${p}/scheduled_operations/{id}/resume`,
      `${p}/scheduled_operations/{id}/run`,
      `${p}/operation_logs`,
      `${p}/operation_logs/{id}`,
    );
    expect(Object.keys(doc.paths[`${p}/triggers`]!)).to.have.members(['get', 'post']);
    expect(Object.keys(doc.paths[`${p}/triggers/{trigger_id}`]!)).to.have.members(['get', 'put', 'delete']);
    expect(doc.paths[`${p}/triggers`]!.post!.tags).to.deep.equal(['triggers']);
    expect(doc.paths[`${p}/scheduled_operations`]!.get!.tags).to.deep.equal(['scheduled_operations']);
    expect(doc.paths[`${p}/operation_logs`]!.get!.tags).to.deep.equal(['operation_logs']);
    expect(doc.paths[`${p}/triggers`]!.post!.responses).to.have.property('200');
    expect(doc.paths[`${p}/scheduled_operations/{id}/run`]!.post!.responses).to.have.property('202');
    for (const action of ['suspend', 'resume', 'run'])
      expect(doc.paths[`${p}/scheduled_operations/{id}/${action}`]!.post!.description).to.match(/^Bulwark extension/);
    expect(doc.paths[`${p}/operation_logs`]!.get!.parameters.map((x) => x.name)).to.include.members([
      'status',
      'scheduled_operation_id',
      'plan_id',
      'since',
      'until',
      'limit',
      'marker',
      'sort',
    ]);
    expect((await api.inject({ method: 'GET', url: '/docs' })).body).to.include('Bulwark extension');
  });
});
