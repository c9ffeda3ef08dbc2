/**
 * The example.git Bulwark plugin (plugin API v1): protects a Git repository as one `git bundle` of
 * all its refs, which Git writes from a consistent view of the repository, so a push during protect
 * cannot leave a half-updated copy. A resource id is the repository's absolute path.
 *
 *   protect  streams `git bundle create - --all` into the bank; saves its size, SHA-256 and HEAD
 *   verify   reads the bundle back and checks its SHA-256 and its bundle header
 *   restore  checks the whole bundle first, then clones it into a new directory beside the target
 *            and moves that into place: a failed restore leaves nothing
 *   delete   removes what protect stored
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
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
const BUNDLE = 'repo.bundle';
const META = 'meta.json';

/** An error Bulwark shows with its code (docs/errors.md). */
const fail = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const corrupt = (id: string, what: string): Error => fail('BWK_ERR_DATA_CORRUPT', `${TYPE}#${id}: ${what}`);

export const SCHEMAS: ResourceSchemas = {
  options: { type: 'object', additionalProperties: false, properties: {} },
  restore: {
    type: 'object',
    additionalProperties: false,
    required: ['target_path'],
    properties: { target_path: { type: 'string', pattern: '^/', description: 'Absolute path of the new repository; it must not exist.' } },
  },
  verify: { type: 'object', additionalProperties: false, properties: {} },
  saved_info: {
    type: 'object',
    additionalProperties: false,
    required: ['size', 'sha256', 'head'],
    properties: {
      size: { type: 'integer', minimum: 0 },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      head: { type: 'string', description: 'The ref HEAD pointed to (refs/heads/main).' },
    },
  },
};

/** Runs git to completion; its stderr (never holding a secret here: no remote is contacted) explains a failure. */
async function git(args: string[], signal?: AbortSignal): Promise<string> {
  const child = spawn('git', args, { signal, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw fail('BWK_ERR_TOOL_FAILED', `git ${args[0] === '-C' ? args[2] : args[0]} failed (${code}): ${err.trim()}`);
  return out;
}

/**
 * The bundle as git writes it, ending only once git exited 0: a cut or failed bundle makes the bank
 * write fail, so it is never stored. A reader that stops early (a cancellation, a bank failure) kills git.
 */
async function* bundleOf(repo: string, signal: AbortSignal, onData: (b: Buffer) => void): AsyncGenerator<Buffer> {
  const child = spawn('git', ['-C', repo, 'bundle', 'create', '-', '--all'], { signal, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('close', resolve);
  });
  let done = false;
  try {
    for await (const piece of child.stdout as AsyncIterable<Buffer>) {
      onData(piece);
      yield piece;
    }
    done = true;
  } finally {
    if (!done) child.kill();
  }
  const code = await closed;
  signal.throwIfAborted();
  if (code !== 0) throw fail('BWK_ERR_TOOL_FAILED', `git bundle create failed (${code}): ${err.trim()}`);
}

/** meta.json must say exactly what the checkpoint's saved info says: a changed byte in either is caught. */
async function expected(ctx: VerifyContext | RestoreContext): Promise<{ sha256: string; size: number; head: string }> {
  const info = ctx.savedInfo;
  if (info === null) throw corrupt(ctx.resource.id, 'the checkpoint has no saved info: it was not completed');
  const want = { size: Number(info.size), sha256: String(info.sha256), head: String(info.head) };
  if ((await ctx.bank.get(META)).toString('utf8') !== JSON.stringify(want)) throw corrupt(ctx.resource.id, `${META} was changed`);
  return want;
}

/** Reads the stored bundle through, checking its header, its size and its SHA-256. */
async function checkBundle(bank: BankSection, id: string, want: { sha256: string; size: number }, signal: AbortSignal): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  let head = Buffer.alloc(0);
  for await (const piece of await bank.getStream(BUNDLE)) {
    signal.throwIfAborted();
    if (head.length < 16) head = Buffer.concat([head, piece as Buffer]).subarray(0, 16);
    hash.update(piece as Buffer);
    size += (piece as Buffer).length;
  }
  if (!/^# v[23] git bundle\n/.test(head.toString('latin1'))) throw corrupt(id, `${BUNDLE} is not a git bundle`);
  if (size !== want.size || hash.digest('hex') !== want.sha256) throw corrupt(id, `${BUNDLE} does not match its SHA-256`);
}

async function restore(ctx: RestoreContext): Promise<void> {
  const want = await expected(ctx);
  await checkBundle(ctx.bank, ctx.resource.id, want, ctx.signal);
  const target = String(ctx.parameters.target_path);
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  )
    throw fail('BWK_ERR_RESTORE_CONFLICT', `${target} already exists`);
  const aside = join(dirname(target), `.${TYPE}.${process.pid}.${Date.now()}.restoring`);
  try {
    await mkdir(aside);
    const file = join(aside, 'repo.bundle');
    await pipeline(await ctx.bank.getStream(BUNDLE), createWriteStream(file, { flags: 'wx' }), { signal: ctx.signal });
    // The bundle was checked above; a second check of the copy guards against a change while it was read again.
    const copy = createHash('sha256');
    for await (const piece of createReadStream(file)) copy.update(piece as Buffer);
    if (copy.digest('hex') !== want.sha256) throw corrupt(ctx.resource.id, `${BUNDLE} changed while it was restored`);
    const repo = join(aside, 'repo');
    await git(['init', '-q', repo], ctx.signal);
    await git(['-C', repo, 'fetch', '-q', '--update-head-ok', file, '+refs/*:refs/*'], ctx.signal);
    await git(['-C', repo, 'symbolic-ref', 'HEAD', want.head], ctx.signal);
    await git(['-C', repo, 'reset', '-q', '--hard'], ctx.signal);
    await rename(repo, target);
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
}

const protection: ProtectionPlugin = {
  supportedResourceTypes: () => [TYPE],
  schemas: () => SCHEMAS,
  getProtectOperation: () => ({
    async main(ctx) {
      const head = (await git(['-C', ctx.resource.id, 'symbolic-ref', 'HEAD'], ctx.signal)).trim();
      const hash = createHash('sha256');
      const { size } = await ctx.bank.putStream(
        BUNDLE,
        bundleOf(ctx.resource.id, ctx.signal, (b) => hash.update(b)),
      );
      const info = { size, sha256: hash.digest('hex'), head };
      // Written last: a protect that stopped early leaves no meta.json, so verify and restore refuse it.
      await ctx.bank.put(META, JSON.stringify(info));
      await ctx.saveInfo(info);
    },
  }),
  getRestoreOperation: () => ({ main: restore }),
  getVerifyOperation: () => ({
    async main(ctx) {
      await checkBundle(ctx.bank, ctx.resource.id, await expected(ctx), ctx.signal);
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

/** Whether `dir` is the top of a Git work tree or a bare repository. */
async function isRepository(dir: string): Promise<boolean> {
  if (!isAbsolute(dir)) return false;
  const top = await git(['-C', dir, 'rev-parse', '--is-bare-repository', '--show-toplevel']).catch(() => null);
  if (top === null) return false;
  const [bare, toplevel] = top.trim().split('\n');
  return bare === 'true' || toplevel === dir;
}

const protectable: ProtectablePlugin = {
  resourceType: () => TYPE,
  parentResourceTypes: () => [],
  listParametersSchema: () => ({
    type: 'object',
    additionalProperties: false,
    required: ['directory'],
    properties: { directory: { type: 'string', pattern: '^/', description: 'Lists the repositories directly inside it.' } },
  }),
  async listResources(ctx) {
    const directory = String(ctx.parameters.directory);
    const found = [];
    for (const e of await readdir(directory, { withFileTypes: true })) {
      const path = join(directory, e.name);
      if (e.isDirectory() && (await isRepository(path))) found.push({ type: TYPE, id: path, name: e.name });
    }
    return found;
  },
  async showResource(_ctx, id) {
    if (!(await isRepository(id)))
      throw fail('BWK_ERR_RESOURCE_NOT_FOUND', `resource ${TYPE}#${id} not found: not the top of a Git repository`);
    return { type: TYPE, id, name: id.slice(id.lastIndexOf('/') + 1) };
  },
  dependentResources: async () => [],
};

const plugin: PluginDefinition = {
  apiVersion: 1,
  name: TYPE,
  description: 'Protects Git repositories as git bundles (an example third-party plugin).',
  create: () => ({ protection, protectables: [protectable] }),
};

export default plugin;
