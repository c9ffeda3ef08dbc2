import { bwkError } from '../core/errors.js';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Ten years: longer is a token that never expires, which is what leaving the option out means. */
const MAX_MS = 3650 * UNIT_MS.d;

/**
 * A duration such as `30s`, `30m`, `12h` or `90d`, in milliseconds: one positive whole number and
 * one unit, nothing else (no `1h30m`, no bare numbers, whose unit would be a guess).
 * BWK_ERR_INVALID_DURATION otherwise, naming the option that carried it.
 */
export function parseDuration(option: string, text: string): number {
  const m = /^([1-9][0-9]{0,9})([smhd])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
  if (!(ms > 0 && ms <= MAX_MS)) throw bwkError('BWK_ERR_INVALID_DURATION', { option, value: JSON.stringify(text) });
  return ms;
}
