/**
 * Tests that need a service (Temporal, PostgreSQL, RabbitMQ...) skip with a reason when it is not
 * there, and fail instead when BULWARK_REQUIRE_SERVICES=1 (CI sets it): a missing service must never
 * turn into a green run that tested nothing, nor into a connection error deep inside some test.
 */
import { spawnSync } from 'node:child_process';

/** Long enough for a loaded machine, short enough that a black-holed address does not eat a test's budget. */
const CONNECT_LIMIT_MS = 3_000;

/** Ports of the URL schemes the tests use, for URLs that leave the port out. */
const DEFAULT_PORTS: Record<string, number> = {
  postgres: 5432,
  postgresql: 5432,
  mysql: 3306,
  mariadb: 3306,
  redis: 6379,
  rediss: 6379,
  amqp: 5672,
  amqps: 5671,
};

/**
 * Returns `address` (a URL, or host:port as TEMPORAL_ADDRESS is) once the service accepts a TCP
 * connection there; otherwise fails or skips, naming `name` and the address.
 *
 * Synchronous on purpose (the connect runs in a short-lived child process): callers in plain
 * `before(function () {...})` hooks and in expressions such as `new URL(requireService(...))` keep
 * working, and no caller can silently lose the check by forgetting an `await`.
 */
export function requireService(ctx: Mocha.Context, name: string, address: string | undefined): string {
  if (!address) return unavailable(ctx, `${name} is required but not configured`);
  const { host, port } = serviceEndpoint(address);
  const problem = connectProblem(host, port);
  if (problem !== null)
    return unavailable(ctx, `${name} at ${host.includes(':') ? `[${host}]` : host}:${port} does not answer: ${problem}`);
  return address;
}

/**
 * For what is not a network service (a program, a server feature): `value` says whether it is there.
 * Same rule as requireService: skip with the reason, or fail under BULWARK_REQUIRE_SERVICES=1.
 */
export function requirePrerequisite(ctx: Mocha.Context, what: string, value: string | undefined): string {
  if (value) return value;
  return unavailable(ctx, `${what} is required but not available`);
}

/** Host and port of a service URL (`postgres://u@h:5432/db`) or of `host:port` / `[v6]:port`. */
export function serviceEndpoint(address: string): { host: string; port: number } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) {
    const url = new URL(address);
    const port = Number(url.port || DEFAULT_PORTS[url.protocol.slice(0, -1)]);
    if (!port) throw new Error(`cannot tell the port of ${url.protocol}// service addresses: give one explicitly`);
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost', port };
  }
  const m = /^(?:\[([^\]]+)\]|([^:/]+)):(\d+)$/.exec(address);
  if (!m) throw new Error(`"${address}" is neither a URL nor host:port`);
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

const PROBE = `
const [host, port, limit] = process.argv.slice(1);
const socket = require('node:net').connect({ host, port: Number(port) });
socket.setTimeout(Number(limit), () => { process.stdout.write('no answer within ' + limit + ' ms'); process.exit(1); });
socket.on('connect', () => { socket.destroy(); process.exit(0); });
socket.on('error', (err) => { process.stdout.write(err.code || err.message); process.exit(1); });
`;

/** Null when host:port accepts a connection, else why not (ECONNREFUSED, a timeout...). */
function connectProblem(host: string, port: number): string | null {
  const r = spawnSync(process.execPath, ['-e', PROBE, host, String(port), String(CONNECT_LIMIT_MS)], {
    encoding: 'utf8',
    timeout: CONNECT_LIMIT_MS + 10_000,
  });
  if (r.status === 0) return null;
  return r.stdout?.trim() || r.error?.message || `the connection probe ended with ${r.signal ?? `exit code ${r.status}`}`;
}

function unavailable(ctx: Mocha.Context, reason: string): never {
  if (process.env.BULWARK_REQUIRE_SERVICES === '1') throw new Error(`${reason} (BULWARK_REQUIRE_SERVICES=1)`);
  // Mocha's skip() takes no reason: say it here, or a skipped suite looks like one nobody wrote.
  process.stderr.write(`skipped: ${reason}\n`);
  ctx.skip();
  throw new Error('unreachable');
}

export const temporalAddress = (): string | undefined => process.env.TEMPORAL_ADDRESS;

/** The machine's services (see the developers' brief); overridable per environment. */
export const pgUrl = (): string => process.env.BULWARK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const mariadbUrl = (): string => process.env.BULWARK_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const redisUrl = (): string => process.env.BULWARK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const amqpUrl = (): string => process.env.BULWARK_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
