/**
 * The optional fields of a request body that carry a value: Karbor's clients send an unset field as
 * null or "", which must reach the service as absent. Every falsy value is dropped (null, "", 0,
 * false): use it only for fields where none of those is a meaningful value (ids, objects, paths).
 */
export function given<T extends object, K extends keyof T>(body: T, keys: readonly K[]): { [P in K]?: NonNullable<T[P]> } {
  return Object.fromEntries(keys.filter((k) => body[k]).map((k) => [k, body[k]])) as { [P in K]?: NonNullable<T[P]> };
}
