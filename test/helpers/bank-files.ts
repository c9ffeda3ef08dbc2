import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The directory of one resource's section in an fs bank (there is one resource per test checkpoint). */
export function resourceDir(home: string, checkpointId: string): string {
  const dir = join(home, 'bank', 'checkpoints', checkpointId, 'resources');
  const [only] = readdirSync(dir);
  if (!only) throw new Error(`no resource data under ${dir}`);
  return join(dir, only);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Flips one byte of a bank file in place (what bit rot or tampering does). */
export function flipByte(file: string, at?: number): void {
  const buf = readFileSync(file);
  const i = at ?? Math.floor(buf.length / 2);
  buf[i] = buf[i]! ^ 0xff;
  writeFileSync(file, buf);
}

/**
 * Appends a crafted entry to an fs.directory manifest and re-seals meta.json with correct hashes, as
 * an attacker with write access to the bank would: only the restore's path checks can catch it.
 */
export function appendManifestEntry(dir: string, entry: Record<string, unknown>): void {
  const manifestFile = join(dir, 'manifest.jsonl');
  const manifest = Buffer.concat([readFileSync(manifestFile), Buffer.from(`${JSON.stringify(entry)}\n`)]);
  writeFileSync(manifestFile, manifest);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown> & { manifest: { size: number; sha256: string; entries: number } };
  delete meta.meta_sha256;
  meta.manifest.size = statSync(manifestFile).size;
  meta.manifest.sha256 = sha(manifest);
  meta.manifest.entries += 1;
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, meta_sha256: sha(JSON.stringify(meta)) }));
}
