/**
 * The two ways built-in resource types are matched against a resource scope (plugins/api.ts
 * ResourceScope): paths under roots, and names against glob patterns.
 */
import { posix } from 'node:path';
import type { Resource, ResourceScope } from './api.js';
import { isWithin, realpathLoose } from '../common/real-paths.js';

type Targets = (resource: Resource, parameters: Record<string, unknown>) => string[];

/**
 * Ids are absolute paths; patterns are roots. A path matches a root when it lies under it both as
 * written and with symlinks resolved, the same rule the restore policy applies: neither `..` nor a
 * link can carry a path out of its root.
 */
export function pathScope(restoreTargets: Targets): ResourceScope {
  return {
    async matches(id, roots) {
      if (!id.startsWith('/')) return false;
      const lexical = posix.resolve(id);
      const real = await realpathLoose(lexical);
      for (const r of roots) {
        if (!r.startsWith('/')) continue; // a relative root would mean the server's working directory: it matches nothing
        const root = posix.resolve(r);
        if (isWithin(lexical, root) && isWithin(real, await realpathLoose(root))) return true;
      }
      return false;
    },
    restoreTargets,
  };
}

/** Ids are names (`main/app`); patterns are globs where `*` is any run of characters but `/`, `?` one. */
export function nameScope(restoreTargets: Targets): ResourceScope {
  return {
    matches: (id, patterns) => patterns.some((p) => globMatches(p, id)),
    restoreTargets,
  };
}

/** Whether `text` matches the glob `pattern` (`*`: any run of characters but `/`; `?`: one). */
export const globMatches = (pattern: string, text: string): boolean => globRegExp(pattern).test(text);

const globs = new Map<string, RegExp>();

function globRegExp(pattern: string): RegExp {
  let re = globs.get(pattern);
  if (!re) {
    const body = [...pattern].map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
    re = new RegExp(`^${body}$`, 'u');
    if (globs.size > 1000) globs.clear();
    globs.set(pattern, re);
  }
  return re;
}
