import { escapeControlChars, stringifyJsonSafely } from '../core/control-chars.js';
import { toErrorJSON } from '../core/errors.js';

export type OutputFormat = 'table' | 'json';

export interface Output {
  format: OutputFormat;
  /** The command's one result: a JSON document, or a table for people. */
  result(value: unknown, columns?: string[]): void;
  /** A failure, on stderr: `{code, message}` in JSON mode. */
  error(err: unknown): void;
  /** A note for people (never in JSON mode, never on stdout). */
  note(text: string): void;
}

/**
 * Every string shown to people may come from a user (names, descriptions, resource ids, reasons, a
 * server's error message): control characters are shown as escapes (`\x1b`, `\n`), never sent raw.
 */
const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return escapeControlChars(v);
  return stringifyJsonSafely(v);
};

function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => Math.min(cell(r[c]).length, 60))));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (v.length > 60 ? `${v.slice(0, 57)}...` : v).padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map(escapeControlChars)),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => cell(r[c])))),
  ].join('\n');
}

function keyValues(obj: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(obj).map((k) => escapeControlChars(k).length));
  return Object.entries(obj)
    .map(([k, v]) => {
      const text = typeof v === 'object' && v !== null ? stringifyJsonSafely(v, 2).replace(/\n/g, `\n${' '.repeat(width + 2)}`) : cell(v);
      return `${escapeControlChars(k).padEnd(width)}  ${text}`;
    })
    .join('\n');
}

export function createOutput(
  format: OutputFormat,
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): Output {
  return {
    format,
    result(value, columns) {
      if (format === 'json') {
        // The same JSON value as JSON.stringify writes; only C1 and the like are escaped too.
        stdout.write(`${stringifyJsonSafely(value, 2)}\n`);
        return;
      }
      if (Array.isArray(value)) {
        if (value.length === 0) {
          stdout.write('(none)\n');
          return;
        }
        const cols = columns ?? Object.keys(value[0] as object);
        stdout.write(`${table(value as Array<Record<string, unknown>>, cols)}\n`);
        return;
      }
      if (value && typeof value === 'object') {
        stdout.write(`${keyValues(value as Record<string, unknown>)}\n`);
        return;
      }
      stdout.write(`${cell(value)}\n`);
    },
    error(err) {
      const e = toErrorJSON(err);
      if (format === 'json') stderr.write(`${stringifyJsonSafely({ code: e.code, message: e.message })}\n`);
      else stderr.write(`error: ${escapeControlChars(e.message)} [${escapeControlChars(e.code)}]\n`);
    },
    note(text) {
      if (format !== 'json') stderr.write(`${text.split('\n').map(escapeControlChars).join('\n')}\n`);
    },
  };
}
