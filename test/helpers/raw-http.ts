/**
 * HTTP as a hostile or broken client speaks it, over a bare TCP socket: headers that never finish, a
 * body that drips, a header too large. Node's own client would refuse to send most of these.
 */
import { connect, type Socket } from 'node:net';

const opened = new Set<Socket>();

/** Closes every raw connection still open (a test that failed leaves its dripping sockets behind). */
export function destroyRawConnections(): void {
  for (const socket of opened) socket.destroy();
}

export interface RawConnection {
  socket: Socket;
  /** Everything the server has sent so far. */
  received(): string;
  /** Resolves with everything received once the server has closed the connection. */
  closed: Promise<string>;
  /** Sends `byte` every `everyMs` until the connection closes. */
  drip(everyMs: number, byte?: string): void;
}

/**
 * Opens a connection that stays open until the server closes it: half-open is allowed, so a FIN from
 * the server does not make this side close too while it drips. A server that only half-closes while it
 * keeps reading still holds the socket; one that really closed answers the next drip with a reset.
 */
export function openRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    opened.add(socket);
    socket.on('close', () => opened.delete(socket));
    let data = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d) => (data += d.toString('latin1')));
    const closed = new Promise<string>((done) => {
      socket.on('close', () => {
        clearInterval(timer);
        done(data);
      });
      // The server's FIN: a client with nothing more to send is done. A dripping one keeps sending, so only
      // a server that really closed (and resets the next drip) ends it.
      socket.on('end', () => {
        if (timer === undefined) socket.destroy();
      });
    });
    socket.on('error', () => undefined); // a reset from the server is a close too
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed,
        drip(everyMs, byte = 'x') {
          timer = setInterval(() => {
            if (!socket.destroyed && socket.writable) socket.write(byte);
          }, everyMs);
        },
      }),
    );
    socket.once('error', reject);
  });
}

/** `promise`, or a failure naming `what` once `limitMs` passes: an upper bound, not a timing assertion. */
export function within<T>(what: string, promise: Promise<T>, limitMs: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${limitMs} ms`)), limitMs);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** The status and JSON body of a raw HTTP/1.1 response. */
export function parseResponse(raw: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const text = rest.join('\r\n\r\n');
  return { status, headers: head.toLowerCase(), body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}
