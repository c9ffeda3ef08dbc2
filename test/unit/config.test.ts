import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CONFIG_SCHEMA, configWarnings, loadConfig, validateConfig } from '../../src/common/config.js';

interface SchemaNode {
  default?: unknown;
  properties?: Record<string, SchemaNode>;
}

/** The defaults the schema documents, built by walking it: the test's own expectation, not the code's. */
function schemaDefaults(node: SchemaNode): unknown {
  if (!node.properties) return node.default;
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(node.properties)) {
    const v = schemaDefaults(child);
    if (v !== undefined) out[k] = v; // optional settings without a default stay absent
  }
  return out;
}

function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

describe('configuration (bulwark.yaml)', () => {
  let home: string;
  const write = (text: string): string => {
    fs.writeFileSync(join(home, 'bulwark.yaml'), text);
    return join(home, 'bulwark.yaml');
  };
  beforeEach(() => {
    home = fs.mkdtempSync(join(os.tmpdir(), 'bwk-'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('without a file, has every documented default', () => {
    const cfg = loadConfig(home, {});
    expect(cfg).to.deep.equal(schemaDefaults(CONFIG_SCHEMA as unknown as SchemaNode));
    // Spot-check the walk itself, so a schema without defaults cannot pass as `undefined == undefined`.
    expect(cfg.project).to.equal('default');
    expect(cfg.tasks.retry.max_attempts).to.equal(3);
    expect(cfg.lease.renew_interval_ms).to.be.below(cfg.lease.ttl_ms);
    expect(cfg.restore.allowed_target_paths).to.deep.equal(['/']);
  });

  it('treats an empty or comment-only file as all defaults', () => {
    for (const text of ['', '# project: mine\n']) {
      write(text);
      expect(loadConfig(home, {}), JSON.stringify(text)).to.deep.equal(schemaDefaults(CONFIG_SCHEMA as unknown as SchemaNode));
    }
  });

  it('keeps the defaults of everything a partial file leaves out', () => {
    write('project: team-a\ntasks:\n  retry:\n    max_attempts: 5\nlog:\n  level: debug\n');
    const cfg = loadConfig(home, {});
    const expected = schemaDefaults(CONFIG_SCHEMA as unknown as SchemaNode) as ReturnType<typeof loadConfig>;
    expect(cfg).to.deep.equal({
      ...expected,
      project: 'team-a',
      tasks: { ...expected.tasks, retry: { ...expected.tasks.retry, max_attempts: 5 } },
      log: { ...expected.log, level: 'debug' },
    });
  });

  it('refuses an unknown key, naming its file and line', () => {
    const file = write('project: p\ntasks:\n  max_parallel: 2\n  max_paralel: 3\n');
    const err = thrown(() => loadConfig(home, {}));
    expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err.message).to.contain(`${file}:4`);
    expect(err.message).to.contain('unknown field "max_paralel"');
  });

  it('refuses an unknown top-level key at its line', () => {
    const file = write('project: p\n\nenigne: local\n');
    const err = thrown(() => loadConfig(home, {}));
    expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err.message).to.contain(`${file}:3`).and.to.contain('unknown field "enigne"');
  });

  it('refuses a value of the wrong type at its line', () => {
    const file = write('lease:\n  ttl_ms: 60000\ntasks:\n  max_parallel: "8"\n');
    const err = thrown(() => loadConfig(home, {}));
    expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err.message).to.contain(`${file}:4`).and.to.contain('tasks.max_parallel: must be integer');
  });

  it('refuses a value outside an enum, listing the allowed ones', () => {
    const file = write('log:\n  file: x.log\n  level: loud\n');
    const err = thrown(() => loadConfig(home, {}));
    expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err.message).to.contain(`${file}:3`).and.to.contain('log.level: must be one of "debug", "info", "warn", "error"');
  });

  it('refuses a value below its minimum and a top level that is not a mapping', () => {
    expect(thrown(() => validateConfig({ tasks: { max_parallel: 0 } }, 'cfg.yaml')).message)
      .to.contain('cfg.yaml:1')
      .and.to.contain('tasks.max_parallel');
    const err = thrown(() => validateConfig(['a'], 'cfg.yaml'));
    expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err.message).to.contain('(top level): must be object');
  });

  it('refuses a lease renewed no sooner than it expires, at the renew_interval_ms line', () => {
    const file = write('lease:\n  ttl_ms: 10000\n  renew_interval_ms: 10000\n');
    const err = thrown(() => loadConfig(home, {}));
    expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err.message).to.contain(`${file}:3`).and.to.contain('renew_interval_ms (10000) must be shorter than lease.ttl_ms (10000)');
    write('lease:\n  ttl_ms: 10000\n  renew_interval_ms: 9999\n');
    expect(loadConfig(home, {}).lease).to.deep.equal({ ttl_ms: 10000, renew_interval_ms: 9999 });
  });

  it('bounds lists and stored objects by default (issue 14), and refuses a default page larger than the maximum', () => {
    const cfg = loadConfig(home, {});
    expect(cfg.paging).to.deep.equal({ default_limit: 100, max_limit: 1000 });
    expect(cfg.quotas).to.deep.equal({
      plans_per_project: 50,
      triggers_per_project: 1000,
      scheduled_operations_per_project: 1000,
      json_object_bytes: 65536,
      plan_bytes: 262144,
    });
    expect(cfg.api.json_max_depth).to.equal(64);
    const file = write('paging:\n  max_limit: 50\n  default_limit: 80\n');
    const err = thrown(() => loadConfig(home, {}));
    expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err.message).to.contain(`${file}:3`).and.to.contain('paging.default_limit (80) must not exceed paging.max_limit (50)');
  });

  it('reports a YAML syntax error as invalid configuration with its line', () => {
    const file = write('project: p\nlog:\n  level: info\n bad: 1\n');
    const err = thrown(() => loadConfig(home, {}));
    expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
    expect(err.message).to.contain(`${file}:4`);
  });

  it('lets BULWARK_ENGINE and TEMPORAL_ADDRESS override the file', () => {
    write('engine: local\ntemporal:\n  address: 10.0.0.1:7233\n');
    const cfg = loadConfig(home, { BULWARK_ENGINE: 'temporal', TEMPORAL_ADDRESS: '127.0.0.1:7999' });
    expect(cfg.engine).to.equal('temporal');
    expect(cfg.temporal.address).to.equal('127.0.0.1:7999');
    expect(thrown(() => loadConfig(home, { BULWARK_ENGINE: 'celery' })).code).to.equal('BWK_ERR_CONFIG_INVALID');
  });

  it('returns a deeply frozen result and leaves its input untouched', () => {
    const raw = { lease: { ttl_ms: 90000 } };
    const cfg = validateConfig(raw, 'cfg.yaml');
    expect(raw).to.deep.equal({ lease: { ttl_ms: 90000 } });
    for (const o of [cfg, cfg.lease, cfg.tasks, cfg.tasks.retry, cfg.restore.allowed_target_paths, cfg.log]) {
      expect(Object.isFrozen(o)).to.equal(true);
    }
    expect(() => {
      (cfg as { project: string }).project = 'other';
    }).to.throw(TypeError);
    expect(() => {
      (cfg.restore.allowed_target_paths as string[]).push('/tmp');
    }).to.throw(TypeError);
    // Defaults are copies: a second config is not the frozen first one.
    expect(validateConfig({}, 'cfg.yaml').restore.allowed_target_paths).not.to.equal(cfg.restore.allowed_target_paths);
  });

  describe('local_engine, the deprecated name of tasks', () => {
    it('still configures tasks, key by key, and says so once with its file and line', () => {
      const file = write('project: p\nlocal_engine:\n  max_parallel: 7\n  task_timeout_ms: 5000\n  retry: {max_attempts: 2}\n');
      const cfg = loadConfig(home, {});
      expect(cfg.tasks).to.deep.equal({
        max_parallel: 7,
        timeout_ms: 5000,
        cancel_grace_ms: 10000, // the default: the old key never had it
        retry: { max_attempts: 2, initial_delay_ms: 1000, max_delay_ms: 30000 },
      });
      expect(cfg).to.not.have.property('local_engine');
      expect(configWarnings(cfg)).to.deep.equal([
        `${file}:2: local_engine is deprecated: rename it to tasks (task_timeout_ms becomes timeout_ms): it sets how hook tasks run on ` +
          `both engines`,
      ]);
    });

    it('keeps the defaults of what it leaves out, and a file without it warns nothing', () => {
      write('local_engine: {max_parallel: 2}\n');
      expect(loadConfig(home, {}).tasks).to.deep.equal({
        ...(schemaDefaults(CONFIG_SCHEMA as unknown as SchemaNode) as ReturnType<typeof loadConfig>).tasks,
        max_parallel: 2,
      });
      write('tasks: {max_parallel: 2}\n');
      expect(configWarnings(loadConfig(home, {}))).to.deep.equal([]);
    });

    it('refuses a bad value under its own name and line', () => {
      const file = write('project: p\nlocal_engine:\n  max_parallel: "8"\n');
      const err = thrown(() => loadConfig(home, {}));
      expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
      expect(err.message).to.contain(`${file}:3`).and.to.contain('local_engine.max_parallel: must be integer');
      expect(thrown(() => validateConfig({ local_engine: { timeout_ms: 5 } }, 'cfg.yaml')).message).to.contain(
        'local_engine: unknown field "timeout_ms"',
      );
    });

    it('refuses both names at once rather than guess which wins', () => {
      const file = write('tasks: {max_parallel: 2}\nlocal_engine: {max_parallel: 3}\n');
      const err = thrown(() => loadConfig(home, {}));
      expect(err.code).to.equal('BWK_ERR_CONFIG_INVALID');
      expect(err.message).to.contain(`${file}:2`).and.to.contain('keep tasks and remove local_engine');
    });
  });
});
