/**
 * The `fs.directory` protectable: resources are directories named by their absolute, normalized path.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import type { JsonSchema, ProtectableContext, ProtectablePlugin, Resource } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { utf8OrNull } from './manifest.js';

export const FS_DIRECTORY = 'fs.directory';

export function directoryResource(path: string): Resource {
  return { type: FS_DIRECTORY, id: path, name: path === '/' ? '/' : basename(path) };
}

/** Whether `id` is written the one way we accept: absolute, no `.`/`..`/empty segments, no trailing slash. */
export function isCanonicalAbsolute(id: string): boolean {
  return id.startsWith('/') && !id.includes('\0') && posix.normalize(id) === id && (id === '/' || !id.endsWith('/'));
}

/** Why `id` is not a protectable directory, or null when it is one. */
export async function directoryIdProblem(id: string): Promise<string | null> {
  if (!id.startsWith('/')) return 'the id must be an absolute path';
  if (!isCanonicalAbsolute(id))
    return `the id must be a normalized absolute path (did you mean ${posix.normalize(id).replace(/(.)\/$/, '$1')}?)`;
  try {
    const st = await stat(id);
    return st.isDirectory() ? null : 'it exists but is not a directory';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'it does not exist';
    if (code === 'EACCES') return 'permission denied';
    throw err;
  }
}

const LIST_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', pattern: '^/', description: 'Absolute path whose sub-directories are listed.' },
  },
};

export class FsDirectoryProtectable implements ProtectablePlugin {
  resourceType(): string {
    return FS_DIRECTORY;
  }

  parentResourceTypes(): string[] {
    return [];
  }

  listParametersSchema(): JsonSchema {
    return LIST_SCHEMA;
  }

  async listResources(ctx: ProtectableContext): Promise<Resource[]> {
    const raw = ctx.parameters.path;
    if (typeof raw !== 'string' || !raw.startsWith('/')) {
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'fs.directory listing needs parameters {"path": "<absolute directory>"}' });
    }
    const dir = posix.resolve(raw);
    const problem = await directoryIdProblem(dir);
    if (problem !== null) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `fs.directory listing of ${dir}: ${problem}` });
    const entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    const out: Resource[] = [];
    for (const e of entries) {
      // A resource id is a string: a name that is not UTF-8 cannot be named by one, so it is not listed.
      const name = utf8OrNull(e.name);
      if (name === null || !e.isDirectory()) continue;
      out.push(directoryResource(posix.join(dir, name)));
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async showResource(_ctx: ProtectableContext, id: string): Promise<Resource> {
    const problem = await directoryIdProblem(id);
    if (problem !== null) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: FS_DIRECTORY, id, reason: problem });
    return directoryResource(id);
  }

  async dependentResources(_ctx: ProtectableContext, _parent: Resource): Promise<Resource[]> {
    return [];
  }
}
