/**
 * A nesting limit on JSON request bodies, enforced on the raw bytes before any parser builds the
 * object (issue 14: a 5,000-deep body parsed fine, then overflowed the stack of whatever walked it —
 * schema validation, parameter checks — and answered a raw 500). The check wraps the body stream in
 * a `preParsing` hook, so it composes with whichever application/json parser the server registers
 * and refuses a deep body as soon as its bytes arrive, without buffering the rest.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyReply, FastifyRequest, preParsingHookHandler } from 'fastify';
import { bwkError } from '../core/errors.js';

/** The default of `api.json_max_depth`: deeper than any Karbor body, far from any stack limit. */
export const DEFAULT_JSON_MAX_DEPTH = 64;

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Tracks the nesting depth of JSON text fed to it in pieces. Brackets inside strings do not count
 * (escapes included, even split across pieces). Works on UTF-8 bytes: every byte it looks at is
 * ASCII, and no byte of a multi-byte character is. Malformed JSON is not its concern — the parser
 * refuses that — it only guarantees that nothing deeper than `maxDepth` reaches the parser.
 */
export class JsonDepthScanner {
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(readonly maxDepth: number) {}

  /** Scans the next piece; throws BWK_ERR_JSON_TOO_DEEP as soon as the depth passes `maxDepth`. */
  push(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (b === BACKSLASH) this.#escaped = true;
        else if (b === QUOTE) this.#inString = false;
      } else if (b === QUOTE) {
        this.#inString = true;
      } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        if (++this.#depth > this.maxDepth) throw bwkError('BWK_ERR_JSON_TOO_DEEP', { limit: this.maxDepth });
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        this.#depth--;
      }
    }
  }
}

/** Throws BWK_ERR_JSON_TOO_DEEP when `text` nests deeper than `maxDepth` (for JSON that arrives whole, e.g. in a query). */
export function assertJsonDepth(text: string, maxDepth: number): void {
  new JsonDepthScanner(maxDepth).push(Buffer.from(text, 'utf8'));
}

const isJson = (request: FastifyRequest): boolean => /\bjson\b/i.test(request.headers['content-type'] ?? '');

/**
 * The `preParsing` hook: a JSON body passes through a scanner on its way to the parser; the first
 * byte past `maxDepth` fails the request with a coded 400. Other bodies are left alone.
 */
export function jsonDepthLimit(maxDepth: number = DEFAULT_JSON_MAX_DEPTH): preParsingHookHandler {
  return (request: FastifyRequest, _reply: FastifyReply, payload, done) => {
    if (!isJson(request)) {
      done(null, payload);
      return;
    }
    const scanner = new JsonDepthScanner(maxDepth);
    const checked = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
        try {
          scanner.push(chunk);
          callback(null, chunk);
        } catch (err) {
          callback(err as Error);
        }
      },
    });
    payload.on('error', (err) => checked.destroy(err));
    done(null, payload.pipe(checked));
  };
}
