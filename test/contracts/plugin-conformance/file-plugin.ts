/**
 * A small plugin written for the broken-variants test: `kit.file` protects one file, with a password
 * in its options (as a plugin talking to a remote store would have). Honest, it keeps every promise;
 * each flaw breaks exactly one, the way real plugins get them wrong.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PluginDefinition, ProtectionPlugin, ProtectablePlugin, RestoreContext, VerifyContext } from '../../../src/plugin-api/v1.js';
import { API_VERSION, PluginError, resourceRef } from '../../../src/plugin-api/v1.js';

export type Flaw = 'skips-restore-hash' | 'ignores-cancellation' | 'saves-password' | 'deletes-part';

const TYPE = 'kit.file';
const closed = (properties: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
});
const corrupt = (ref: string, what: string) => new PluginError(`${ref}: ${what}`, { code: 'BWK_ERR_DATA_CORRUPT' });

export function filePlugin(flaws: readonly Flaw[] = []): PluginDefinition {
  const has = (f: Flaw) => flaws.includes(f);
  return {
    apiVersion: API_VERSION,
    name: TYPE,
    create(env) {
      const password = process.env[String(env.options.password_env)] ?? '';
      /** meta.json must say exactly what saved info says: a changed byte in either is caught. */
      const checkMeta = async (ctx: VerifyContext | RestoreContext): Promise<string> => {
        const info = ctx.savedInfo;
        if (info === null) throw corrupt(resourceRef(ctx.resource), 'no saved info');
        const meta = (await ctx.bank.get('meta.json')).toString('utf8');
        if (meta !== JSON.stringify({ size: info.size, sha256: info.sha256 }))
          throw corrupt(resourceRef(ctx.resource), 'meta.json was changed');
        return String(info.sha256);
      };
      const hashOf = async (ctx: VerifyContext | RestoreContext): Promise<string> => {
        const h = createHash('sha256');
        for await (const piece of await ctx.bank.getStream('content')) h.update(piece as Buffer);
        return h.digest('hex');
      };
      const protection: ProtectionPlugin = {
        supportedResourceTypes: () => [TYPE],
        schemas: () => ({
          options: closed(),
          restore: closed({ target_path: { type: 'string', pattern: '^/' } }, ['target_path']),
          verify: closed(),
          saved_info: closed(
            { size: { type: 'integer' }, sha256: { type: 'string' }, ...(has('saves-password') ? { auth: { type: 'string' } } : {}) },
            ['size', 'sha256'],
          ),
        }),
        getProtectOperation: () => ({
          async main(ctx) {
            const h = createHash('sha256');
            // The honest plugin hands its signal to the read stream: a cancellation stops the copy.
            const source = createReadStream(ctx.resource.id, has('ignores-cancellation') ? {} : { signal: ctx.signal });
            source.on('data', (piece) => h.update(piece));
            const { size } = await ctx.bank.putStream('content', source);
            const sha256 = h.digest('hex');
            await ctx.bank.put('meta.json', JSON.stringify({ size, sha256 }));
            await ctx.saveInfo({ size, sha256, ...(has('saves-password') ? { auth: password } : {}) });
          },
        }),
        getRestoreOperation: () => ({
          async main(ctx) {
            const expected = await checkMeta(ctx);
            const target = String(ctx.parameters.target_path);
            if (has('skips-restore-hash')) {
              await pipeline(await ctx.bank.getStream('content'), createWriteStream(target), { signal: ctx.signal });
              return;
            }
            if ((await hashOf(ctx)) !== expected) throw corrupt(resourceRef(ctx.resource), 'content does not match its SHA-256');
            const aside = join(dirname(target), `.${process.pid}.restoring`);
            try {
              await pipeline(await ctx.bank.getStream('content'), createWriteStream(aside, { flags: 'wx' }), { signal: ctx.signal });
              if ((await stat(aside)).size !== Number(ctx.savedInfo?.size))
                throw corrupt(resourceRef(ctx.resource), 'content changed while restoring');
              await rename(aside, target);
            } finally {
              await rm(aside, { force: true });
            }
          },
        }),
        getVerifyOperation: () => ({
          async main(ctx) {
            if ((await hashOf(ctx)) !== (await checkMeta(ctx)))
              throw corrupt(resourceRef(ctx.resource), 'content does not match its SHA-256');
          },
        }),
        getDeleteOperation: () => ({
          async main(ctx) {
            const names = await ctx.bank.list();
            for (const name of has('deletes-part') ? names.slice(0, -1) : names) await ctx.bank.delete(name);
          },
        }),
      };
      const protectable: ProtectablePlugin = {
        resourceType: () => TYPE,
        parentResourceTypes: () => [],
        listParametersSchema: () => closed({ directory: { type: 'string', pattern: '^/' } }, ['directory']),
        async listResources(ctx) {
          const dir = String(ctx.parameters.directory);
          const entries = await readdir(dir, { withFileTypes: true });
          return entries.filter((e) => e.isFile()).map((e) => ({ type: TYPE, id: join(dir, e.name), name: e.name }));
        },
        async showResource(_ctx, id) {
          const st = isAbsolute(id) ? await stat(id).catch(() => null) : null;
          if (!st?.isFile()) throw new PluginError(`${TYPE}#${id} not found`, { code: 'BWK_ERR_RESOURCE_NOT_FOUND' });
          return { type: TYPE, id, name: id.slice(id.lastIndexOf('/') + 1) };
        },
        dependentResources: async () => [],
      };
      return { protection, protectables: [protectable] };
    },
  };
}
