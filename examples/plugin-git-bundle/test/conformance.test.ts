/**
 * Runs Bulwark's plugin conformance suite against this plugin: one test per promise Bulwark makes
 * users (round trip, verify and restore catching a changed byte, delete, cancellation, re-run after a
 * crash, schemas, listing, secrets). The fixture is trivial: one file of random bytes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePluginConformance } from 'bulwark/plugin-kit';
import plugin, { TYPE } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'conformance-'));
const directory = join(root, 'data');
const source = join(directory, 'sample.bin');

describePluginConformance(plugin, {
  async source() {
    mkdirSync(directory);
    // Large enough that protect streams it in many pieces, so cancellation and crashes land mid-way.
    writeFileSync(source, randomBytes(3 * 1024 * 1024));
    return { type: TYPE, id: source, name: 'sample.bin' };
  },
  async destination(label) {
    const place = mkdtempSync(join(root, `restore-${label}-`));
    const target = join(place, 'restored.bin');
    return {
      parameters: { target_path: target },
      written: async () => readdirSync(place).length > 0,
      async expectEqualToSource() {
        if (!readFileSync(target).equals(readFileSync(source))) throw new Error(`${target} differs from ${source}`);
      },
    };
  },
  listParameters: { directory },
  missingId: join(root, 'missing.bin'),
  cleanup: async () => rmSync(root, { recursive: true, force: true }),
});
