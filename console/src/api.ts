/**
 * The console's REST client: the same /v1 routes and X-Auth-Token as any client. The token lives in
 * sessionStorage (gone when the tab closes), never in a URL, a cookie or localStorage.
 */
const TOKEN_KEY = 'bulwark.token';

export interface Identity {
  project_id: string;
  role: 'admin' | 'member';
}

/** A refused request: the API's `{code, message}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export const forgetToken = (): void => sessionStorage.removeItem(TOKEN_KEY);

/** Called when the API answers 401: the session is over (token deleted or expired). */
let onUnauthorized: (e: ApiError) => void = () => undefined;
export const setUnauthorizedHandler = (f: (e: ApiError) => void): void => {
  onUnauthorized = f;
};

async function request(token: string, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { 'x-auth-token': token, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), cache: 'no-store' });
}

async function failure(res: Response): Promise<ApiError> {
  let code = 'BWK_ERR_HTTP';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { code?: string; message?: string };
    if (body.code) code = body.code;
    if (body.message) message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

/** Checks a token by asking who it is; keeps it for the session only when the API accepts it. */
export async function signIn(token: string): Promise<Identity> {
  const res = await request(token, 'GET', '/v1/identity');
  if (!res.ok) throw await failure(res);
  sessionStorage.setItem(TOKEN_KEY, token);
  return (await res.json()) as Identity;
}

/** The client of one signed-in project: paths are relative to /v1/{project}. */
export class Api {
  constructor(
    private readonly token: string,
    readonly identity: Identity,
  ) {}

  private url(path: string): string {
    return `/v1/${encodeURIComponent(this.identity.project_id)}${path}`;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await request(this.token, method, this.url(path), body);
    if (!res.ok) {
      const err = await failure(res);
      if (res.status === 401) onUnauthorized(err);
      throw err;
    }
    const text = await res.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /**
   * Follows an operation's Server-Sent Events (GET .../operations/{id}/events). EventSource cannot
   * send X-Auth-Token, so the stream is read with fetch; each event goes to `onEvent` until the
   * stream ends or `signal` aborts.
   */
  async watch(id: string, onEvent: (type: string, data: Record<string, unknown>) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch(this.url(`/operations/${encodeURIComponent(id)}/events`), {
      headers: { 'x-auth-token': this.token, accept: 'text/event-stream' },
      signal,
      cache: 'no-store',
    });
    if (!res.ok || !res.body) throw await failure(res);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = 'message';
        let data = '';
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) type = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) onEvent(type, JSON.parse(data) as Record<string, unknown>);
      }
    }
  }
}
