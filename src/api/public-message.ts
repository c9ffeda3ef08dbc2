/**
 * What an API caller may read of an error message. Messages are written for operators (the CLI, the
 * log) and may name places on the server — the Bulwark home, a bank, where a symlink resolves. Over
 * the API, an absolute path the caller did not send is replaced: by what the place is when the API
 * knows it (`<Bulwark home>`, `<a bank directory>`), else by `<server path>`. The log keeps the original.
 */
import { posix } from 'node:path';
import type { FastifyRequest } from 'fastify';

/** Places on the server the API names by what they are, never by where they are. */
export interface ServerPlaces {
  /** Named places (the home, each bank): a path in or at one becomes `<label>` plus the rest. */
  named: ReadonlyArray<{ path: string; label: string }>;
  /** Paths every caller may see as they are: the restore policy's allowed targets, which callers must aim at. */
  visible: readonly string[];
}

export const NO_PLACES: ServerPlaces = { named: [], visible: [] };

/** An absolute path in running text: starts with `/` not inside a word, URL or relative path. */
const PATH = /(?<![\w:/.~-])\/[^\s"'`,;:()<>[\]{}|]*/g;

const normal = (p: string): string => {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
};

/** Every absolute path the request carried: in its URL, parameters, query and body. */
export function sentPaths(request: FastifyRequest): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (v.startsWith('/')) found.add(normal(v));
    } else if (v && typeof v === 'object' && depth < 8) {
      for (const x of Object.values(v)) visit(x, depth + 1);
    }
  };
  const path = request.url.split('?')[0] ?? '';
  visit(path, 0);
  try {
    visit(decodeURIComponent(path), 0);
  } catch {
    // A URL that does not decode is reported as such; its raw form is enough here.
  }
  for (const part of [request.params, request.query, request.body]) visit(part, 0);
  return found;
}

/** `message` with every absolute path not in `sent` replaced by what it is (see the module comment). */
export function publicMessage(message: string, sent: ReadonlySet<string>, places: ServerPlaces): string {
  const named = [...places.named].map((p) => ({ path: normal(p.path), label: p.label })).sort((a, b) => b.path.length - a.path.length);
  const visible = new Set(places.visible.map(normal));
  // Sent paths with spaces or punctuation would be cut into pieces by PATH: hold them aside first.
  const held = [...sent].filter((s) => /[\s"'`,;:()<>[\]{}|]/.test(s)).sort((a, b) => b.length - a.length);
  const text = held.reduce((m, s, i) => m.split(s).join(`\uE000${i}\uE000`), message);
  const out = text.replace(PATH, (raw: string) => {
    // A sentence may end right after a path.
    const token = raw.replace(/\.+$/, '');
    const tail = raw.slice(token.length);
    const p = normal(token);
    if (sent.has(p) || visible.has(p)) return raw;
    const place = named.find((n) => p === n.path || p.startsWith(n.path === '/' ? '/' : `${n.path}/`));
    if (place) return `<${place.label}>${p.slice(place.path.length)}${tail}`;
    return `<server path>${tail}`;
  });
  return out.replace(/\uE000(\d+)\uE000/g, (whole, i: string) => held[Number(i)] ?? whole);
}

/**
 * `text` (a response body) with the named places (the home, each bank) replaced by their labels.
 * Records carry reasons written when an operation ran — a hook's error may name a file in the bank —
 * and are read later by callers who never sent those paths: they learn what the place is, not where.
 */
export function withoutNamedPlaces(text: string, places: ServerPlaces): string {
  return namedPlacesRedactor(places)(text);
}

/** withoutNamedPlaces with its patterns built once, for the server's every response. */
export function namedPlacesRedactor(places: ServerPlaces): (text: string) => string {
  const named = [...places.named]
    .filter((p) => p.path.length > 1)
    .sort((a, b) => b.path.length - a.path.length)
    .map(({ path, label }) => {
      const p = normal(path);
      return { p, label: `<${label}>`, re: new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[/"\\s:,;)]|$)`, 'g') };
    });
  return (text) => named.reduce((out, { p, label, re }) => (out.includes(p) ? out.replace(re, label) : out), text);
}
