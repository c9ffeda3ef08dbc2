/** Code points a terminal acts on: C0, DEL, C1, U+2028/9 and the bidirectional formatting characters. */
const isControl = (n: number): boolean =>
  n < 0x20 ||
  (n >= 0x7f && n <= 0x9f) ||
  n === 0x2028 ||
  n === 0x2029 ||
  n === 0x200e ||
  n === 0x200f ||
  (n >= 0x202a && n <= 0x202e) ||
  (n >= 0x2066 && n <= 0x2069);

/**
 * Whether `text` holds a raw control character, an independent check of src/core/control-chars.ts.
 * `allow` lists the ones output may hold on purpose (the line feed ending each line).
 */
export function hasRawControl(text: string, allow: string[] = []): boolean {
  return [...text].some((c) => isControl(c.codePointAt(0)!) && !allow.includes(c));
}
