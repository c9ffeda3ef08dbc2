/**
 * The operator web console (docs/console.md): static files built by `npm run build` into
 * dist/console, served at `/` and `/console/<file>`. The browser signs in with an API token and
 * calls the same /v1 routes as any client, so the console adds no authority of its own.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody } from './error-body.js';

/** Where the build puts the bundle: dist/console beside dist/src. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

/**
 * Only the bundle's own files, from this origin: no inline script or style (the build writes none),
 * no framing, no plugins, no form posts elsewhere. connect-src 'self' covers the API and its event streams.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Reads the console's files once, into memory: requests look a name up in this map and never touch
 * the file system, so no URL (`..`, encoded slashes) can reach another file. Only regular (not symlinked)
 * files with a known type directly in `dir` are taken.
 */
export function loadConsoleFiles(dir: string = CONSOLE_DIR): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return files; // not built: the console answers 404 with a code saying so
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    const path = join(dir, name);
    if (type && lstatSync(path).isFile()) files.set(name, { body: readFileSync(path), type });
  }
  return files;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

/** `GET /` (the page) and `GET /console/:file` (its script and style sheet). */
export function consoleRoutes(app: FastifyInstance, files = loadConsoleFiles()): void {
  const send = (reply: FastifyReply, name: string, url: string) => {
    const file = files.get(name);
    if (!file) {
      const reason = files.size === 0 ? 'the console is not built (run npm run build)' : `no console file ${url}`;
      return secure(reply).status(404).send(errorBody('BWK_ERR_NOT_FOUND', reason));
    }
    // index.html names the bundle without a version, so nothing may be cached without asking again.
    return secure(reply).type(file.type).header('cache-control', 'no-cache').send(file.body);
  };
  app.get('/', async (_req, reply) => send(reply, 'index.html', '/'));
  app.get('/console/:file', async (req, reply) => send(reply, (req.params as { file: string }).file, req.url.split('?')[0]!));
}
