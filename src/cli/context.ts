import { readFileSync } from 'node:fs';
import type { BulwarkApp } from '../processes/app.js';
import { bwkError } from '../core/errors.js';
import { isUuid } from '../common/ids.js';
import type { RequestContext } from '../protection-manager/request.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { SchedulingService } from '../operation-engine/service.js';
import type { OperationEvent } from '../protection-manager/events.js';
import type { RunningProcess } from '../processes/process.js';
import type { Output, OutputFormat } from './output.js';
import { createOutput } from './output.js';
import { stopSignal } from './stop-signal.js';
import { parseApiRetry, type ApiRetry } from './api-retry.js';

export interface GlobalOptions {
  home?: string;
  output?: string;
  url?: string;
  caFile?: string;
  apiRetry?: string;
}

/** How a command's action runs: given the command's body, the function commander calls. */
export type Run = (fn: (cli: CliContext) => Promise<void>) => () => Promise<void>;

/** A command's view of Bulwark: embedded (an app in this process) or remote (a server's REST API). */
/**
 * Bank upkeep is an admin's: embedded, whoever runs the CLI has the home (the bank and its key) and
 * acts as its admin; with --url, the token's role decides (a member gets BWK_ERR_FORBIDDEN).
 */
export const localAdmin = (s: CliSession): CliSession => (s.app ? { ...s, ctx: { ...s.ctx, admin: true } } : s);

export interface CliSession {
  service: ProtectionService;
  /** Triggers, scheduled operations and operation logs. */
  scheduling: SchedulingService;
  ctx: RequestContext;
  /** Present when embedded: progress events, the engine, the catalog. */
  app?: BulwarkApp;
  /** Whether an operation outlives this CLI process (remote server, or the temporal engine). */
  durable: boolean;
  /** With --url: the server's event stream of one operation (the progress bar's feed); the function stops it. */
  followEvents?: (operationId: string, listener: (e: OperationEvent) => void) => () => void;
}

/** What every command gets: the output, and the app opened on demand (and closed after). */
export class CliContext {
  exitCode = 0;
  readonly out: Output;

  /** How long to wait out an unreachable API while following an operation (--api-retry). */
  readonly apiRetry: ApiRetry;

  constructor(readonly globals: GlobalOptions) {
    const format = (globals.output ?? 'table') as OutputFormat;
    this.out = createOutput(format === 'json' ? 'json' : 'table');
    if (globals.output !== undefined && globals.output !== 'json' && globals.output !== 'table') {
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `-o must be "table" or "json", not "${globals.output}"` });
    }
    this.apiRetry = { budgetMs: parseApiRetry(globals.apiRetry), note: (text) => this.out.note(text) };
  }

  /** The server to talk to: --url or BULWARK_URL; undefined runs embedded. */
  get url(): string | undefined {
    return this.globals.url ?? process.env.BULWARK_URL ?? undefined;
  }

  /**
   * Runs a command against the service: the REST API when a URL is set (token from BULWARK_TOKEN —
   * never a flag, so it stays out of process listings), otherwise an embedded app.
   */
  async withService<T>(fn: (s: CliSession) => Promise<T>): Promise<T> {
    const url = this.url;
    if (url) {
      const token = process.env.BULWARK_TOKEN;
      if (!token) throw bwkError('BWK_ERR_UNAUTHORIZED');
      const { HttpProtectionService } = await import('../api/client.js');
      const { readCaFile } = await import('../api/http-request.js');
      // An https server signed by the operator's CA: --ca-file or BULWARK_CA_FILE (NODE_EXTRA_CA_CERTS also works).
      const caFile = this.globals.caFile ?? (process.env.BULWARK_CA_FILE || undefined);
      const { HttpSchedulingService } = await import('../api/scheduling-client.js');
      const service = new HttpProtectionService(url, token, caFile === undefined ? undefined : readCaFile(caFile));
      const scheduling = new HttpSchedulingService(service.transport);
      const who = await service.identity();
      const ctx = { projectId: who.project_id, admin: who.role === 'admin' };
      const followEvents = (id: string, listener: (e: OperationEvent) => void) =>
        service.transport.events(service.transport.path(ctx, `/operations/${encodeURIComponent(id)}/events`), listener);
      return fn({ service, scheduling, ctx, durable: true, followEvents });
    }
    return this.withApp((app, ctx) => fn({ service: app.manager, scheduling: app.scheduling, ctx, app, durable: app.engine.durable }));
  }

  /** The Bulwark home: --home, else $BULWARK_HOME, else ~/.bulwark. */
  async home(): Promise<string> {
    const { resolveHome } = await import('../processes/app.js');
    return resolveHome(this.globals.home);
  }

  /** The Bulwark home of a command that runs where the data is (serve, worker, token), never against --url. */
  async localHome(): Promise<string> {
    if (this.url)
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason: "this command runs where Bulwark's home is, not against --url/BULWARK_URL: unset it",
      });
    return this.home();
  }

  /**
   * Runs a long-lived process module until SIGTERM/SIGINT (or until it ends on its own), writing its
   * note to stderr and its ready line to stdout.
   */
  async runProcess(process: RunningProcess): Promise<void> {
    this.out.note(process.note);
    if (process.ready) globalThis.process.stdout.write(`${JSON.stringify(process.ready)}\n`);
    // SIGHUP reloads; without a listener Node's default action would end the process (a closed terminal, `kill -HUP`).
    const reload = (): void => {
      if (!process.reload) return this.out.note('SIGHUP: this process has nothing to reload');
      process.reload().then(
        (note) => this.out.note(note),
        (err: unknown) => this.out.error(err),
      );
    };
    globalThis.process.on('SIGHUP', reload);
    try {
      await (process.done ?? stopSignal());
    } finally {
      globalThis.process.off('SIGHUP', reload);
      // A second signal while stopping means "now": an operator should never need SIGKILL.
      const now = (): never => globalThis.process.exit(1);
      globalThis.process.once('SIGTERM', now).once('SIGINT', now);
      await process.stop();
      // Abandoned hooks (tasks.cancel_grace_ms) may leave a handle behind, a child or a socket: once
      // everything Bulwark owns is closed, they do not keep the process alive. Unref'd: a clean exit is not delayed.
      setTimeout(() => globalThis.process.exit(globalThis.process.exitCode ?? 0), FORCED_EXIT_MS).unref();
    }
  }

  /** Commands that only make sense on the machine that holds the data (token). */
  async withApp<T>(fn: (app: BulwarkApp, req: RequestContext) => Promise<T>): Promise<T> {
    const home = await this.localHome();
    // The embedded app (catalog, providers, engine) is loaded only by a command that opens it, not by --help or --url.
    const { openBulwark } = await import('../processes/app.js');
    const app = await openBulwark(home);
    for (const warning of app.warnings) this.out.note(`warning: ${warning}`);
    try {
      return await fn(app, { projectId: app.config.project, admin: false });
    } finally {
      await app.close();
    }
  }
}

/** How long a stopped process may linger on handles it no longer owns before it exits anyway. */
const FORCED_EXIT_MS = 2000;

/** `--parameters '{"fs.directory": {...}}'`: JSON, an object, or a clear error. */
export function parseJsonOption(name: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${name} is not valid JSON: ${(err as Error).message}` });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${name} must be a JSON object` });
  return value as Record<string, unknown>;
}

/** Accepts a provider's UUID or its name (`fs-directory`): names are what people remember. */
export async function resolveProviderId(s: CliSession, ref: string): Promise<string> {
  if (isUuid(ref)) return ref;
  return (await s.service.showProvider(s.ctx, ref)).id; // by name; BWK_ERR_PROVIDER_NOT_FOUND lists what exists
}

export function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `cannot read ${path}: ${(err as Error).message}` });
  }
}

/** `--resource TYPE=ID`, repeatable. */
export function parseResourceOption(values: string[]): Array<{ type: string; id: string }> {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1)
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `--resource must be TYPE=ID (e.g. fs.directory=/srv/data), not "${v}"` });
    return { type: v.slice(0, eq), id: v.slice(eq + 1) };
  });
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function parseDateOption(name: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (Number.isNaN(d.getTime()))
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `${name} must be an ISO-8601 date or time (2026-11-22 or 2026-11-22T10:00:00Z), not "${text}"`,
    });
  return d;
}

/** `--port`: 0 (any free port) to 65535, for every command that listens. */
export function parsePort(text: string | undefined, option = '--port'): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 0 || n > 65535)
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `${option} must be a whole number from 0 to 65535 (0: any free port), not "${text}"`,
    });
  return n;
}

export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10000)
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `--limit must be a whole number from 1 to 10000, not "${text}"` });
  return n;
}
