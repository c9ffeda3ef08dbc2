import { appendFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeFilePrivate, makePrivateDir, PRIVATE_FILE_MODE } from './private-files.js';
import { stringifyJsonSafely } from '../core/control-chars.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values never reach a log line, whatever a caller passes. */
const SECRET_KEY = /pass(word)?|secret|token|credential|private[_-]?key|api[_-]?key/i;
/** Names that match SECRET_KEY but hold no secret: a token's id is what makes a request attributable. */
const NOT_SECRET = new Set(['token_id']);

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `fields` (operation id, resource...). */
  child(fields: Record<string, unknown>): Logger;
}

export type LogSink = (line: string) => void;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && !NOT_SECRET.has(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

class JsonLogger implements Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly min: number,
    private readonly base: Record<string, unknown>,
  ) {}

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (LEVELS[level] < this.min) return;
    const record = { time: new Date().toISOString(), level, msg, ...(redact({ ...this.base, ...fields }) as object) };
    // Logs are read with cat and tail: a name's C1 or bidi characters stay escapes there too.
    this.sink(stringifyJsonSafely(record));
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.sink, this.min, { ...this.base, ...fields });
  }
}

export function createLogger(sink: LogSink, level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  return new JsonLogger(sink, LEVELS[level], base);
}

/** Structured JSON lines appended to a file; synchronous so a crash loses no line already logged. */
export function fileSink(path: string): LogSink {
  makePrivateDir(dirname(path));
  // Log lines name resources and paths: 0600, including a log an earlier version created with the umask.
  makeFilePrivate(path);
  return (line) => appendFileSync(path, line + '\n', { mode: PRIVATE_FILE_MODE });
}

export const silentLogger: Logger = createLogger(() => undefined, 'error');
