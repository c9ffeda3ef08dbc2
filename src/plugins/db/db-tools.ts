/**
 * What the tools of every dump-based family (PgTools, MariaDbTools) share: the configured servers,
 * credentials read only when a tool is about to run, each client tool's `--version` (asked once per
 * tool, recorded with each dump), and running the family's SQL client. What differs between the
 * families is given by a ToolFamily.
 */
import { bwkError } from '../../core/errors.js';
import { describeExit, runToolCollect, succeeded } from './run-tool.js';
import type { ToolExit } from './run-tool.js';
import { readPassword, toolEnv } from './server-config.js';
import type { DbServer } from './server-config.js';

/** Credentials for one tool run, read at use time. */
export interface ToolSession {
  env: Record<string, string>;
  /** Values scrubbed from tool output (the password). */
  secrets: string[];
}

export interface ToolFamily<S extends DbServer> {
  /** Names the family's servers in errors (`postgres server "main"`). */
  name: string;
  /** The `<family>.server` resource type, which a missing server is reported as by default. */
  serverType: string;
  /** The environment variable the family's tools read the password from (PGPASSWORD, MYSQL_PWD). */
  passwordVar: string;
  /** Arguments that make a tool print its version line. */
  versionArgs: readonly string[];
  /** What a failed `--version` says when the tool printed nothing: usually that it is not installed. */
  versionHint: string;
  /** Where the server is, for errors: `host:port`, or a socket. */
  address(server: S): string;
  /** Environment a tool needs besides PATH, LANG and the password. */
  env?(server: S): Record<string, string>;
}

const toolFailed = (target: string, tool: string, exit: ToolExit, silent: string): Error =>
  bwkError('BWK_ERR_TOOL_FAILED', { target, tool, status: describeExit(exit), stderr: exit.stderr || silent });

export class DbTools<S extends DbServer> {
  private readonly versions = new Map<string, Promise<string>>();

  constructor(
    readonly servers: ReadonlyMap<string, S>,
    private readonly family: ToolFamily<S>,
  ) {}

  /** A configured server, or BWK_ERR_RESOURCE_NOT_FOUND for `type#id` listing the configured ones. */
  server(name: string, type = this.family.serverType, id = name): S {
    const s = this.servers.get(name);
    if (!s)
      throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', {
        type,
        id,
        reason: `server "${name}" is not configured in this provider (configured: ${[...this.servers.keys()].join(', ')})`,
      });
    return s;
  }

  async session(server: S): Promise<ToolSession> {
    const password = await readPassword(server);
    return {
      env: toolEnv(this.family.passwordVar, password, this.family.env?.(server)),
      secrets: password === undefined ? [] : [password],
    };
  }

  /** `<tool> --version`, once per tool; recorded with each dump. */
  toolVersion(tool: string, signal: AbortSignal): Promise<string> {
    let v = this.versions.get(tool);
    if (!v) {
      v = runToolCollect(tool, this.family.versionArgs, { env: toolEnv(this.family.passwordVar, undefined), signal }).then(
        ({ stdout, exit }) => {
          if (!succeeded(exit)) throw toolFailed('this host', tool, exit, this.family.versionHint);
          return stdout.toString('utf8').trim();
        },
      );
      v.catch(() => this.versions.delete(tool));
      this.versions.set(tool, v);
    }
    return v;
  }

  /** Runs the family's SQL client `tool` with `sql` on its stdin; its stdout, or its failure naming the server. */
  protected async runSql(server: S, tool: string, args: readonly string[], sql: string, signal: AbortSignal): Promise<Buffer> {
    const { env, secrets } = await this.session(server);
    const { stdout, exit } = await runToolCollect(tool, args, { env, signal, secrets, stdin: sql });
    if (!succeeded(exit)) {
      if (exit.aborted && signal.reason instanceof Error) throw signal.reason;
      throw toolFailed(`${this.family.name} server "${server.name}" (${this.family.address(server)})`, tool, exit, '(none)');
    }
    return stdout;
  }
}
