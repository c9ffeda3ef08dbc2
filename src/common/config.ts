import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { bwkError } from '../core/errors.js';
import type { LogLevel } from './logging.js';
import type { PageSizes } from './page-size.js';
import { precompiledValidator } from './precompiled.js';
import { compileSchema, describeSchemaError, errorPointer, sortSchemaErrors } from './schema.js';
import { parseYamlSource, YamlSyntaxError } from './yaml-source.js';

/**
 * `<home>/bulwark.yaml`: the one configuration file. Every option, its default and its meaning is
 * listed in docs/configuration.md; this schema is the single source of those defaults.
 */
export interface BulwarkConfig {
  project: string;
  engine: 'local' | 'temporal';
  /** How hook tasks run, on either engine (was `local_engine`, a name that said less than it does). */
  tasks: {
    max_parallel: number;
    timeout_ms: number;
    cancel_grace_ms: number;
    retry: { max_attempts: number; initial_delay_ms: number; max_delay_ms: number };
  };
  lease: { ttl_ms: number; renew_interval_ms: number };
  catalog: { url: string };
  restore: { allowed_target_paths: string[] };
  /** Service mode: what each project's members may use, by project, then resource type (docs/security.md). */
  scopes: Record<string, Record<string, { protect: string[]; restore: string[] }>>;
  log: { level: LogLevel; file: string };
  temporal: TemporalConfig;
  api: {
    host: string;
    port: number;
    body_limit_bytes: number;
    request_timeout_ms: number;
    headers_timeout_ms: number;
    idle_timeout_ms: number;
    keep_alive_timeout_ms: number;
    max_connections: number;
    json_max_depth: number;
    /** 429s for addresses that keep failing to authenticate (src/api/auth-failures.ts). */
    auth_failures: { max_failures: number; window_ms: number; max_addresses: number };
    /** A token's last_used_at is written at most this often (src/api/token-use.ts). */
    token_use_interval_ms: number;
    /** Serve https with this certificate and key (paths relative to the home); both or neither (src/api/tls.ts). */
    tls: { cert_file?: string; key_file?: string };
  };
  /** Page sizes of every listing (src/common/page-size.ts). */
  paging: { default_limit: number; max_limit: number };
  /** Per-project limits on what the catalog stores (src/protection-manager/quotas.ts). */
  quotas: {
    plans_per_project: number;
    triggers_per_project: number;
    scheduled_operations_per_project: number;
    json_object_bytes: number;
    plan_bytes: number;
  };
  /** The service catalog (docs/service.md "Services"): how each process names its host and renews its heartbeat. */
  services: { host?: string; heartbeat_interval_ms: number; heartbeat_ttl_ms: number };
  rpc: {
    transport: 'in-process' | 'amqp';
    url: string;
    password_env?: string;
    queue: string;
    /** The topic exchange operation events go to; two deployments on one broker need two names. */
    events_exchange: string;
    timeout_ms: number;
    /** The timeout of the calls that run as long as they take (bank check and gc), instead of timeout_ms. */
    long_timeout_ms: number;
  };
  /** Triggers and scheduled operations (docs/scheduling.md). */
  operation_engine: OperationEngineConfig;
  /** Prometheus metrics (docs/operations.md "Metrics"). */
  metrics: MetricsConfig;
  /** Webhook notifications of operation outcomes (docs/notifications.md). */
  notifications: NotificationsConfig;
}

export interface NotificationsConfig {
  /** Host names or IP addresses webhooks may reach even when they are loopback or private (never needed for public hosts). */
  allowed_hosts: string[];
  /** Allow loopback and private (RFC 1918, ULA) addresses; link-local and metadata addresses stay refused. */
  allow_private: boolean;
  poll_interval_ms: number;
  timeout_ms: number;
  /** Attempts of one delivery, and the capped exponential backoff between them. */
  retry: { max_attempts: number; initial_delay_ms: number; max_delay_ms: number };
  /** E-mail targets: the SMTP relay, and how long a burst is gathered into one message. */
  email: {
    smtp_host?: string;
    smtp_port: number;
    /** starttls (required), implicit (TLS from the first byte, port 465), none (only on a trusted local relay). */
    smtp_tls: 'starttls' | 'implicit' | 'none';
    smtp_user?: string;
    /** The variable holding the relay password (never in bulwark.yaml). */
    password_env?: string;
    from: string;
    batch_ms: number;
    /** The console's address (e.g. https://bulwark.example.com/console/): messages link to the checkpoint's page. */
    console_url?: string;
  };
}

export interface MetricsConfig {
  /** A listener of its own for `/metrics` (protection-service, worker, operation-engine, api); absent: none. */
  port?: number;
  host: string;
  /** Who may scrape: `loopback` callers without a token, others with it (default); `token`: everyone with it; `open`: anyone. */
  access: 'loopback' | 'token' | 'open';
  /** The environment variable holding the scrape token (never the token itself in the file). */
  token_env?: string;
}

export interface OperationEngineConfig {
  /** Several engine instances elect one leader here; absent: each runs alone on catalog claims. */
  redis_url?: string;
  password_env?: string;
  /** The Redis key of the leader lease (one per deployment sharing a Redis). */
  leader_key: string;
  tick_interval_ms: number;
  leader_lease_ttl_ms: number;
  /** Two fires of one trigger closer than this are refused (Karbor's minimum: one hour). */
  min_interval_ms: number;
  window_min_seconds: number;
  window_max_seconds: number;
  /** How often the engine asks the protection service how a running operation is doing. */
  poll_interval_ms: number;
  /** How far back the event scan looks for checkpoints whose event was missed. */
  event_scan_interval_ms: number;
  event_lookback_hours: number;
  log_retention_days: number;
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  task_queue: string;
  tls: { enabled: boolean; server_name?: string; server_root_ca_file?: string; client_cert_file?: string; client_key_file?: string };
  run_worker: boolean;
  heartbeat_timeout_ms: number;
  agent_schedule_to_start_timeout_ms: number;
  shutdown_grace_time_ms: number;
  shutdown_force_time_ms: number;
  max_concurrent_activities: number;
  /** Testing aid: continue-as-new after this many history events (0: Temporal's own suggestion). */
  continue_as_new_after_events: number;
}

const RETRY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    max_attempts: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
    initial_delay_ms: { type: 'integer', minimum: 0, default: 1000 },
    max_delay_ms: { type: 'integer', minimum: 0, default: 30000 },
  },
} as const;

/**
 * Keys kept under their old names, each with the schema it had and how it maps onto today's: a file
 * written for an earlier build keeps working, and says so once per process (docs/configuration.md).
 */
const DEPRECATED = {
  local_engine: {
    // The old key as it sat in the document, so an error names the key and line the file uses.
    schema: {
      type: 'object',
      properties: {
        local_engine: {
          type: 'object',
          additionalProperties: false,
          properties: {
            max_parallel: { type: 'integer', minimum: 1, maximum: 256 },
            task_timeout_ms: { type: 'integer', minimum: 100 },
            retry: RETRY_SCHEMA,
          },
        },
      },
    },
    renamed: 'tasks',
    move: (old: { max_parallel?: number; task_timeout_ms?: number; retry?: unknown }) => ({
      ...(old.max_parallel === undefined ? {} : { max_parallel: old.max_parallel }),
      ...(old.task_timeout_ms === undefined ? {} : { timeout_ms: old.task_timeout_ms }),
      ...(old.retry === undefined ? {} : { retry: old.retry }),
    }),
    note: 'rename it to tasks (task_timeout_ms becomes timeout_ms): it sets how hook tasks run on both engines',
  },
} as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    project: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', default: 'default' },
    engine: { enum: ['local', 'temporal'], default: 'local' },
    tasks: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        max_parallel: { type: 'integer', minimum: 1, maximum: 256, default: 4 },
        timeout_ms: { type: 'integer', minimum: 100, default: 6 * 3600 * 1000 },
        cancel_grace_ms: { type: 'integer', minimum: 0, maximum: 3_600_000, default: 10_000 },
        retry: RETRY_SCHEMA,
      },
    },
    lease: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ttl_ms: { type: 'integer', minimum: 500, default: 60000 },
        renew_interval_ms: { type: 'integer', minimum: 100, default: 20000 },
      },
    },
    catalog: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { url: { type: 'string', pattern: '^(sqlite:|postgres(ql)?://)', default: 'sqlite:catalog.db' } },
    },
    restore: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        allowed_target_paths: { type: 'array', items: { type: 'string', pattern: '^/' }, default: ['/'] },
      },
    },
    scopes: {
      type: 'object',
      default: {},
      propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,64}$' },
      additionalProperties: {
        type: 'object',
        propertyNames: { pattern: '^[a-z][a-z0-9_.-]*$' },
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          properties: {
            protect: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
            restore: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
          },
        },
      },
    },
    temporal: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        address: { type: 'string', minLength: 1, default: '127.0.0.1:7233' },
        namespace: { type: 'string', minLength: 1, default: 'default' },
        task_queue: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.-]+$', default: 'bulwark' },
        tls: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: { type: 'boolean', default: false },
            server_name: { type: 'string' },
            server_root_ca_file: { type: 'string' },
            client_cert_file: { type: 'string' },
            client_key_file: { type: 'string' },
          },
        },
        run_worker: { type: 'boolean', default: false },
        heartbeat_timeout_ms: { type: 'integer', minimum: 1000, default: 30000 },
        agent_schedule_to_start_timeout_ms: { type: 'integer', minimum: 100, default: 300000 },
        shutdown_grace_time_ms: { type: 'integer', minimum: 0, default: 30000 },
        shutdown_force_time_ms: { type: 'integer', minimum: 0, default: 60000 },
        max_concurrent_activities: { type: 'integer', minimum: 1, maximum: 1000, default: 8 },
        continue_as_new_after_events: { type: 'integer', minimum: 0, default: 0 },
      },
    },
    api: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8780 },
        body_limit_bytes: { type: 'integer', minimum: 1024, maximum: 104857600, default: 1048576 },
        // Receiving a request (headers and body); the response is not bounded (src/api/limits.ts).
        request_timeout_ms: { type: 'integer', minimum: 100, default: 30000 },
        headers_timeout_ms: { type: 'integer', minimum: 100, default: 10000 },
        idle_timeout_ms: { type: 'integer', minimum: 100, default: 300000 },
        keep_alive_timeout_ms: { type: 'integer', minimum: 100, default: 10000 },
        max_connections: { type: 'integer', minimum: 1, maximum: 1000000, default: 1000 },
        json_max_depth: { type: 'integer', minimum: 2, maximum: 1000, default: 64 },
        auth_failures: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            max_failures: { type: 'integer', minimum: 1, maximum: 1000000, default: 20 },
            window_ms: { type: 'integer', minimum: 1000, maximum: 86400000, default: 60000 },
            max_addresses: { type: 'integer', minimum: 1, maximum: 10000000, default: 10000 },
          },
        },
        token_use_interval_ms: { type: 'integer', minimum: 0, maximum: 86400000, default: 60000 },
        tls: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { cert_file: { type: 'string', minLength: 1 }, key_file: { type: 'string', minLength: 1 } },
        },
      },
    },
    paging: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        default_limit: { type: 'integer', minimum: 1, maximum: 100000, default: 100 },
        max_limit: { type: 'integer', minimum: 1, maximum: 100000, default: 1000 },
      },
    },
    quotas: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        plans_per_project: { type: 'integer', minimum: 1, default: 50 },
        triggers_per_project: { type: 'integer', minimum: 1, default: 1000 },
        scheduled_operations_per_project: { type: 'integer', minimum: 1, default: 1000 },
        json_object_bytes: { type: 'integer', minimum: 2, default: 65536 },
        plan_bytes: { type: 'integer', minimum: 1024, default: 262144 },
      },
    },
    services: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,255}$' },
        heartbeat_interval_ms: { type: 'integer', minimum: 100, default: 10000 },
        heartbeat_ttl_ms: { type: 'integer', minimum: 200, default: 30000 },
      },
    },
    rpc: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        transport: { enum: ['in-process', 'amqp'], default: 'in-process' },
        url: { type: 'string', pattern: '^amqps?://', default: 'amqp://guest@127.0.0.1:5672' },
        password_env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
        queue: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', default: 'bulwark.protection' },
        events_exchange: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', default: 'bulwark.events' },
        timeout_ms: { type: 'integer', minimum: 100, default: 60000 },
        // Six hours: a bank check with --read-data reads the whole bank. At most setTimeout's 2^31-1 ms.
        long_timeout_ms: { type: 'integer', minimum: 100, maximum: 2_147_483_647, default: 21_600_000 },
      },
    },
    notifications: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        allowed_hosts: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9_.:\\[\\]-]{1,255}$' }, default: [] },
        allow_private: { type: 'boolean', default: false },
        poll_interval_ms: { type: 'integer', minimum: 50, maximum: 3_600_000, default: 2000 },
        timeout_ms: { type: 'integer', minimum: 100, maximum: 600_000, default: 10000 },
        retry: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            max_attempts: { type: 'integer', minimum: 1, maximum: 1000, default: 15 },
            initial_delay_ms: { type: 'integer', minimum: 10, default: 5000 },
            max_delay_ms: { type: 'integer', minimum: 10, maximum: 2_147_483_647, default: 3_600_000 },
          },
        },
        email: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            smtp_host: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,255}$' },
            smtp_port: { type: 'integer', minimum: 1, maximum: 65535, default: 587 },
            smtp_tls: { enum: ['starttls', 'implicit', 'none'], default: 'starttls' },
            smtp_user: { type: 'string', maxLength: 255 },
            password_env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
            from: { type: 'string', maxLength: 255, default: 'bulwark@localhost' },
            batch_ms: { type: 'integer', minimum: 0, maximum: 3_600_000, default: 60000 },
            console_url: { type: 'string', pattern: '^https?://', maxLength: 1024 },
          },
        },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        access: { enum: ['loopback', 'token', 'open'], default: 'loopback' },
        token_env: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      },
    },
    operation_engine: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        redis_url: { type: 'string', pattern: '^rediss?://' },
        password_env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' },
        leader_key: { type: 'string', minLength: 1, maxLength: 200, default: 'bulwark:operation-engine:leader' },
        tick_interval_ms: { type: 'integer', minimum: 10, maximum: 60_000, default: 1000 },
        leader_lease_ttl_ms: { type: 'integer', minimum: 500, maximum: 600_000, default: 10_000 },
        min_interval_ms: { type: 'integer', minimum: 1000, default: 3_600_000 },
        window_min_seconds: { type: 'integer', minimum: 1, default: 60 },
        window_max_seconds: { type: 'integer', minimum: 1, default: 86_400 },
        poll_interval_ms: { type: 'integer', minimum: 10, maximum: 600_000, default: 2000 },
        event_scan_interval_ms: { type: 'integer', minimum: 100, maximum: 86_400_000, default: 60_000 },
        event_lookback_hours: { type: 'integer', minimum: 1, maximum: 8760, default: 24 },
        log_retention_days: { type: 'integer', minimum: 1, default: 90 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: ['debug', 'info', 'warn', 'error'], default: 'info' },
        file: { type: 'string', minLength: 1, default: 'logs/bulwark.log' },
      },
    },
  },
} as const;

const warnings = new WeakMap<BulwarkConfig, readonly string[]>();

/** What a valid config still says about itself: deprecated keys, each `file:line: key is deprecated: ...`. */
export const configWarnings = (config: BulwarkConfig): readonly string[] => warnings.get(config) ?? [];

/**
 * Checks each deprecated key against its old schema (errors name the key the file uses), then moves
 * it to its new name. Both names at once is refused: which one wins would be a guess.
 */
function renameDeprecated(value: Record<string, unknown>, file: string, lineOf: (pointer: string) => number): string[] {
  const notes: string[] = [];
  for (const [old, alias] of Object.entries(DEPRECATED)) {
    if (!(old in value)) continue;
    const where = `${file}:${lineOf(`/${old}`)}`;
    if (alias.renamed in value)
      throw bwkError('BWK_ERR_CONFIG_INVALID', {
        file: where,
        reason: `${old} and ${alias.renamed} are the same setting: keep ${alias.renamed} and remove ${old}`,
      });
    const validate = compileSchema(alias.schema);
    const copy = { [old]: structuredClone(value[old] ?? {}) };
    if (!validate(copy)) {
      const e = sortSchemaErrors(validate.errors ?? [])[0]!;
      throw bwkError('BWK_ERR_CONFIG_INVALID', { file: `${file}:${lineOf(errorPointer(e))}`, reason: describeSchemaError(e) });
    }
    value[alias.renamed] = alias.move(copy[old] as Parameters<typeof alias.move>[0]);
    delete value[old];
    notes.push(`${where}: ${old} is deprecated: ${alias.note}`);
  }
  return notes;
}

/** Validates raw config (already parsed) and returns it frozen with defaults filled in. */
export function validateConfig(raw: unknown, file: string, lineOf: (pointer: string) => number = () => 1): BulwarkConfig {
  const value = raw === null || raw === undefined ? {} : structuredClone(raw);
  const notes =
    value && typeof value === 'object' && !Array.isArray(value) ? renameDeprecated(value as Record<string, unknown>, file, lineOf) : [];
  const validate = precompiledValidator('config', CONFIG_SCHEMA);
  if (!validate(value)) {
    const e = sortSchemaErrors(validate.errors ?? [])[0]!;
    throw bwkError('BWK_ERR_CONFIG_INVALID', { file: `${file}:${lineOf(errorPointer(e))}`, reason: describeSchemaError(e) });
  }
  const cfg = value as BulwarkConfig;
  if (cfg.lease.renew_interval_ms >= cfg.lease.ttl_ms) {
    throw bwkError('BWK_ERR_CONFIG_INVALID', {
      file: `${file}:${lineOf('/lease/renew_interval_ms')}`,
      reason: `lease.renew_interval_ms (${cfg.lease.renew_interval_ms}) must be shorter than lease.ttl_ms (${cfg.lease.ttl_ms})`,
    });
  }
  if (cfg.paging.default_limit > cfg.paging.max_limit) {
    throw bwkError('BWK_ERR_CONFIG_INVALID', {
      file: `${file}:${lineOf('/paging/default_limit')}`,
      reason: `paging.default_limit (${cfg.paging.default_limit}) must not exceed paging.max_limit (${cfg.paging.max_limit})`,
    });
  }
  if ((cfg.api.tls.cert_file === undefined) !== (cfg.api.tls.key_file === undefined)) {
    throw bwkError('BWK_ERR_CONFIG_INVALID', {
      file: `${file}:${lineOf('/api/tls')}`,
      reason: 'api.tls needs both cert_file and key_file (or neither, to serve plain http)',
    });
  }
  const frozen = deepFreeze(cfg);
  if (notes.length > 0) warnings.set(frozen, notes);
  return frozen;
}

/**
 * Environment overrides, applied over the file: BULWARK_ENGINE (local|temporal) and TEMPORAL_ADDRESS
 * (Temporal's own variable), so one bulwark.yaml serves a laptop and CI.
 */
function withEnv(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  const value = (raw && typeof raw === 'object' ? structuredClone(raw) : {}) as Record<string, unknown>;
  if (env.BULWARK_ENGINE) value.engine = env.BULWARK_ENGINE;
  if (env.TEMPORAL_ADDRESS) value.temporal = { ...((value.temporal as object) ?? {}), address: env.TEMPORAL_ADDRESS };
  return value;
}

const warned = new Set<string>();

/** Node's own channel for deprecations: stderr once per process (silenced by --no-deprecation). */
function warnOnce(config: BulwarkConfig): BulwarkConfig {
  for (const w of configWarnings(config)) {
    if (warned.has(w)) continue;
    warned.add(w);
    process.emitWarning(w, { type: 'DeprecationWarning', code: 'BULWARK_DEPRECATED_CONFIG' });
  }
  return config;
}

export function loadConfig(home: string, env: NodeJS.ProcessEnv = process.env): BulwarkConfig {
  const file = join(home, 'bulwark.yaml');
  if (!existsSync(file)) return validateConfig(withEnv({}, env), file);
  try {
    const src = parseYamlSource(readFileSync(file, 'utf8'), file);
    return warnOnce(validateConfig(withEnv(src.value, env), file, src.lineOf));
  } catch (err) {
    if (err instanceof YamlSyntaxError) throw bwkError('BWK_ERR_CONFIG_INVALID', { file: `${file}:${err.line}`, reason: err.reason });
    throw err;
  }
}

/** Resolves a path option relative to the Bulwark home, as every relative path in the config is. */
/** The page sizes `paging` configures, in the shape listings take. */
export const pageSizesOf = (config: BulwarkConfig): PageSizes => ({ default: config.paging.default_limit, max: config.paging.max_limit });

export function homePath(home: string, p: string): string {
  return isAbsolute(p) ? p : resolve(home, p);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
