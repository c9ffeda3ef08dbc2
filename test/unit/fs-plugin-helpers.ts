/**
 * Hand-built hook contexts for the fs.directory plugin over a real MemoryBank section, plus temp
 * directories and tree comparison helpers shared by the fs-plugin tests.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { blake3 } from '@napi-rs/blake-hash';
import { MemoryBank } from '../../src/bank/adapters/memory.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import type { ChunkStoreSpec } from '../../src/bank/chunks/config.js';
import { compileSchema } from '../../src/common/schema.js';
import { silentLogger } from '../../src/common/logging.js';
import type {
  BankSection,
  HookContext,
  ProtectablePlugin,
  ProtectContext,
  ProtectionPlugin,
  Progress,
  Resource,
  RestoreContext,
  RestorePolicy,
  VerifyContext,
} from '../../src/plugins/api.js';
import { fsDirectoryPlugin } from '../../src/plugins/fs/index.js';
import { resourceLabel } from '../../src/plugins/fs/manifest.js';
import { protectDirectoryV2 } from '../helpers/fs-v2-writer.js';

export async function loadPlugin(): Promise<{ protection: ProtectionPlugin; protectable: ProtectablePlugin }> {
  const instance = await fsDirectoryPlugin.create({ home: os.tmpdir(), providerId: 'test-provider', options: {}, logger: silentLogger });
  if (!instance.protection || !instance.protectables?.[0]) throw new Error('fs.directory plugin must provide protection and a protectable');
  return { protection: instance.protection, protectable: instance.protectables[0] };
}

/** Temp directories created by a test, removed by `cleanup()` in afterEach. */
export class TempDirs {
  private readonly dirs: string[] = [];

  make(): string {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'bwk-'));
    this.dirs.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const d of this.dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** Chunk stores newSection created; `closeStores()` (in an `after` hook) stops their codec workers. */
const openStores = new Set<ChunkStore>();

export async function closeStores(): Promise<void> {
  const stores = [...openStores];
  openStores.clear();
  await Promise.all(stores.map((s) => s.close()));
}

export interface SectionOptions {
  /** Share a bank (and its chunk store) between checkpoints; default: a fresh MemoryBank. */
  store?: ChunkStore;
  spec?: ChunkStoreSpec;
  /** The directory the section holds: errors then name the resource as the engine's sections do (`fs.directory#<dir>`). */
  dir?: string;
}

/**
 * A section over a fresh MemoryBank and its chunk store (pass `store` to share a bank between
 * checkpoints, `dir` to label it like the engine labels the section of that directory).
 */
export function newSection(
  opts: ChunkStore | SectionOptions = {},
  spec: ChunkStoreSpec = {},
): {
  bank: MemoryBank;
  store: ChunkStore;
  section: BankSection;
  prefix: string;
} {
  const o: SectionOptions = opts instanceof ChunkStore ? { store: opts, spec } : { spec, ...opts };
  const chunks = o.store ?? new ChunkStore(new MemoryBank(), o.spec ?? {}, 'memory');
  openStores.add(chunks);
  const bank = chunks.bank as MemoryBank;
  const prefix = `checkpoints/x${Math.random().toString(36).slice(2)}/resources/y/`;
  const section = new PrefixedBankSection(chunks, prefix, o.dir === undefined ? 'fs.directory#test' : resourceLabel(o.dir));
  return { bank, store: chunks, section, prefix };
}

export const dirResource = (path: string): Resource => ({ type: 'fs.directory', id: path, name: path.split('/').pop() || '/' });

function baseContext(
  resource: Resource,
  bank: BankSection,
  parameters: Record<string, unknown>,
  progress: Progress[],
  signal?: AbortSignal,
): HookContext {
  return {
    operationId: 'op-test',
    checkpointId: 'cp-test',
    projectId: 'project-test',
    resource,
    parameters,
    bank,
    signal: signal ?? new AbortController().signal,
    logger: silentLogger,
    progress: (p) => progress.push(p),
    resumeState: null,
    saveResumeState: () => undefined,
  };
}

/** Applies a schema's defaults and checks parameters, as the engine does before a hook runs. */
function validated(schema: object | undefined, params: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(params);
  if (schema) {
    const validate = compileSchema(schema);
    if (!validate(copy)) throw new Error(`parameters invalid: ${JSON.stringify(validate.errors)}`);
  }
  return copy;
}

export interface Run {
  progress: Progress[];
  savedInfo: Record<string, unknown> | null;
}

export async function protect(
  p: ProtectionPlugin,
  resource: Resource,
  bank: BankSection,
  params: Record<string, unknown> = {},
  signal?: AbortSignal,
  previous: BankSection | null = null,
  format: 2 | 3 = 3,
): Promise<Run> {
  const schemas = p.schemas('fs.directory');
  const run: Run = { progress: [], savedInfo: null };
  const ctx: ProtectContext = {
    ...baseContext(resource, bank, validated(schemas.options, params), run.progress, signal),
    previous,
    saveInfo: async (info) => {
      const validate = compileSchema(schemas.saved_info ?? {});
      if (!validate(info)) throw new Error(`saveInfo does not match the saved_info schema: ${JSON.stringify(validate.errors)}`);
      run.savedInfo = info;
    },
  };
  await (format === 2 ? protectDirectoryV2(ctx) : p.getProtectOperation(resource).main!(ctx));
  return run;
}

/** A protect that writes format 2, as builds before format 3 did (test/helpers/fs-v2-writer.ts). */
export const protectV2 = (
  p: ProtectionPlugin,
  resource: Resource,
  bank: BankSection,
  params: Record<string, unknown> = {},
  previous: BankSection | null = null,
): Promise<Run> => protect(p, resource, bank, params, undefined, previous, 2);

export async function restore(
  p: ProtectionPlugin,
  resource: Resource,
  bank: BankSection,
  params: Record<string, unknown> = {},
  policy: RestorePolicy = { allowedTargetPaths: ['/'], forbiddenPaths: [] },
  signal?: AbortSignal,
): Promise<Run> {
  const run: Run = { progress: [], savedInfo: null };
  const ctx: RestoreContext = {
    ...baseContext(resource, bank, validated(p.schemas('fs.directory').restore, params), run.progress, signal),
    restoreId: 'restore-test',
    savedInfo: null,
    policy,
  };
  await p.getRestoreOperation(resource).main!(ctx);
  return run;
}

export async function verify(p: ProtectionPlugin, resource: Resource, bank: BankSection): Promise<Run> {
  const run: Run = { progress: [], savedInfo: null };
  const ctx: VerifyContext = {
    ...baseContext(resource, bank, validated(p.schemas('fs.directory').verify, {}), run.progress),
    verificationId: 'verify-test',
    savedInfo: null,
  };
  await p.getVerifyOperation(resource).main!(ctx);
  return run;
}

/** Awaits a promise that must reject with `code`; returns the error for further checks. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a rejection with ${code}`).to.be.instanceOf(Error);
  expect((caught as { code?: unknown }).code, (caught as Error).message).to.equal(code);
  return caught as Error;
}

export interface TreeEntry {
  type: 'dir' | 'file' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  sha256?: string;
  link?: string;
}

/** A name as text: UTF-8 when it is, else `hex:<bytes>`. */
export function nameKey(name: Buffer): string {
  const text = name.toString('utf8');
  return Buffer.from(text, 'utf8').equals(name) ? text : `hex:${name.toString('hex')}`;
}

/** Every entry below `root` keyed by its relative path (see nameKey for non-UTF-8 names). */
export function snapshotTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (abs: Buffer, rel: string): void => {
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) {
      const childAbs = Buffer.concat([abs, Buffer.from('/'), name]);
      const childRel = (rel ? `${rel}/` : '') + nameKey(name);
      const st = fs.lstatSync(childAbs, { bigint: true });
      const e: TreeEntry = {
        type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeNs: st.mtimeNs,
      };
      if (e.type === 'file') e.sha256 = createHash('sha256').update(fs.readFileSync(childAbs)).digest('hex');
      if (e.type === 'symlink') e.link = nameKey(fs.readlinkSync(childAbs, { encoding: 'buffer' }));
      out.set(childRel, e);
      if (e.type === 'dir') walk(childAbs, childRel);
    }
  };
  walk(Buffer.from(root), '');
  return out;
}

/** Lists every file name under `root` (for "no temp file left" checks). */
export function allNames(root: string): string[] {
  return [...snapshotTree(root).keys()];
}

export interface CraftEntry {
  type: 'dir' | 'file' | 'symlink';
  /** Written as given (even "../evil"): only the restore's own checks may stop it. */
  path: string;
  content?: string | Buffer;
  link?: string;
  /** A BLAKE3 to record instead of the content's: a file whose chunks check out but whose bytes are wrong. */
  blake3?: string;
}

/**
 * Writes an archive in the plugin's documented format (v2, docs/fs-directory.md), built by hand
 * through the real section API as someone with write access to the bank could: `data` is a chunk
 * list with each file's chunks written by its own `write`, manifest lines carry each file's offset,
 * size, BLAKE3 and chunk range, and meta.json is sealed with correct sizes and hashes. Only the
 * restore's own checks can stop what it holds.
 */
export async function craftArchive(section: BankSection, source: string, entries: CraftEntry[]): Promise<void> {
  const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
  const writer = await section.chunkedWriter();
  let offset = 0;
  const lines: string[] = [];
  for (const e of entries) {
    const base = { type: e.type, path: e.path, mode: e.type === 'file' ? 0o644 : 0o755, uid: 0, gid: 0, mtime_ns: '1600000000000000000' };
    if (e.type === 'file') {
      const bytes = Buffer.from(e.content ?? '');
      const first = writer.length;
      const { chunks } = await writer.write(Readable.from([bytes]));
      lines.push(
        JSON.stringify({
          ...base,
          offset,
          size: bytes.length,
          blake3: e.blake3 ?? blake3(bytes).toString('hex'),
          chunks: [first, chunks],
          ino: String(1000 + lines.length),
          ctime_ns: base.mtime_ns,
        }),
      );
      offset += bytes.length;
    } else {
      lines.push(JSON.stringify(e.type === 'symlink' ? { ...base, link: e.link ?? '' } : base));
    }
  }
  const data = await writer.commit('data');
  const manifest = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  const { size: manifestSize } = await section.putStream('manifest.jsonl', Readable.from([manifest]));
  const body = {
    format: 'bulwark.fs.directory',
    version: 2,
    source,
    data: { object: 'data', size: data.size, chunks: data.chunks },
    manifest: { object: 'manifest.jsonl', size: manifestSize, sha256: sha(manifest), entries: lines.length },
  };
  await section.put('meta.json', JSON.stringify({ ...body, meta_sha256: sha(JSON.stringify(body)) }));
}
