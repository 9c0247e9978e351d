/**
 * Go's encoding/json semantics (src/image/go-json.ts) and the union of the runtimes' views
 * (src/image/config.ts unionConfig, src/image/platform.ts candidatesAcrossReadings), case by
 * case, without Go: test/fuzz/json-differential.test.ts holds the same code against the
 * runtimes' own Go code. Each expectation here is what Go 1.19 answers (checked there).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { unionConfig, type ImageConfig } from '../../../src/image/config.js';
import { decodeGo, Go, GoJsonError, isGoRfc3339, parseGoJson, type Shape } from '../../../src/image/go-json.js';
import type { Descriptor } from '../../../src/image/manifest.js';
import { candidatesAcrossReadings, parsePlatform } from '../../../src/image/platform.js';

const decode = <T>(text: string | Buffer, shape: Shape): T =>
  decodeGo<T>(parseGoJson(typeof text === 'string' ? Buffer.from(text) : text), shape);
const S = Go.struct('S', [
  ['User', Go.string],
  ['diff_ids', Go.slice(Go.string)],
  ['Labels', Go.map(Go.string)],
  ['size', Go.int64],
  [
    'Items',
    Go.slice(
      Go.struct('Item', [
        ['a', Go.string],
        ['b', Go.string],
      ]),
    ),
  ],
  [
    'Ptr',
    Go.pointer(
      Go.struct('P', [
        ['x', Go.string],
        ['y', Go.string],
      ]),
    ),
  ],
  ['Cmd', Go.strSlice],
  ['created', Go.pointer(Go.time)],
]);

describe('Go encoding/json semantics', () => {
  it('matches keys as Go does: exact, else ASCII case, ſ for s, K (Kelvin) for k; nothing else', () => {
    for (const key of ['User', 'user', 'USER', 'uSeR', 'Uſer']) assert.equal(decode<{ User: string }>(`{"${key}":"x"}`, S).User, 'x', key);
    for (const key of ['Usér', 'Uſ\u0131r', 'Us', 'Userx', 'U\u00dfer'])
      assert.equal(decode<{ User: string }>(`{"${key}":"x"}`, S).User, '', key);
    assert.deepEqual(decode<{ diff_ids: string[] }>('{"DIFF_IDſ":["a"]}', S).diff_ids, ['a']);
    // An underscore only matches itself (asciiEqualFold).
    assert.equal(decode<{ diff_ids?: string[] }>('{"diff-ids":["a"]}', S).diff_ids, undefined);
  });

  it('the last key wins; maps gain entries; structs and pointed-to structs keep the fields not set again', () => {
    assert.equal(decode<{ User: string }>('{"User":"a","user":"b","USER":null}', S).User, 'b');
    assert.deepEqual(decode<{ Labels: Record<string, string> }>('{"Labels":{"a":"1"},"labels":{"b":"2","a":"3"}}', S).Labels, {
      a: '3',
      b: '2',
    });
    assert.deepEqual(decode<{ Ptr: unknown }>('{"Ptr":{"x":"1"},"Ptr":{"y":"2"}}', S).Ptr, { x: '1', y: '2' });
    assert.equal(decode<{ Ptr?: unknown }>('{"Ptr":{"x":"1"},"Ptr":null}', S).Ptr, undefined);
  });

  it('a slice reuses its backing array: elements are decoded into what an earlier array left, up to its capacity', () => {
    const items = decode<{ Items: unknown[] }>(
      '{"Items":[{"a":"1","b":"2"},{"a":"3"}],"Items":[{"a":"x"}],"Items":[{"b":"y"},{"a":"z"}]}',
      S,
    ).Items;
    assert.deepEqual(items, [
      { a: 'x', b: 'y' },
      { a: 'z', b: '' },
    ]);
    assert.deepEqual(decode<{ diff_ids: unknown[] }>('{"diff_ids":["a","b"],"diff_ids":[null,null,null]}', S).diff_ids, ['a', 'b', '']);
    // An empty array is a fresh, empty slice.
    assert.deepEqual(decode<{ diff_ids: unknown[] }>('{"diff_ids":["a"],"diff_ids":[],"diff_ids":[null]}', S).diff_ids, ['']);
    // StrSlice decodes a fresh list each time; one string is a one-element list.
    assert.deepEqual(decode<{ Cmd: unknown[] }>('{"Cmd":["a"],"Cmd":[null]}', S).Cmd, ['']);
    assert.deepEqual(decode<{ Cmd: unknown[] }>('{"Cmd":"sh"}', S).Cmd, ['sh']);
    assert.throws(() => decode('{"Cmd":["a",1]}', S), GoJsonError);
  });

  it('null clears slices, maps and pointers and leaves the rest', () => {
    const v = decode<Record<string, unknown>>(
      '{"User":"u","User":null,"diff_ids":["a"],"diff_ids":null,"Labels":{"a":"b"},"Labels":null,"size":5,"size":null}',
      S,
    );
    assert.deepEqual(v, { User: 'u', size: 5 });
  });

  it('unquotes as Go: each invalid UTF-8 byte and each lone surrogate escape is U+FFFD, pairs are joined', () => {
    const text = Buffer.concat([
      Buffer.from('{"User":"'),
      Buffer.from('61e282ff62eda080', 'hex'),
      Buffer.from('\\ud800\\u0041\\ud83d\\ude00\\udc00"}'),
    ]);
    assert.equal(decode<{ User: string }>(text, S).User, 'a\ufffd\ufffd\ufffdb\ufffd\ufffd\ufffd\ufffdA😀\ufffd');
    assert.equal(
      decode<{ Labels: Record<string, string> }>(
        Buffer.concat([Buffer.from('{"Labels":{"k'), Buffer.from('c0', 'hex'), Buffer.from('":"v"}}')]),
        S,
      ).Labels['k\ufffd'],
      'v',
    );
  });

  it('numbers: an int64 takes decimal integers in range only', () => {
    assert.equal(decode<{ size: number }>('{"size":-0}', S).size, 0);
    assert.equal(decode<{ size: number }>('{"size":9223372036854775807}', S).size, Number(2n ** 63n - 1n));
    for (const bad of ['1.0', '1e3', '9223372036854775808', '-9223372036854775809', '"1"', 'true'])
      assert.throws(() => decode(`{"size":${bad}}`, S), GoJsonError, bad);
  });

  it('syntax: depth up to 10000, nothing but white space after the value unless read as json.Decoder', () => {
    const nest = (n: number): string => `{"x":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
    assert.doesNotThrow(() => parseGoJson(Buffer.from(nest(10000))));
    assert.throws(() => parseGoJson(Buffer.from(nest(10001))), /max depth/);
    assert.throws(() => parseGoJson(Buffer.from('{} x')), GoJsonError);
    assert.deepEqual(parseGoJson(Buffer.from(' [1] x'), 'decoder'), parseGoJson(Buffer.from('[1]')));
    for (const bad of ['', ' ', '\ufeff{}', '{"a":01}', '{"a":"\u0001"}', '{"a":"\\x"}', "{'a':1}", '[1,]', '{"a":1,}', 'nul'])
      assert.throws(() => parseGoJson(Buffer.from(bad)), GoJsonError, JSON.stringify(bad));
  });

  it('times as Go 1.19 parses RFC 3339 (a one-digit hour, any fraction, no range check on the offset)', () => {
    for (const ok of [
      '2024-01-02T03:04:05Z',
      '2024-01-02T3:04:05Z',
      '2024-02-29T00:00:00.1234567891234+01:00',
      '2024-01-02T03:04:05,5Z',
      '2024-01-02T03:04:05+99:99',
      '2024-01-02T03:04:05+-1:+5',
    ])
      assert.ok(isGoRfc3339(ok), ok);
    for (const bad of [
      '2023-02-29T00:00:00Z',
      '2024-01-02T24:00:00Z',
      '2024-01-02 03:04:05Z',
      '2024-01-02T03:04:05',
      '2024-01-02T03:04:05z',
      '+024-01-02T03:04:05Z',
      '2024-01-02T03:04:05.Z',
    ])
      assert.ok(!isGoRfc3339(bad), bad);
    assert.throws(() => decode('{"created":"\\u0032024-01-02T03:04:05Z"}', S), /RFC 3339/);
    assert.equal(decode<{ created?: string }>('{"created":null}', S).created, undefined);
  });
});

describe("the union of the runtimes' views", () => {
  const docker: ImageConfig = { config: {}, rootfs: { type: 'layers' } };
  const oci: ImageConfig = {
    config: { User: 'app', ExposedPorts: { '22/tcp': {} }, Labels: { a: 'b', c: 'd' }, Entrypoint: ['sh'], Cmd: ['run'] },
    rootfs: { type: 'layers' },
  };
  for (const [name, views] of [
    ['docker first', [docker, oci]],
    ['oci first', [oci, docker]],
  ] as const) {
    it(`each check sees the failing value (${name})`, () => {
      const u = unionConfig(views);
      assert.equal(u?.config?.User, '');
      assert.deepEqual(Object.keys(u?.config?.ExposedPorts ?? {}), ['22/tcp']);
      assert.deepEqual(u?.config?.Labels, {});
      assert.equal(u?.config?.Entrypoint, undefined);
      assert.equal(u?.config?.Cmd, undefined);
    });
  }

  it('one view, or views that agree, are taken as they are', () => {
    assert.equal(unionConfig([oci]), oci);
    assert.deepEqual(unionConfig([oci, oci])?.config?.Labels, { a: 'b', c: 'd' });
    assert.equal(unionConfig([]), undefined);
  });

  const entry = (d: string, platform?: Descriptor['platform']): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${d.repeat(64)}`,
    size: 1,
    ...(platform ? { platform } : {}),
  });
  const amd = { os: 'linux', architecture: 'amd64' };
  const empty = { os: '', architecture: '' };

  it('index entries: a runtime that finds nothing is no conflict; different first choices refuse the index', () => {
    // containerd: A (no platform) after B; docker: B only.
    const agreed = candidatesAcrossReadings(
      [
        [entry('a'), entry('b', amd)],
        [entry('a', empty), entry('b', amd)],
      ],
      parsePlatform('linux/amd64'),
      'i',
    );
    assert.deepEqual(
      agreed.map((c) => c.descriptor.digest[7]),
      ['b'],
    );
    // containerd: only A, by its config; docker: nothing.
    assert.deepEqual(
      candidatesAcrossReadings([[entry('a')], [entry('a', empty)]], parsePlatform('linux/amd64'), 'i').map((c) => c.descriptor.digest[7]),
      ['a'],
    );
    // containerd: B (386) before A (config); docker: A (amd64).
    assert.throws(
      () =>
        candidatesAcrossReadings(
          [
            [entry('a'), entry('b', { os: 'linux', architecture: '386' })],
            [entry('a', amd), entry('b', { os: 'linux', architecture: '386' })],
          ],
          parsePlatform('linux/amd64'),
          'i',
        ),
      /ambiguous/,
    );
    // all: an entry any runtime keeps is kept.
    const unknown = { os: 'unknown', architecture: 'unknown' };
    assert.equal(
      candidatesAcrossReadings(
        [
          [entry('a', amd), entry('b')],
          [entry('a', amd), entry('b', unknown)],
        ],
        'all',
        'i',
      ).length,
      2,
    );
  });
});
