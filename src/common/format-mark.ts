/**
 * The first two fields of a JSON record Bulwark keeps in a bank (the chunk store's config, a pack
 * index, a dump's meta.json): which format it is, and which version of it. A reader trusts no other
 * field of a record that does not carry the mark it knows.
 */
export interface FormatMark<F extends string = string> {
  format: F;
  version: number;
}

/** Whether `value` is a record carrying `mark`. */
export function hasMark(value: unknown, mark: FormatMark): boolean {
  const v = value as Partial<FormatMark> | null;
  return v !== null && typeof v === 'object' && v.format === mark.format && v.version === mark.version;
}

/** `bulwark.chunk-store v1`, as messages name a format. */
export const markName = (mark: FormatMark): string => `${mark.format} v${mark.version}`;
