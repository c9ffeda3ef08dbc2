import { expect } from 'chai';
import fc from 'fast-check';
import { dump } from 'js-yaml';
import { parseYamlSource, YamlSyntaxError } from '../../src/common/yaml-source.js';

/** Lines are numbered in comments so each expectation can be checked by eye. */
const DOC = [
  'server:', //                1
  '  name: alpha', //          2
  '  limits:', //              3
  '    cpu: 2', //             4
  '    memory: 512', //        5
  '  tags:', //                6
  '    - web', //              7
  '    - name: db', //         8
  '      port: 5432', //       9
  '  flow: {a: 1, b: [x, y]}', // 10
  '  script: |', //            11
  '    echo one', //           12
  '    echo two', //           13
  '  folded: >', //            14
  '    one', //                15
  '    two', //                16
  '  plain: first part', //    17
  '    second part', //        18
  '  quoted: "one', //         19
  '    two"', //               20
  '  after: end', //           21
  '',
].join('\n');

function syntaxError(text: string): YamlSyntaxError {
  try {
    parseYamlSource(text);
  } catch (err) {
    expect(err).to.be.instanceOf(YamlSyntaxError);
    return err as YamlSyntaxError;
  }
  throw new Error(`expected a syntax error for ${JSON.stringify(text)}`);
}

describe('parseYamlSource', () => {
  const src = parseYamlSource(DOC, 'doc.yaml');

  it('parses values as js-yaml loads them', () => {
    expect(src.value).to.deep.equal({
      server: {
        name: 'alpha',
        limits: { cpu: 2, memory: 512 },
        tags: ['web', { name: 'db', port: 5432 }],
        flow: { a: 1, b: ['x', 'y'] },
        script: 'echo one\necho two\n',
        folded: 'one two\n',
        plain: 'first part second part',
        quoted: 'one two',
        after: 'end',
      },
    });
  });

  it('gives the line of nested map keys', () => {
    expect(src.lineOf('')).to.equal(1);
    expect(src.lineOf('/server')).to.equal(1);
    expect(src.lineOf('/server/name')).to.equal(2);
    expect(src.lineOf('/server/limits')).to.equal(3);
    expect(src.lineOf('/server/limits/cpu')).to.equal(4);
    expect(src.lineOf('/server/limits/memory')).to.equal(5);
  });

  it('gives the line of sequence items and of keys inside them', () => {
    expect(src.lineOf('/server/tags')).to.equal(6);
    expect(src.lineOf('/server/tags/0')).to.equal(7);
    expect(src.lineOf('/server/tags/1')).to.equal(8);
    expect(src.lineOf('/server/tags/1/name')).to.equal(8);
    expect(src.lineOf('/server/tags/1/port')).to.equal(9);
  });

  it('gives the line of flow mappings and sequences and their members', () => {
    expect(src.lineOf('/server/flow')).to.equal(10);
    expect(src.lineOf('/server/flow/a')).to.equal(10);
    expect(src.lineOf('/server/flow/b/1')).to.equal(10);
  });

  it('keeps counting lines correctly across multi-line strings', () => {
    expect(src.lineOf('/server/script')).to.equal(11);
    expect(src.lineOf('/server/folded')).to.equal(14);
    expect(src.lineOf('/server/plain')).to.equal(17);
    expect(src.lineOf('/server/quoted')).to.equal(19);
    expect(src.lineOf('/server/after')).to.equal(21);
  });

  it('falls back to the closest ancestor for a pointer to a missing node', () => {
    expect(src.lineOf('/server/limits/disk')).to.equal(3);
    expect(src.lineOf('/server/limits/disk/size')).to.equal(3);
    expect(src.lineOf('/server/tags/7')).to.equal(6);
    expect(src.lineOf('/server/tags/1/missing')).to.equal(8);
    expect(src.lineOf('/nothing/here')).to.equal(1);
  });

  it('counts lines from the top of the file, past comments and blank lines', () => {
    const s = parseYamlSource('# a comment\n\nfirst: 1\n# another\nsecond:\n  inner: 2\n');
    expect(s.lineOf('/first')).to.equal(3);
    expect(s.lineOf('/second/inner')).to.equal(6);
  });

  it('escapes "/" and "~" in keys as JSON pointers do', () => {
    const s = parseYamlSource('paths:\n  /srv/data: 1\n  ~home: 2\n  a~/b: 3\n');
    expect(s.value).to.deep.equal({ paths: { '/srv/data': 1, '~home': 2, 'a~/b': 3 } });
    expect(s.lineOf('/paths/~1srv~1data')).to.equal(2);
    expect(s.lineOf('/paths/~0home')).to.equal(3);
    expect(s.lineOf('/paths/a~0~1b')).to.equal(4);
  });

  it('finds quoted keys and plain keys that load as another spelling', () => {
    const s = parseYamlSource("\"tab\\tkey\": 1\n'it''s': 2\n0x1F: 3\n~: 4\n");
    expect(s.value).to.deep.equal({ 'tab\tkey': 1, "it's": 2, 31: 3, null: 4 });
    expect(s.lineOf('/tab\tkey')).to.equal(1);
    expect(s.lineOf("/it's")).to.equal(2);
    expect(s.lineOf('/31')).to.equal(3);
    expect(s.lineOf('/null')).to.equal(4);
  });

  it('gives aliases the line where they are used', () => {
    const s = parseYamlSource('base: &b {x: 1}\ncopy: *b\n');
    expect(s.value).to.deep.equal({ base: { x: 1 }, copy: { x: 1 } });
    expect(s.lineOf('/copy')).to.equal(2);
    expect(s.lineOf('/copy/x')).to.equal(2);
  });

  it('reads an empty or comment-only file as an empty document, not an error', () => {
    for (const text of ['', '\n\n', '# everything commented out\n#a: 1\n']) {
      const s = parseYamlSource(text);
      expect(s.value, JSON.stringify(text)).to.equal(null);
      expect(s.lineOf('/a')).to.equal(1);
    }
  });

  it('finds every key of any dumped two-level document on its own line (property)', () => {
    const key = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((k) => k !== '__proto__');
    const scalar = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 12 }));
    const doc = fc.dictionary(key, fc.oneof(scalar, fc.dictionary(key, scalar, { minKeys: 1, maxKeys: 4 })), { minKeys: 1, maxKeys: 6 });
    const esc = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');
    fc.assert(
      fc.property(doc, (value) => {
        const text = dump(value);
        const s = parseYamlSource(text);
        expect(s.value).to.deep.equal(value);
        // Block style puts each key on its own line, in object order: count them.
        let line = 0;
        for (const [k, v] of Object.entries(value)) {
          expect(s.lineOf(`/${esc(k)}`), text).to.equal(++line);
          if (v && typeof v === 'object')
            for (const inner of Object.keys(v)) expect(s.lineOf(`/${esc(k)}/${esc(inner)}`), text).to.equal(++line);
        }
      }),
    );
  });

  it('reports syntax errors with the 1-based line where they are found', () => {
    const indent = syntaxError('a: 1\nb:\n  c: 1\n d: 2\n');
    expect(indent.line).to.equal(4);
    expect(indent.reason).to.match(/indentation/);

    const duplicate = syntaxError('a: 1\nb: 2\na: 3\n');
    expect(duplicate.line).to.equal(3);
    expect(duplicate.reason).to.match(/duplicated mapping key/);

    const unclosed = syntaxError('a: 1\nb: [1, 2\nc: 3\n');
    expect(unclosed.line).to.equal(3);

    const several = syntaxError('a: 1\n---\nb: 2\n');
    expect(several.reason).to.match(/single document/);
  });
});
