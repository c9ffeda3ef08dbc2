/**
 * The client side of an operation's event stream (GET /v1/{project}/operations/{id}/events): how
 * `bulwark checkpoint create --url` draws the same progress bar as an embedded run. Best effort: a
 * stream that cannot open or breaks only stops the bar; the command still follows the record.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { OperationEvent } from '../protection-manager/events.js';
import type { agentsFor } from './http-request.js';

/** One SSE message's fields (`event:` and the joined `data:` lines). */
export interface SseMessage {
  event: string;
  data: string;
}

/** Splits an SSE byte stream into messages (blank-line separated; comments and unknown fields ignored). */
export class SseParser {
  private buffer = '';

  constructor(private readonly onMessage: (m: SseMessage) => void) {}

  push(text: string): void {
    this.buffer += text.replace(/\r\n?/g, '\n');
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon === 0) continue;
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) this.onMessage({ event, data: data.join('\n') });
    }
  }
}

/** Whether a stream message is an operation event (the stream also sends its own `status`). */
function asOperationEvent(m: SseMessage): OperationEvent | undefined {
  if (m.event === 'status') return undefined;
  try {
    const e = JSON.parse(m.data) as OperationEvent;
    return typeof e === 'object' && e !== null && e.type === m.event && typeof e.operationId === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** Opens the stream of `url` with the token; calls `listener` per event until the returned function is called. */
export function streamOperationEvents(
  url: URL,
  token: string,
  agents: ReturnType<typeof agentsFor>,
  listener: (e: OperationEvent) => void,
): () => void {
  const secure = url.protocol === 'https:';
  const abort = new AbortController();
  const parser = new SseParser((m) => {
    const e = asOperationEvent(m);
    if (e) listener(e);
  });
  const req = (secure ? httpsRequest : httpRequest)(
    url,
    {
      method: 'GET',
      headers: { 'x-auth-token': token, accept: 'text/event-stream' },
      agent: secure ? agents.https : agents.http,
      signal: abort.signal,
    },
    (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (text: string) => parser.push(text));
      res.on('error', () => undefined);
    },
  );
  req.on('error', () => undefined);
  req.end();
  return () => abort.abort();
}
