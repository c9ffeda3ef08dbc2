/**
 * The one registry of Bulwark error codes. Codes are stable and never reused: callers (CLI, REST, RPC,
 * Temporal) match on `code`, never on `instanceof`, because errors cross process boundaries as JSON.
 * Messages are templates: `{name}` is replaced by the matching parameter.
 */
export interface ErrorSpec {
  /** HTTP status the REST API answers with. */
  status: number;
  /** Message template; says what was wrong and, where it helps, what to do. */
  message: string;
  /** True when trying again later may succeed (I/O hiccups, a busy lease); drives engine retries. */
  retryable: boolean;
}

const spec = (status: number, message: string, retryable = false): ErrorSpec => ({ status, message, retryable });

export const ERRORS = {
  BWK_ERR_INTERNAL: spec(500, 'internal error: {reason}'),
  BWK_ERR_INVALID_INPUT: spec(400, '{reason}'),
  BWK_ERR_INVALID_ID: spec(400, '{kind} id "{id}" is not a UUID'),
  BWK_ERR_CONTROL_CHARACTER: spec(
    400,
    '{field} holds the control character {char} (character {position}): names and descriptions must be printable text, as a terminal ' +
      'showing them would act on it',
  ),
  BWK_ERR_INVALID_DURATION: spec(
    400,
    '{option} {value} is not a duration: give a whole number and a unit, s, m, h or d (30m, 12h, 90d), of at most 3650d',
  ),
  BWK_ERR_NOT_FOUND: spec(404, '{reason}'),
  BWK_ERR_BODY_TOO_LARGE: spec(400, 'the request body is larger than {limit} bytes'),
  BWK_ERR_JSON_TOO_DEEP: spec(
    400,
    'the request body nests arrays and objects more than {limit} levels deep (api.json_max_depth): send flatter JSON',
  ),
  BWK_ERR_QUOTA_EXCEEDED: spec(
    403,
    'project {project} already has {count} {kind}s, its quota {quota} ({source}) is {limit}: delete some first, or ask an admin to ' +
      'raise it (`karbor quota-update`: docs/api.md "Quotas")',
  ),
  BWK_ERR_OBJECT_TOO_LARGE: spec(
    413,
    '{what} is {size} bytes as JSON, more than the {limit} bytes quotas.{key} allows: store less there (a reference to the data, ' +
      'not the data), or ask an operator to raise the quota',
  ),
  BWK_ERR_REQUEST_TIMEOUT: spec(
    408,
    'the request did not arrive in time (headers within {headers_timeout_ms} ms, all of it within {timeout_ms} ms): send it without pauses',
  ),
  BWK_ERR_HEADERS_TOO_LARGE: spec(431, 'the request headers are larger than {limit} bytes'),
  BWK_ERR_UNAUTHORIZED: spec(
    401,
    'a valid X-Auth-Token header is required (create one with `bulwark token create --project P --role member`)',
  ),
  BWK_ERR_TOKEN_EXPIRED: spec(401, 'the X-Auth-Token has expired: ask an operator for a new one (`bulwark token create`)'),
  BWK_ERR_TOO_MANY_ATTEMPTS: spec(
    429,
    'too many failed authentications from this address: try again in {retry_after_s} s with a valid X-Auth-Token',
  ),
  BWK_ERR_FORBIDDEN: spec(403, '{reason}'),
  BWK_ERR_METRICS_UNAUTHORIZED: spec(
    401,
    '/metrics from {address} needs `Authorization: Bearer <token>` with the token held by the variable metrics.token_env names ' +
      '(metrics.access is {access}; docs/operations.md "Metrics")',
  ),
  BWK_ERR_CONFIG_INVALID: spec(400, 'configuration {file}: {reason}'),
  BWK_ERR_TLS_CONFIG: spec(500, 'TLS for the API (api.tls): {reason}'),
  BWK_ERR_TLS_KEY_EXPOSED: spec(
    500,
    'TLS key file {path} is readable by every user (mode {mode}): run `chmod o-rwx {path}` (0600 or 0640 with a group like ssl-cert)',
  ),
  BWK_ERR_HTTPS_REQUIRED: spec(400, 'this port serves https, not plain http: use an https:// URL'),
  BWK_ERR_TLS_UNTRUSTED: spec(
    502,
    'the Bulwark service at {url} presented a certificate this client does not trust ({reason}): give the CA that signed it with ' +
      '--ca-file or BULWARK_CA_FILE (or NODE_EXTRA_CA_CERTS)',
  ),
  BWK_ERR_HOME_UNUSABLE: spec(500, 'Bulwark home {path} cannot be used: {reason}'),
  BWK_ERR_CATALOG_UNUSABLE: spec(500, 'catalog {location} cannot be used: {reason}'),

  BWK_ERR_PROVIDER_NOT_FOUND: spec(404, 'provider {id} not found (known providers: {known})'),
  BWK_ERR_PROVIDER_UNKNOWN: spec(400, 'provider_id {id} names no provider (known providers: {known})'),
  BWK_ERR_PROVIDER_MISMATCH: spec(
    400,
    'plan {plan} is protected by provider {plan_provider}, not {provider}: protect it under provider {plan_provider}, or change the ' +
      "plan's provider",
  ),
  BWK_ERR_PROVIDER_INVALID: spec(400, 'provider file {file}:{line}: {reason}'),
  BWK_ERR_PLUGIN_NOT_INSTALLED: spec(400, 'provider file {file}:{line}: plugin "{name}" is not installed (installed: {installed})'),
  BWK_ERR_PLUGIN_LOAD_FAILED: spec(400, 'provider file {file}:{line}: plugin module "{module}" could not be loaded: {reason}'),
  BWK_ERR_PLUGIN_API_VERSION: spec(
    400,
    'provider file {file}:{line}: plugin module "{module}" has apiVersion {version}, this Bulwark supports plugin API version ' +
      '{supported}: install a release of the plugin written for a supported version (its `bulwark/plugin-api/v<N>` import), or ' +
      'a Bulwark that supports its version (docs/plugin-authoring.md "Compatibility")',
  ),
  BWK_ERR_PLUGIN_INVALID: spec(400, 'plugin {name}: {reason}'),

  BWK_ERR_RESOURCE_TYPE_UNKNOWN: spec(400, 'resource type "{type}" is not protected by provider {provider} (supported: {supported})'),
  BWK_ERR_PROTECTABLE_TYPE_UNKNOWN: spec(404, 'protectable type "{type}" is not known (known: {known})'),
  BWK_ERR_RESOURCE_NOT_FOUND: spec(404, 'resource {type}#{id} not found: {reason}'),
  BWK_ERR_RESOURCE_GRAPH_CYCLE: spec(400, 'resource graph has a cycle: {cycle}'),
  BWK_ERR_PARAMETERS_INVALID: spec(400, '{kind} parameters for "{key}" are invalid: {reason}'),
  BWK_ERR_PARAMETERS_KEY_UNKNOWN: spec(
    400,
    '{kind} parameters key "{key}" names no resource type or resource of this plan (expected "<type>" or "<type>#<id>" for: {expected})',
  ),

  BWK_ERR_PROJECT_NOT_FOUND: spec(404, 'project {id} not found'),
  BWK_ERR_TOKEN_NOT_FOUND: spec(404, 'token {id} not found'),
  BWK_ERR_PLAN_NOT_FOUND: spec(404, 'plan {id} not found'),
  BWK_ERR_PLAN_INVALID: spec(400, 'plan is invalid: {reason}'),
  BWK_ERR_CHECKPOINT_NOT_FOUND: spec(404, 'checkpoint {id} not found'),
  BWK_ERR_CHECKPOINT_STATE: spec(409, 'checkpoint {id} is {status}: cannot {action} (allowed from: {allowed})'),
  BWK_ERR_COPY_SAME_BANK: spec(
    400,
    'checkpoint {id} of provider {source_provider} cannot be copied to provider {provider}: they share one bank, so a copy would ' +
      'hold nothing new. Copy to a provider whose provider file names another bank',
  ),
  BWK_ERR_DEPLOYMENT_KEY_MISSING: spec(
    400,
    'this deployment has no signing key ({file}): create one with `bulwark key create`, then give its public key to whoever imports',
  ),
  BWK_ERR_DEPLOYMENT_KEY_EXISTS: spec(
    409,
    'this deployment already has a signing key ({file}, public key {public_key}): archives signed with it would no longer verify ' +
      'with a new one, so it is kept. `bulwark key show` prints it',
  ),
  BWK_ERR_EXPORT_PASSPHRASE_REQUIRED: spec(
    400,
    'the export passphrase is read from the environment variable {variable}, which is not set (or is shorter than 8 characters): ' +
      'set it (the same on the importing side)',
  ),
  BWK_ERR_EXPORT_PASSPHRASE_WRONG: spec(
    400,
    'the passphrase in {variable} does not open archive {file}: set the one it was exported with. Nothing was imported',
  ),
  BWK_ERR_ARCHIVE_INVALID: spec(
    422,
    'archive {file} is refused at {entry}: {reason}. Nothing was imported: export it again, or copy it again if it was damaged on the way',
  ),
  BWK_ERR_ARCHIVE_UNTRUSTED: spec(
    403,
    "archive {file} is signed by {public_key}, which this deployment does not trust: if that is the exporting deployment's key " +
      '(`bulwark key show` there), import with --trust-key {public_key}. Nothing was imported',
  ),
  BWK_ERR_CHECKPOINT_IN_USE: spec(409, 'checkpoint {id} is in use by {user}: try again when it has finished'),
  BWK_ERR_RESTORE_NOT_FOUND: spec(404, 'restore {id} not found'),
  BWK_ERR_VERIFICATION_NOT_FOUND: spec(404, 'verification {id} not found'),
  BWK_ERR_RESTORE_TARGET_UNSUPPORTED: spec(
    400,
    'restore_target "{target}" is not supported: each resource is restored where its restore parameters say (fs.directory: ' +
      '{"parameters": {"fs.directory": {"target_path": ...}}}; see restore_schema in the provider\'s extended_info_schema). ' +
      'Leave restore_target out, or null',
  ),
  BWK_ERR_TRIGGER_INVALID: spec(400, 'trigger {field} is invalid: {reason}'),
  BWK_ERR_TRIGGER_NOT_FOUND: spec(404, 'trigger {id} not found'),
  BWK_ERR_TRIGGER_IN_USE: spec(409, 'trigger {id} is used by scheduled operation(s) {operations}: delete them first'),
  BWK_ERR_PLAN_IN_USE: spec(409, 'plan {id} is used by scheduled operation(s) {operations}: delete them first'),
  BWK_ERR_SCHEDULED_OPERATION_INVALID: spec(400, 'scheduled operation {field} is invalid: {reason}'),
  BWK_ERR_SCHEDULED_OPERATION_NOT_FOUND: spec(404, 'scheduled operation {id} not found'),
  BWK_ERR_OPERATION_LOG_NOT_FOUND: spec(404, 'operation log {id} not found'),
  BWK_ERR_RESOURCE_DENIED: spec(403, 'project {project} may not {action} {resource}: {reason}'),
  BWK_ERR_RESTORE_TARGET_DENIED: spec(400, 'restore target {target} is outside the restore policy: {reason}'),
  BWK_ERR_RESTORE_CONFLICT: spec(
    409,
    'restore target {target} already holds {count} entr(y/ies) the checkpoint would write (first: {first}); pass conflict "skip" or ' +
      '"overwrite", or choose an empty target',
  ),
  BWK_ERR_UNSAFE_ENTRY: spec(
    400,
    'checkpoint entry "{entry}" would be written outside the target {target} ({reason}); nothing was restored',
  ),

  BWK_ERR_BANK_KEY_INVALID: spec(400, 'bank key "{key}" is invalid: {reason}'),
  BWK_ERR_BANK_OBJECT_NOT_FOUND: spec(404, 'bank object {key} not found'),
  BWK_ERR_BANK_IO: spec(503, 'bank I/O failed on {key}: {reason}', true),
  BWK_ERR_BANK_KEY_REQUIRED: spec(
    400,
    'bank {bank} is encrypted: set bank.encryption (passphrase_env or key_file) in the provider file to use it',
  ),
  BWK_ERR_BANK_KEY_WRONG: spec(
    403,
    'bank {bank}: the configured encryption key does not open this bank (wrong passphrase or key file); nothing was read or written',
  ),
  BWK_ERR_BANK_NOT_ENCRYPTED: spec(
    400,
    'bank {bank} was created without encryption but the provider file sets bank.encryption: remove it, or protect into a new bank',
  ),
  BWK_ERR_BANK_OBJECT_EXISTS: spec(409, 'bank object {key} already exists and is never overwritten'),
  BWK_ERR_BANK_ACCESS: spec(
    503,
    'bank {bank} refused access: {reason}. Check the bucket name, the credentials (credentials_file or the AWS environment) and ' +
      'their permissions',
  ),
  BWK_ERR_BANK_CONDITIONAL_WRITES_UNSUPPORTED: spec(
    501,
    'bank {bank}: the server does not honour {missing}. Leases and packs rely on conditional writes, so the bank is not used: ' +
      'use a server that supports them (AWS S3, MinIO from 2024 on)',
  ),
  BWK_ERR_BANK_CHECK_FAILED: spec(422, 'bank {bank} check found problems: {summary}. Run `bulwark bank check --read-data` for details'),
  BWK_ERR_LEASE_HELD: spec(409, 'lease {owner} is held until {expires_at}', true),
  BWK_ERR_LEASE_LOST: spec(409, 'lease {owner} was lost (expired or taken over): the operation stops to keep data safe'),

  BWK_ERR_CONSISTENCY_HOOK_FAILED: spec(500, '{phase} command of {resource} failed: {reason}'),
  BWK_ERR_DATA_CORRUPT: spec(422, '{resource}: stored data is corrupt: {reason}'),
  BWK_ERR_DUMP_FAILED: spec(500, '{resource}: {tool} failed ({status}); nothing was stored. Its last output: {stderr}'),
  BWK_ERR_RESTORE_FAILED: spec(500, '{resource}: restore into {target} failed: {reason}'),
  BWK_ERR_ENTRIES_NOT_CAPTURED: spec(
    422,
    '{resource}: {count} entr(y/ies) could not be captured (first: {first}); nothing was stored. Give the protecting user read access, ' +
      'exclude them, or set the option on_unreadable: warn to store the rest and list them',
  ),
  BWK_ERR_ENTRIES_NOT_RESTORED: spec(
    500,
    '{resource}: {count} entr(y/ies) were not restored as archived (first: {first}). Restore to a filesystem that supports them, ' +
      'as root for devices, or pass the restore parameter on_not_restored: warn to accept and list the difference',
  ),
  BWK_ERR_TOOL_FAILED: spec(502, '{target}: {tool} failed ({status}): {stderr}'),
  BWK_ERR_TASK_TIMEOUT: spec(504, 'task {task} timed out after {timeout_ms} ms', true),
  BWK_ERR_TASK_ABANDONED: spec(
    500,
    'task {task} did not stop within {grace_ms} ms of being cancelled and was abandoned (its hook ignores cancellation: ' +
      'report it to the plugin author; tasks.cancel_grace_ms sets the wait)',
  ),
  BWK_ERR_BANK_NOT_VISIBLE: spec(
    409,
    '{where} cannot see the bank of operation {operation}: checkpoint {checkpoint} is not in the bank it opened ({bank}). Every ' +
      'worker and agent must open the same bank as the processes that start operations (one shared directory or S3 bucket; ' +
      'docs/deploy.md)',
  ),
  BWK_ERR_AGENT_UNAVAILABLE: spec(
    503,
    'no agent for node "{node}" picked up {task} within {timeout_ms} ms: start `bulwark agent --node {node}` on that node',
  ),
  BWK_ERR_SERVICE_DISABLED: spec(
    503,
    'the protection service on {host} is disabled ({reason}): it takes no new operations until an admin enables it ' +
      '(`karbor service-enable`)',
    true,
  ),
  BWK_ERR_SERVICE_NOT_FOUND: spec(404, 'service {id} not found'),
  BWK_ERR_SUBSCRIPTION_NOT_FOUND: spec(404, 'subscription {id} not found'),
  BWK_ERR_WEBHOOK_URL_REFUSED: spec(
    400,
    'webhook URL refused: {reason}; use a public https or http URL, or list the host in notifications.allowed_hosts ' +
      '(or set notifications.allow_private) in bulwark.yaml',
  ),
  BWK_ERR_SERVICE_NOT_DISABLABLE: spec(
    409,
    'service {id} is an API process ({binary}): it serves the requests that would enable services again, so it cannot be ' +
      'disabled; stop it instead',
  ),
  BWK_ERR_SERVICE_UNAVAILABLE: spec(503, 'the Bulwark service at {url} cannot be reached: {reason}', true),
  BWK_ERR_ENGINE_UNAVAILABLE: spec(503, 'the {engine} engine cannot be reached at {address}: {reason}', true),
  BWK_ERR_RPC_UNAVAILABLE: spec(503, 'RPC transport {address} is unavailable: {reason}', true),
  BWK_ERR_RPC_TIMEOUT: spec(
    504,
    'RPC call {method} on queue {queue} got no reply within {timeout_ms} ms: check that a server consumes {queue}; the call may still ' +
      'run, so retry with the same idempotency key',
  ),
  BWK_ERR_RPC_METHOD_UNKNOWN: spec(400, 'RPC method "{method}" is not served on queue {queue} (known: {known})'),
  BWK_ERR_OPERATION_NOT_FOUND: spec(404, 'operation {id} not found (give a checkpoint, restore or verification id)'),
  BWK_ERR_OPERATION_EXISTS: spec(409, 'operation {id} already ran or is running: it is not started again'),
  BWK_ERR_OPERATION_CANCELLED: spec(409, 'operation {id} was cancelled'),
  BWK_ERR_OPERATION_ABANDONED: spec(500, 'operation {id} was abandoned: its process stopped and its lease expired at {expired_at}'),
  BWK_ERR_OPERATION_FAILED: spec(500, '{kind} {id} ended {status}: {reason}'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export type ErrorParams = Record<string, string | number | boolean | undefined>;

/** The serialized form every adapter (CLI, REST, RPC, Temporal) uses. */
export interface ErrorJSON {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** Present only when it differs from the code's registry flag (a plugin opted in or out). */
  retryable?: boolean;
}

export class BulwarkError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    params: ErrorParams = {},
    options: { cause?: unknown; details?: Record<string, unknown>; retryable?: boolean } = {},
  ) {
    const s = ERRORS[code];
    super(formatMessage(s.message, params), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BulwarkError';
    this.code = code;
    this.status = s.status;
    this.retryable = options.retryable ?? s.retryable;
    this.details = { ...params, ...(options.details ?? {}) };
  }

  toJSON(): ErrorJSON {
    return {
      code: this.code,
      message: this.message,
      details: this.details,
      ...(this.retryable === ERRORS[this.code].retryable ? {} : { retryable: this.retryable }),
    };
  }
}

export function formatMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const v = params[name];
    return v === undefined ? whole : String(v);
  });
}

/** Shorthand used everywhere: `throw bwkError('BWK_ERR_PLAN_NOT_FOUND', { id })`. */
export function bwkError(code: ErrorCode, params: ErrorParams = {}, options?: ConstructorParameters<typeof BulwarkError>[2]): BulwarkError {
  return new BulwarkError(code, params, options);
}

/**
 * Whether `err` carries a registry code. True for BulwarkError and for any error (a plugin's
 * PluginError, one rebuilt from JSON) whose `code` is in the registry: callers match on codes.
 */
export function isBulwarkError(
  err: unknown,
  code?: ErrorCode,
): err is Error & { code: ErrorCode; retryable?: boolean; details?: Record<string, unknown> } {
  if (!(err instanceof Error)) return false;
  const c = (err as unknown as { code?: unknown }).code;
  if (typeof c !== 'string' || !Object.hasOwn(ERRORS, c)) return false;
  return code === undefined || c === code;
}

/** Node error codes that describe a passing condition: worth retrying. */
const TRANSIENT_SYSTEM_CODES = new Set(['EAGAIN', 'EBUSY', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EMFILE', 'ENFILE']);

/** Whether an engine should retry a task that threw `err`. Plugins opt in with `retryable: true`. */
export function isRetryable(err: unknown): boolean {
  if (err && typeof err === 'object') {
    const e = err as { retryable?: unknown; code?: unknown };
    if (typeof e.retryable === 'boolean') return e.retryable;
    if (typeof e.code === 'string')
      return Object.hasOwn(ERRORS, e.code) ? ERRORS[e.code as ErrorCode].retryable : TRANSIENT_SYSTEM_CODES.has(e.code);
  }
  return false;
}

/** Any thrown value as a BulwarkError: registry codes and messages are kept, the rest is BWK_ERR_INTERNAL. */
export function toBulwarkError(err: unknown): BulwarkError {
  if (err instanceof BulwarkError) return err;
  if (isErrorJSON(err)) return fromErrorJSON(err);
  if (isBulwarkError(err)) {
    const out = new BulwarkError(
      err.code,
      {},
      { details: err.details, cause: err, ...(typeof err.retryable === 'boolean' ? { retryable: err.retryable } : {}) },
    );
    (out as { message: string }).message = err.message;
    return out;
  }
  const message = err instanceof Error ? err.message : String(err);
  // A plain error keeps its retryability (`retryable: true`, ECONNRESET...) so wrapping it never changes a retry decision.
  return new BulwarkError('BWK_ERR_INTERNAL', { reason: message }, { cause: err, retryable: isRetryable(err) });
}

/** Turns anything thrown into the wire form, without leaking stack traces. */
export function toErrorJSON(err: unknown): ErrorJSON {
  return toBulwarkError(err).toJSON();
}

/** Rebuilds an error received as JSON so `code`, `status` and `retryable` survive the trip. */
export function fromErrorJSON(json: ErrorJSON): BulwarkError {
  const code = (Object.hasOwn(ERRORS, json.code) ? json.code : 'BWK_ERR_INTERNAL') as ErrorCode;
  const err = new BulwarkError(
    code,
    {},
    { details: json.details, ...(typeof json.retryable === 'boolean' ? { retryable: json.retryable } : {}) },
  );
  (err as { message: string }).message = json.message;
  return err;
}

/** An error already in wire form (`{code, message}`), as activities and RPC hand them over. */
export function isErrorJSON(v: unknown): v is ErrorJSON {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Error) &&
    typeof (v as ErrorJSON).code === 'string' &&
    typeof (v as ErrorJSON).message === 'string'
  );
}

/** A short reason string for records (`resources_reason`, `extra_info.reason`). */
export function reasonOf(err: unknown): string {
  if (isErrorJSON(err)) return `${err.code}: ${err.message}`;
  if (isBulwarkError(err)) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
