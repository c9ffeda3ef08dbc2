import { cliJson } from './cli.js';
import type { Daemon } from './processes.js';
import { startDaemon } from './processes.js';

/** A REST call of one project's member: the status and the parsed body ({} when it has none). */
export type RestCall = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: Record<string, unknown> }>;

/** `bulwark serve --port 0` of `home`, once it listens, with the URL it printed. */
export async function startServe(home: string): Promise<{ serve: Daemon; url: string }> {
  const serve = await startDaemon(home, ['serve', '--port', '0'], /"url":"[^"]+"/);
  const url = (JSON.parse(/\{"url".*\}/.exec(serve.output())![0]) as { url: string }).url;
  return { serve, url };
}

/** A member token of `project` (made with the CLI, as an operator would) and calls under `/v1/<project>`. */
export async function memberClient(home: string, url: string, project: string): Promise<RestCall> {
  const token = (await cliJson<{ token: string }>(home, ['token', 'create', '--project', project, '--role', 'member'])).token;
  return async (method, path, body) => {
    const res = await fetch(`${url}/v1/${project}${path}`, {
      method,
      headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
}
