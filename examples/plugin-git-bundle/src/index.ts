/**
 * The example.git Bulwark plugin (plugin API v1). As scaffolded it protects single files (a resource
 * id is a file's absolute path): a working starting point that passes the conformance suite. Replace
 * `readSource` and `writeTarget` (and the protectable's listing) with your data source; keep the
 * shape: stream into the bank, record a SHA-256, check before writing, write aside then move.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  BankSection,
  PluginDefinition,
  ProtectablePlugin,
  ProtectionPlugin,
  ResourceSchemas,
  RestoreContext,
  VerifyContext,
} from 'bulwark/plugin-api/v1';

export const TYPE = 'example.git';

/** An error Bulwark shows with its code (docs/errors.md); never put a secret in the message. */
const fail = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const corrupt = (id: string, what: string): Error => fail('BWK_ERR_DATA_CORRUPT', `${TYPE}#${id}: ${what}`);

/** Every schema refuses unknown fields, so a misspelt parameter is an error, not ignored. */
export const SCHEMAS: ResourceSchemas = {
  options: { type: 'object', additionalProperties: false, properties: {} },
  restore: {
    type: 'object',
    additionalProperties: false,
    required: ['target_path'],
    properties: { target_path: { type: 'string', pattern: '^/', description: 'Absolute path to restore the file to; it must not exist.' } },
  },
  verify: { type: 'object', additionalProperties: false, properties: {} },
  saved_info: {
    type: 'object',
    additionalProperties: false,
    required: ['size', 'sha256'],
    properties: { size: { type: 'integer', minimum: 0 }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
  },
};

/** Your data source: a stream of what the resource holds, stopped when `signal` aborts. */
function readSource(id: string, signal: AbortSignal): Readable {
  return createReadStream(id, { signal });
}

/** Where a restore writes: a new file beside the target, moved into place only once complete and checked. */
async function writeTarget(data: Readable, target: string, expectedSize: number, signal: AbortSignal): Promise<void> {
  const aside = join(dirname(target), `.${TYPE}.${process.pid}.restoring`);
  try {
    await pipeline(data, createWriteStream(aside, { flags: 'wx' }), { signal });
    if ((await stat(aside)).size !== expectedSize) throw fail('BWK_ERR_DATA_CORRUPT', `${target}: restored size differs from the checkpoint`);
    await rename(aside, target);
  } finally {
    await rm(aside, { force: true });
  }
}

/** meta.json must say exactly what the checkpoint's saved info says, so a changed byte in either is caught. */
async function checkedDigest(ctx: VerifyContext | RestoreContext): Promise<{ sha256: string; size: number }> {
  const info = ctx.savedInfo;
  if (info === null) throw corrupt(ctx.resource.id, 'the checkpoint has no saved info: it was not completed');
  const expected = JSON.stringify({ size: info.size, sha256: info.sha256 });
  if ((await ctx.bank.get('meta.json')).toString('utf8') !== expected) throw corrupt(ctx.resource.id, 'meta.json was changed');
  return { sha256: String(info.sha256), size: Number(info.size) };
}

async function sha256Of(bank: BankSection, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of await bank.getStream('content')) {
    signal.throwIfAborted();
    hash.update(piece as Buffer);
  }
  return hash.digest('hex');
}

const protection: ProtectionPlugin = {
  supportedResourceTypes: () => [TYPE],
  schemas: () => SCHEMAS,
  getProtectOperation: () => ({
    async main(ctx) {
      const hash = createHash('sha256');
      const source = readSource(ctx.resource.id, ctx.signal);
      source.on('data', (piece) => hash.update(piece));
      const { size } = await ctx.bank.putStream('content', source);
      const sha256 = hash.digest('hex');
      // Written last: a protect that stopped early leaves no meta.json, so verify and restore refuse it.
      await ctx.bank.put('meta.json', JSON.stringify({ size, sha256 }));
      await ctx.saveInfo({ size, sha256 });
    },
  }),
  getRestoreOperation: () => ({
    async main(ctx) {
      const { sha256, size } = await checkedDigest(ctx);
      // The whole content is checked before a byte is written to the target.
      if ((await sha256Of(ctx.bank, ctx.signal)) !== sha256) throw corrupt(ctx.resource.id, 'stored content does not match its SHA-256');
      const target = String(ctx.parameters.target_path);
      if (await stat(target).then(() => true, () => false)) throw fail('BWK_ERR_RESTORE_CONFLICT', `${target} already exists`);
      await writeTarget(await ctx.bank.getStream('content'), target, size, ctx.signal);
    },
  }),
  getVerifyOperation: () => ({
    async main(ctx) {
      const { sha256 } = await checkedDigest(ctx);
      if ((await sha256Of(ctx.bank, ctx.signal)) !== sha256) throw corrupt(ctx.resource.id, 'stored content does not match its SHA-256');
    },
  }),
  getDeleteOperation: () => ({
    async main(ctx) {
      for (const name of await ctx.bank.list()) await ctx.bank.delete(name);
    },
  }),
  checkRestore(_resource, parameters, policy) {
    const target = String(parameters.target_path);
    const inside = (root: string) => target === root || target.startsWith(root.endsWith('/') ? root : `${root}/`);
    if (!policy.allowedTargetPaths.some(inside) || policy.forbiddenPaths.some(inside))
      throw fail('BWK_ERR_RESTORE_TARGET_DENIED', `restore target ${target} is outside the restore policy`);
  },
};

const protectable: ProtectablePlugin = {
  resourceType: () => TYPE,
  parentResourceTypes: () => [],
  listParametersSchema: () => ({
    type: 'object',
    additionalProperties: false,
    required: ['directory'],
    properties: { directory: { type: 'string', pattern: '^/' } },
  }),
  async listResources(ctx) {
    const directory = String(ctx.parameters.directory);
    const entries = await readdir(directory, { withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => ({ type: TYPE, id: join(directory, e.name), name: e.name }));
  },
  async showResource(_ctx, id) {
    const st = isAbsolute(id) ? await stat(id).catch(() => null) : null;
    if (!st?.isFile()) throw fail('BWK_ERR_RESOURCE_NOT_FOUND', `resource ${TYPE}#${id} not found: not an absolute path to a file`);
    return { type: TYPE, id, name: id.slice(id.lastIndexOf('/') + 1) };
  },
  dependentResources: async () => [],
};

const plugin: PluginDefinition = {
  apiVersion: 1,
  name: TYPE,
  description: 'example.git: protects single files (scaffolded by `bulwark plugin new`).',
  create: () => ({ protection, protectables: [protectable] }),
};

export default plugin;
