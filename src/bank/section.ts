import type { Readable } from 'node:stream';
import type { BankSection } from '../plugins/api.js';
import { bwkError } from '../common/errors.js';
import type { BankPlugin } from './port.js';

/** Checks a plugin-supplied name so a section can never reach outside its prefix. */
function checkName(name: string): string {
  if (name === '' || name.startsWith('/') || name.split('/').some((p) => p === '' || p === '.' || p === '..') || name.includes('\0')) {
    throw bwkError('BWK_ERR_BANK_KEY_INVALID', { key: name, reason: 'section names are relative, without empty, "." or ".." segments' });
  }
  return name;
}

/** A BankSection over one prefix of a bank (a resource's data in one checkpoint). */
export class PrefixedBankSection implements BankSection {
  constructor(private readonly bank: BankPlugin, readonly prefix: string) {}

  put(name: string, data: Buffer | string): Promise<void> { return this.bank.putObject(this.prefix + checkName(name), data); }
  putStream(name: string, source: Readable | AsyncIterable<Buffer>): Promise<{ size: number }> { return this.bank.putObjectStream(this.prefix + checkName(name), source); }
  get(name: string): Promise<Buffer> { return this.bank.getObject(this.prefix + checkName(name)); }
  getStream(name: string): Promise<Readable> { return this.bank.getObjectStream(this.prefix + checkName(name)); }
  stat(name: string): Promise<{ size: number } | null> { return this.bank.statObject(this.prefix + checkName(name)); }
  delete(name: string): Promise<void> { return this.bank.deleteObject(this.prefix + checkName(name)); }
  async list(prefix = ''): Promise<string[]> {
    const keys = await this.bank.listObjects(this.prefix + prefix);
    return keys.map((k) => k.slice(this.prefix.length));
  }
}
