import { bwkError } from './errors.js';

/**
 * Control characters in user-given text. A terminal acts on them (ESC starts a sequence that can clear
 * the screen or set the window title, CR and LF forge table rows, U+202E reverses what follows), so
 * names refuse them at creation and everything printed for people shows them as visible escapes.
 * Pure: shared by plan validation, the token store, the logger and the CLI.
 */

/**
 * C0 (U+0000–U+001F), DEL, C1 (U+0080–U+009F), the line and paragraph separators and the bidirectional
 * formatting characters (the "Trojan Source" ones).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is what this module is for
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** The control characters JSON.stringify leaves raw: every C0 one it already writes as an escape. */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (c: string, digits: number): string => c.charCodeAt(0).toString(16).padStart(digits, '0');

/** How one control character is shown: `\n`, `\r`, `\t`, `\x1b`, `\x9b`, `\u202e`. */
export function visibleEscape(c: string): string {
  return SHORT[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`);
}

/** `text` with every control character replaced by its visible escape; everything else unchanged. */
export function escapeControlChars(text: string): string {
  return text.replace(CONTROL, visibleEscape);
}

/** The first control character of `text` (escaped) and where it is (1-based), or undefined when there is none. */
export function findControlChar(text: string): { char: string; position: number } | undefined {
  const m = new RegExp(CONTROL.source).exec(text);
  return m ? { char: visibleEscape(m[0]), position: m.index + 1 } : undefined;
}

/** Refuses user-given text meant to be shown (a name, a description) that holds a control character. */
export function assertPrintable(field: string, text: string | undefined | null): void {
  if (typeof text !== 'string') return;
  const found = findControlChar(text);
  if (found) throw bwkError('BWK_ERR_CONTROL_CHARACTER', { field, ...found });
}

/**
 * JSON.stringify, with the control characters it leaves raw (DEL, C1, U+2028/9, bidi formatting)
 * written as `\uXXXX` too: the same JSON value, but nothing a terminal acts on. They can only occur
 * inside strings, so replacing them everywhere in the text is exact.
 */
export function stringifyJsonSafely(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent) as string | undefined;
  return text === undefined ? 'undefined' : text.replace(RAW_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}
