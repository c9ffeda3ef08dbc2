import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/..., fixtures live in test/fixtures). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'bin', 'bulwark.js');
export const RECORDER_PLUGIN = join(REPO_ROOT, 'test', 'fixtures', 'plugins', 'recorder.mjs');

/** A temp dir removed by the returned cleanup. */
export function tempDir(label: string): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), `bwk-${label}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
