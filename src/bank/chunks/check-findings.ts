/**
 * What a failed `bank check` found, in one line (`2 missing chunk(s), 1 damaged pack(s)`): the
 * summary of BWK_ERR_BANK_CHECK_FAILED in the CLI and of a scheduled bank_check's error_info. Apart
 * from check.ts so that callers of the service (the operation engine) need only the report's type.
 */
import type { CheckReport } from './check.js';

export function checkFindings(report: CheckReport): string {
  return [
    report.missing_chunks && `${report.missing_chunks} missing chunk(s)`,
    report.corrupt_chunks && `${report.corrupt_chunks} corrupt chunk(s)`,
    report.damaged_packs.length && `${report.damaged_packs.length} damaged pack(s)`,
    report.unreadable.length && `${report.unreadable.length} unreadable object(s)`,
  ]
    .filter(Boolean)
    .join(', ');
}
