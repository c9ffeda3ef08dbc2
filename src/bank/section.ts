import { Readable } from 'node:stream';
import type { BankSection, ChunkRef, ChunkedWriter, ReadChunksOptions } from '../plugins/api.js';
import { bwkError } from '../core/errors.js';
import type { BankPlugin } from './port.js';
import type { ChunkStore } from './chunks/store.js';
import { corruptError } from './chunks/store.js';
import { decodeChunkList, decodeIndirectList, isChunkList, isIndirectList } from './chunks/chunk-list.js';

/** Checks a plugin-supplied name so a section can never reach outside its prefix. */
function checkName(name: string): string {
  if (name === '' || name.startsWith('/') || name.split('/').some((p) => p === '' || p === '.' || p === '..') || name.includes('\0')) {
    throw bwkError('BWK_ERR_BANK_KEY_INVALID', { key: name, reason: 'section names are relative, without empty, "." or ".." segments' });
  }
  return name;
}

/**
 * A BankSection over one prefix of a bank (a resource's data in one checkpoint). Streams become chunk
 * lists in the bank's chunk store; small objects are stored whole, sealed on an encrypted bank.
 */
export class PrefixedBankSection implements BankSection {
  /** @param label how errors name the resource (`fs.directory#/srv/www`). */
  constructor(
    private readonly store: ChunkStore,
    readonly prefix: string,
    private readonly label: string,
  ) {}

  private get bank(): BankPlugin {
    return this.store.bank;
  }

  private key(name: string): string {
    return this.prefix + checkName(name);
  }

  private async plain(name: string): Promise<Buffer> {
    return this.store.getSealed(this.key(name));
  }

  private async listOf(name: string, plain: Buffer): Promise<ChunkRef[]> {
    return (await this.store.resolveList(plain, this.label, name)).chunks;
  }

  async put(name: string, data: Buffer | string): Promise<void> {
    await this.store.putSealed(this.key(name), Buffer.from(data));
  }

  async putStream(name: string, source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ size: number }> {
    this.key(name);
    const writer = await this.chunkedWriter();
    await writer.write(source);
    return writer.commit(name);
  }

  async get(name: string): Promise<Buffer> {
    const plain = await this.plain(name);
    if (!isChunkList(plain)) return plain;
    const parts: Buffer[] = [];
    for await (const chunk of this.readChunks(await this.listOf(name, plain))) parts.push(chunk);
    return Buffer.concat(parts);
  }

  async getStream(name: string): Promise<Readable> {
    const plain = await this.plain(name);
    if (!isChunkList(plain)) return Readable.from([plain], { objectMode: false });
    return Readable.from(this.readChunks(await this.listOf(name, plain)), { objectMode: false });
  }

  async stat(name: string): Promise<{ size: number } | null> {
    const key = this.key(name);
    if ((await this.bank.statObject(key)) === null) return null;
    const plain = await this.plain(name);
    if (!isChunkList(plain)) return { size: plain.length };
    if (isIndirectList(plain)) {
      const indirect = decodeIndirectList(plain);
      if (typeof indirect === 'string') throw corruptError(this.label, `${name}: ${indirect}`);
      return { size: indirect.size };
    }
    const list = decodeChunkList(plain);
    if (typeof list === 'string') throw corruptError(this.label, `${name}: ${list}`);
    return { size: list.size };
  }

  delete(name: string): Promise<void> {
    return this.bank.deleteObject(this.key(name));
  }

  async list(prefix = ''): Promise<string[]> {
    const keys = await this.bank.listObjects(this.prefix + prefix);
    return keys.map((k) => k.slice(this.prefix.length));
  }

  async chunkedWriter(): Promise<ChunkedWriter> {
    const writer = await this.store.writer();
    const store = this.store;
    return {
      get length() {
        return writer.length;
      },
      async write(source) {
        const w = await writer.write(source);
        return { chunks: w.count, size: w.size };
      },
      readFiles: (files) => writer.readFiles(files),
      rescanFile: (path) => writer.rescanFile(path),
      async reuse(more) {
        if (!(await store.hasAll(more))) return false;
        writer.append(more);
        return true;
      },
      commit: async (name) => {
        const key = this.key(name);
        const refs = await writer.finish();
        await store.ensureLive(refs, this.label);
        await store.putList(key, refs, this.label);
        return { size: refs.reduce((n, r) => n + r.size, 0), chunks: refs.length, refs };
      },
    };
  }

  async getChunkList(name: string): Promise<ChunkRef[]> {
    return this.listOf(name, await this.plain(name));
  }

  readChunks(refs: readonly ChunkRef[], signal?: AbortSignal, options?: ReadChunksOptions): AsyncIterable<Buffer> {
    return this.store.read(refs, this.label, signal, options?.aheadBytes);
  }

  writeChunksToFile(refs: readonly ChunkRef[], fd: number, signal?: AbortSignal): Promise<string> {
    return this.store.writeFile(refs, fd, this.label, signal);
  }

  hashChunks(refs: readonly ChunkRef[], signal?: AbortSignal): Promise<string> {
    return this.store.writeFile(refs, null, this.label, signal);
  }
}
