/**
 * `checkpoint show`'s report of what a protect could not capture: the checkpoint record holds only
 * the count per resource (records are not sealed on an encrypted bank); the entries themselves are in
 * each resource's sealed saved info (fs.directory's `skipped`), added to the shown record here.
 */
import type { CheckpointRecord } from '../checkpoints/model.js';
import type { Provider } from '../providers/registry.js';
import { loadSavedInfo } from './operation-context.js';

export async function withNotCapturedReport(record: CheckpointRecord, provider: Provider): Promise<CheckpointRecord> {
  const counts = record.extra_info?.['resources_not_captured'];
  if (typeof counts !== 'object' || counts === null) return record;
  const report: Record<string, { not_captured: unknown; entries: unknown }> = {};
  for (const [ref, count] of Object.entries(counts as Record<string, unknown>)) {
    const at = ref.indexOf('#');
    const info = await loadSavedInfo(provider, record.id, { type: ref.slice(0, at), id: ref.slice(at + 1), name: '' }).catch(() => null);
    report[ref] = { not_captured: count, entries: info?.['skipped'] ?? [] };
  }
  return { ...record, extra_info: { ...record.extra_info, resources_not_captured_report: report } };
}
