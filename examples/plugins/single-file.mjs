// A complete, small Bulwark protection plugin, written as a provider author would: one file, no
// build step, no import from Bulwark (the API is duck-typed; see docs/plugin-authoring.md).
//
// Resource type `example.file`: one regular file, id = its absolute path.
//   protect  streams the file into the bank and saves its size and SHA-256
//   restore  writes it to `target_path` (default: where it came from), refusing to overwrite unless asked
//   verify   reads the stored bytes back and checks the SHA-256
//   delete   removes what protect stored
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const TYPE = 'example.file';

/** Errors carry a Bulwark error code so the operator sees what kind of failure it is. */
const fail = (code, message) => Object.assign(new Error(message), { code });

async function protect(ctx) {
  const hash = createHash('sha256');
  const source = createReadStream(ctx.resource.id, { signal: ctx.signal });
  source.on('data', (chunk) => hash.update(chunk));
  const { size } = await ctx.bank.putStream('content', source);
  await ctx.saveInfo({ size, sha256: hash.digest('hex') });
}

async function readBack(ctx) {
  if (!ctx.savedInfo) throw fail('BWK_ERR_DATA_CORRUPT', `${TYPE}#${ctx.resource.id}: no saved info in the checkpoint`);
  return ctx.bank.getStream('content');
}

async function verify(ctx) {
  const hash = createHash('sha256');
  for await (const chunk of await readBack(ctx)) hash.update(chunk);
  if (hash.digest('hex') !== ctx.savedInfo.sha256) {
    throw fail('BWK_ERR_DATA_CORRUPT', `${TYPE}#${ctx.resource.id}: stored content does not match its SHA-256`);
  }
}

async function restore(ctx) {
  const target = ctx.parameters.target_path ?? ctx.resource.id;
  const exists = await stat(target).then(
    () => true,
    () => false,
  );
  if (exists && !ctx.parameters.overwrite) throw fail('BWK_ERR_RESTORE_CONFLICT', `${target} exists; pass "overwrite": true to replace it`);
  // Write beside the target and rename only once the hash is right: a bad copy never replaces a good file.
  const temp = join(dirname(target), `.${Date.now()}.restoring`);
  const hash = createHash('sha256');
  const source = await readBack(ctx);
  source.on('data', (chunk) => hash.update(chunk));
  await pipeline(source, createWriteStream(temp, { flags: 'wx' }), { signal: ctx.signal });
  if (hash.digest('hex') !== ctx.savedInfo.sha256) {
    await rm(temp, { force: true });
    throw fail('BWK_ERR_DATA_CORRUPT', `${TYPE}#${ctx.resource.id}: stored content does not match its SHA-256`);
  }
  await rename(temp, target);
}

const protection = {
  supportedResourceTypes: () => [TYPE],
  schemas: () => ({
    options: { type: 'object', additionalProperties: false, properties: {} },
    restore: {
      type: 'object',
      additionalProperties: false,
      properties: { target_path: { type: 'string', pattern: '^/' }, overwrite: { type: 'boolean', default: false } },
    },
    saved_info: {
      type: 'object',
      additionalProperties: false,
      required: ['size', 'sha256'],
      properties: { size: { type: 'integer', minimum: 0 }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
    },
    verify: { type: 'object', additionalProperties: false, properties: {} },
  }),
  getProtectOperation: () => ({ main: protect }),
  getRestoreOperation: () => ({ main: restore }),
  getVerifyOperation: () => ({ main: verify }),
  getDeleteOperation: () => ({
    main: async (ctx) => {
      for (const name of await ctx.bank.list()) await ctx.bank.delete(name);
    },
  }),
  // Called before a restore is accepted: nothing is written when it throws.
  checkRestore(resource, parameters, policy) {
    const target = parameters.target_path ?? resource.id;
    const allowed = policy.allowedTargetPaths.some((root) => target === root || target.startsWith(root.endsWith('/') ? root : `${root}/`));
    if (!allowed)
      throw fail(
        'BWK_ERR_RESTORE_TARGET_DENIED',
        `restore target ${target} is outside the restore policy (allowed: ${policy.allowedTargetPaths.join(', ')})`,
      );
  },
};

const protectable = {
  resourceType: () => TYPE,
  parentResourceTypes: () => [],
  listParametersSchema: () => ({
    type: 'object',
    additionalProperties: false,
    required: ['directory'],
    properties: { directory: { type: 'string', pattern: '^/' } },
  }),
  async listResources(ctx) {
    const { readdir } = await import('node:fs/promises');
    const entries = await readdir(ctx.parameters.directory, { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => ({ type: TYPE, id: join(ctx.parameters.directory, e.name), name: e.name }));
  },
  async showResource(_ctx, id) {
    const st = isAbsolute(id) ? await stat(id).catch(() => null) : null;
    if (!st?.isFile()) throw fail('BWK_ERR_RESOURCE_NOT_FOUND', `resource ${TYPE}#${id} not found: not an absolute path to a regular file`);
    return { type: TYPE, id, name: id.slice(id.lastIndexOf('/') + 1), extra_info: { size: st.size } };
  },
  dependentResources: async () => [],
};

export default {
  apiVersion: 1,
  name: 'example.file',
  description: 'Protects single files (an example for plugin authors).',
  create: () => ({ protection, protectables: [protectable] }),
};
