import { expect } from 'chai';
import fc from 'fast-check';
import { assertJsonDepth, JsonDepthScanner } from '../../src/api/json-body.js';
import { isBulwarkError } from '../../src/core/errors.js';

/** The nesting depth of a parsed JSON value: what the scanner must find from the text alone. */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === 'object') return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

/** Whether the scanner, fed `text` in the given pieces, accepts it at `max`. */
function accepts(text: string, max: number, cuts: number[] = []): boolean {
  const bytes = Buffer.from(text, 'utf8');
  const scanner = new JsonDepthScanner(max);
  const at = [0, ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length];
  try {
    for (let i = 1; i < at.length; i++) scanner.push(bytes.subarray(at[i - 1], at[i]));
    return true;
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_JSON_TOO_DEEP')) return false;
    throw err;
  }
}

describe('JSON depth limit (src/api/json-body.ts)', () => {
  it('accepts exactly the JSON documents nested no deeper than the limit, however the bytes are split', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 8 }), (value, cuts, max) => {
        const text = JSON.stringify(value);
        expect(accepts(text, max, cuts)).to.equal(depthOf(value) <= max);
      }),
      { numRuns: 500 },
    );
  });

  it('does not count brackets in strings, escaped quotes included', () => {
    const tricky = JSON.stringify({ s: '[[{{"\\"[[[', t: ['\\', '"]]]}}'] });
    expect(depthOf(JSON.parse(tricky))).to.equal(2);
    expect(accepts(tricky, 2)).to.equal(true);
    expect(accepts(tricky, 1)).to.equal(false);
    // An escape split from the quote it escapes still escapes it.
    const split = '["a\\"[[[["]';
    for (let cut = 0; cut <= split.length; cut++) expect(accepts(split, 1, [cut]), `cut at ${cut}`).to.equal(true);
  });

  it('refuses 5,000 levels with a coded error instead of a stack overflow, naming the limit', () => {
    let err: unknown;
    try {
      assertJsonDepth(`${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`, 64);
    } catch (e) {
      err = e;
    }
    expect(isBulwarkError(err, 'BWK_ERR_JSON_TOO_DEEP')).to.equal(true);
    expect((err as Error).message).to.match(/more than 64 levels deep \(api\.json_max_depth\)/);
  });
});
