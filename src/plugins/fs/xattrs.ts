/**
 * Extended attributes of an entry (user.*, trusted.* as root, security.* including capabilities
 * and SELinux labels, system.posix_acl_access/_default), read and written without following
 * symlinks through @napi-rs/xattr (prebuilt N-API binaries; Node has no xattr calls).
 *
 * The module takes paths as strings, so an entry whose path is not valid UTF-8 cannot have its
 * attributes read or written: that is reported for the entry, never dropped silently.
 */
import { getAttributeSync, listAttributesSync, setAttributeSync } from '@napi-rs/xattr';
import { bwkError } from '../../core/errors.js';
import { utf8OrNull } from './manifest.js';
import type { Xattr } from './manifest.js';

export const NAMESPACES = ['user', 'trusted', 'security', 'system'] as const;
export type Namespace = (typeof NAMESPACES)[number];

export interface XattrOptions {
  skip: ReadonlySet<string>;
}

/** `xattrs: {skip_namespaces: [...]}` from protect options. */
export function parseXattrOptions(raw: unknown): XattrOptions {
  const skip = (raw as { skip_namespaces?: unknown } | undefined)?.skip_namespaces ?? [];
  if (!Array.isArray(skip) || !skip.every((n): n is Namespace => (NAMESPACES as readonly unknown[]).includes(n))) {
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `fs.directory option "xattrs.skip_namespaces" must list namespaces among ${NAMESPACES.join(', ')}`,
    });
  }
  return { skip: new Set(skip) };
}

const errnoOf = (err: unknown): string => {
  const m = /os error (\d+)/.exec((err as Error).message ?? '');
  const codes: Record<string, string> = {
    '1': 'EPERM',
    '2': 'ENOENT',
    '13': 'EACCES',
    '61': 'ENODATA',
    '95': 'ENOTSUP',
    '7': 'E2BIG',
    '28': 'ENOSPC',
  };
  return m ? (codes[m[1]!] ?? `errno ${m[1]}`) : String((err as { code?: unknown }).code ?? 'error');
};

/** The attributes to archive, sorted by name, or a reason they could not all be read. */
export function readXattrs(abs: Buffer, opts: XattrOptions): { xattrs: Xattr[]; problem: string | null } {
  const path = utf8OrNull(abs);
  if (path === null) return { xattrs: [], problem: 'extended attributes not read: the path is not valid UTF-8' };
  let names: string[];
  try {
    names = listAttributesSync(path);
  } catch (err) {
    const code = errnoOf(err);
    // A filesystem without xattr support has none to lose; a vanished entry is reported by the walk.
    if (code === 'ENOTSUP' || code === 'ENOENT') return { xattrs: [], problem: null };
    return { xattrs: [], problem: `extended attributes not read (${code})` };
  }
  const out: Xattr[] = [];
  const failed: string[] = [];
  for (const name of names.sort()) {
    if (opts.skip.has(name.slice(0, name.indexOf('.')))) continue;
    try {
      const value = getAttributeSync(path, name);
      if (value !== null) out.push([name, Buffer.from(value)]);
    } catch (err) {
      failed.push(`${name} (${errnoOf(err)})`);
    }
  }
  return { xattrs: out, problem: failed.length > 0 ? `extended attributes not read: ${failed.join(', ')}` : null };
}

/**
 * Sets the attributes on a restored entry, security.capability last (a chown before it would clear
 * it; it is set after the owner for that reason). Returns the attributes the target refused.
 */
export function writeXattrs(abs: Buffer, xattrs: readonly Xattr[]): string[] {
  const path = utf8OrNull(abs);
  if (path === null) return xattrs.map(([n]) => `${n} (path not UTF-8)`);
  const ordered = [...xattrs].sort(([a], [b]) => Number(a === 'security.capability') - Number(b === 'security.capability'));
  const refused: string[] = [];
  for (const [name, value] of ordered) {
    try {
      setAttributeSync(path, name, value);
    } catch (err) {
      refused.push(`${name} (${errnoOf(err)})`);
    }
  }
  return refused;
}
