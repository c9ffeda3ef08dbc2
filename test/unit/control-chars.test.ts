import { expect } from 'chai';
import fc from 'fast-check';
import { assertPrintable, escapeControlChars, findControlChar, stringifyJsonSafely } from '../../src/core/control-chars.js';
import { isBulwarkError } from '../../src/core/errors.js';
import { createOutput } from '../../src/cli/output.js';
import { Writable } from 'node:stream';
import { hasRawControl } from '../helpers/raw-control.js';

function capture(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('control characters', () => {
  it('escapes C0, DEL, C1, separators and bidi controls visibly, and leaves other text alone', () => {
    expect(escapeControlChars('a\x1b]0;title\x07b\r\nc\td\x7f\x9b\u2028\u202e')).to.equal(
      'a\\x1b]0;title\\x07b\\r\\nc\\td\\x7f\\x9b\\u2028\\u202e',
    );
    expect(escapeControlChars('plain näme, 日本, emoji 🙂')).to.equal('plain näme, 日本, emoji 🙂');
  });

  it('leaves no raw control character in any escaped string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => !hasRawControl(escapeControlChars(s))));
  });

  it('writes the same JSON value as JSON.stringify, with no raw control character', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, s) => {
        const doc = { value, s, [s]: s };
        expect(hasRawControl(stringifyJsonSafely(doc))).to.equal(false);
        // Indented, the only raw control character is the line break between members.
        const text = stringifyJsonSafely(doc, 2);
        expect(hasRawControl(text, ['\n'])).to.equal(false);
        expect(JSON.parse(text)).to.deep.equal(JSON.parse(JSON.stringify(doc)));
      }),
    );
    // Byte for byte as before when there is nothing to escape.
    expect(stringifyJsonSafely({ a: ['x', 1] }, 2)).to.equal(JSON.stringify({ a: ['x', 1] }, null, 2));
  });

  it('finds the first control character (1-based) and refuses it with BWK_ERR_CONTROL_CHARACTER', () => {
    expect(findControlChar('ok')).to.equal(undefined);
    expect(findControlChar('ab\x1bc\n')).to.deep.equal({ char: '\\x1b', position: 3 });
    let thrown: unknown;
    try {
      assertPrintable('plan name', 'x\u009b2J');
    } catch (err) {
      thrown = err;
    }
    expect(isBulwarkError(thrown) && thrown.code).to.equal('BWK_ERR_CONTROL_CHARACTER');
    expect((thrown as Error).message)
      .to.contain('plan name')
      .and.contain('\\x9b')
      .and.contain('character 2');
    expect(() => assertPrintable('plan name', 'fine name')).not.to.throw();
  });

  it('prints tables, records and errors for people with no raw control character', () => {
    const out = capture();
    const err = capture();
    const o = createOutput('table', out.stream, err.stream);
    const evil = 'x\x1b[2J\x1b]0;owned\x07\r\nforged\x9b';
    o.result([{ id: '1', name: evil }], ['id', 'name']);
    o.result({ name: evil, resources_reason: { [`fs.directory#${evil}`]: evil } });
    o.error(new Error(evil));
    expect(hasRawControl(out.text(), ['\n'])).to.equal(false);
    expect(hasRawControl(err.text().replace(/\n$/, ''))).to.equal(false);
    expect(out.text()).to.contain('x\\x1b[2J\\x1b]0;owned\\x07\\r\\nforged\\x9b');
    // One line per table row: a name cannot add rows.
    expect(out.text().split('\n')[2]).to.match(/^1 +x\\x1b/);
  });
});
