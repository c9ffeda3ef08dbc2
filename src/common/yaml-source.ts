import { EVENT_ID, getScalarValue, load, parseEvents, SCALAR_STYLE, YAMLException } from 'js-yaml';
import type { Event, ScalarEvent } from 'js-yaml';

/**
 * YAML parsed together with where each value sits in the source, so a schema error can name
 * the file and line (`provider file x.yaml:12: ...`) instead of only a JSON pointer.
 */
export interface YamlSource {
  value: unknown;
  /** 1-based line of the node at a JSON pointer (`/plugins/0/name`), or of its closest ancestor. */
  lineOf(pointer: string): number;
}

export class YamlSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * A mapping key as the loaded object spells it: a plain key is resolved like any scalar
 * (`0x1F` → "31", `~` → "null"), otherwise pointers into the loaded value would miss it.
 */
function keyText(text: string, ev: ScalarEvent): string {
  const raw = getScalarValue(text, ev);
  if (ev.style !== SCALAR_STYLE.PLAIN || ev.tagStart >= 0) return raw;
  if (raw === '') return 'null';
  try {
    return String(load(raw));
  } catch {
    return raw;
  }
}

interface Frame {
  kind: 'map' | 'seq';
  path: string;
  index: number;
  key: string | null;
}

export function parseYamlSource(text: string, filename?: string): YamlSource {
  let value: unknown;
  let events: Event[];
  try {
    events = parseEvents(text, filename === undefined ? {} : { filename });
    // An empty or comment-only file is a document with nothing in it (all defaults), not an error.
    value = events.length === 0 ? null : load(text, filename === undefined ? {} : { filename });
  } catch (err) {
    if (err instanceof YAMLException) throw new YamlSyntaxError((err.mark?.line ?? 0) + 1, err.reason);
    throw err;
  }
  const offsets = new Map<string, number>([['', 0]]);
  const stack: Frame[] = [];
  let documents = 0;

  const place = (start: number): string | null => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    if (top.kind === 'seq') {
      const p = `${top.path}/${top.index++}`;
      if (!offsets.has(p)) offsets.set(p, start);
      return p;
    }
    if (top.key === null) return null; // this node is a key
    const p = `${top.path}/${escapePointer(top.key)}`;
    top.key = null;
    return p;
  };

  for (const ev of events) {
    if (ev.type === EVENT_ID.DOCUMENT) {
      if (++documents > 1) break;
      continue;
    }
    if (ev.type === EVENT_ID.POP) {
      stack.pop();
      continue;
    }
    const start = ev.type === EVENT_ID.SCALAR ? ev.valueStart : ev.type === EVENT_ID.ALIAS ? ev.anchorStart : ev.start;
    const path = place(start);
    if (path === null) {
      const top = stack[stack.length - 1]!;
      top.key = ev.type === EVENT_ID.SCALAR ? keyText(text, ev) : '?';
      offsets.set(`${top.path}/${escapePointer(top.key)}`, start);
      continue;
    }
    if (ev.type === EVENT_ID.MAPPING) stack.push({ kind: 'map', path, index: 0, key: null });
    else if (ev.type === EVENT_ID.SEQUENCE) stack.push({ kind: 'seq', path, index: 0, key: null });
  }

  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineAt = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };

  return {
    value,
    lineOf(pointer: string): number {
      let p = pointer;
      for (;;) {
        const off = offsets.get(p);
        if (off !== undefined) return lineAt(Math.max(0, off));
        const cut = p.lastIndexOf('/');
        if (cut < 0) return 1;
        p = p.slice(0, cut);
      }
    },
  };
}
