/**
 * Hostile JSON documents for the JSON-parity campaign (test/fuzz/json-differential.test.ts):
 * documents shaped like real configs, manifests, indexes and docker-archive metadata, written
 * byte by byte so that they can carry what JSON.parse and Go read differently — keys in other
 * cases and with Go's Unicode folds (`ſ`, the Kelvin sign) or near-folds (`ı`), the same key
 * twice (the second often `null`), values of the wrong type, numbers Go's int64 refuses,
 * strings with invalid UTF-8, lone surrogate escapes and escaped timestamps, trailing bytes,
 * depth near Go's 10000 limit, truncation and flipped bytes. Deterministic for a seed.
 */

/** A small deterministic generator (mulberry32). */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** A JSON value as it will be written: objects keep repeated keys; strings may be raw bytes. */
export type J =
  | { readonly o: ReadonlyArray<readonly [Text, J]> }
  | { readonly a: readonly J[] }
  | { readonly s: Text }
  | { readonly n: string }
  | { readonly l: 'true' | 'false' | 'null' };
/** A string's content: text (written with JSON escapes) or exact bytes between the quotes. */
export type Text = string | Buffer;

/** Shorthands. */
export const obj = (...entries: ReadonlyArray<readonly [Text, J]>): J => ({ o: entries });
export const arr = (...items: J[]): J => ({ a: items });
export const str = (s: Text): J => ({ s });
export const num = (n: string | number): J => ({ n: String(n) });
export const NULL: J = { l: 'null' };
export const TRUE: J = { l: 'true' };

/** Writes `value` as JSON bytes. */
export function write(value: J): Buffer {
  const parts: Buffer[] = [];
  const text = (t: Text): void => {
    parts.push(typeof t === 'string' ? Buffer.from(JSON.stringify(t), 'utf8') : Buffer.concat([Buffer.from('"'), t, Buffer.from('"')]));
  };
  const walk = (v: J): void => {
    if ('o' in v) {
      parts.push(Buffer.from('{'));
      v.o.forEach(([k, x], i) => {
        if (i > 0) parts.push(Buffer.from(','));
        text(k);
        parts.push(Buffer.from(':'));
        walk(x);
      });
      parts.push(Buffer.from('}'));
    } else if ('a' in v) {
      parts.push(Buffer.from('['));
      v.a.forEach((x, i) => {
        if (i > 0) parts.push(Buffer.from(','));
        walk(x);
      });
      parts.push(Buffer.from(']'));
    } else if ('s' in v) text(v.s);
    else if ('n' in v) parts.push(Buffer.from(v.n));
    else parts.push(Buffer.from(v.l));
  };
  walk(value);
  return Buffer.concat(parts);
}

/** Bytes that are not UTF-8 (or are, oddly): Go replaces each invalid byte by U+FFFD. */
const ODD_BYTES = ['ff', 'c3', 'e282', 'eda080', 'f4908080', 'c0af', '80', 'efbfbd', 'f09f9880', 'e0a0'];
/** Escapes Go unquotes specially (lone surrogates → U+FFFD, pairs joined). */
const ODD_ESCAPES = [
  '\\ud800',
  '\\udc00',
  '\\ud83d\\ude00',
  '\\ud800\\u0041',
  '\\udbff\\udfff',
  '\\u0000',
  '\\u017f',
  '\\u212a',
  '\\/',
  '\\u00e9',
];

/** Text derived from `s`: as is, or with escapes, Unicode or invalid bytes mixed in. */
export function oddText(rng: Rng, s: string): Text {
  if (!rng.chance(0.25)) return s;
  const at = rng.int(s.length + 1);
  const body = JSON.stringify(s).slice(1, -1);
  const jsonAt = JSON.stringify(s.slice(0, at)).length - 2;
  switch (rng.int(4)) {
    case 0:
      return Buffer.concat([Buffer.from(body.slice(0, jsonAt)), Buffer.from(rng.pick(ODD_BYTES), 'hex'), Buffer.from(body.slice(jsonAt))]);
    case 1:
      return Buffer.from(body.slice(0, jsonAt) + rng.pick(ODD_ESCAPES) + body.slice(jsonAt));
    case 2:
      // A character of s written as a \u escape: the same string once unquoted.
      return at < s.length
        ? Buffer.from(
            JSON.stringify(s.slice(0, at)).slice(1, -1) +
              `\\u${(s.charCodeAt(at) & 0xffff).toString(16).padStart(4, '0')}` +
              JSON.stringify(s.slice(at + 1)).slice(1, -1),
          )
        : s;
    default:
      return s.slice(0, at) + rng.pick(['ſ', 'K', 'é', '😀', 'ı', 'İ', 'ß', '\u0000', '\u2028']) + s.slice(at);
  }
}

/** A key that may name field `name` for Go (other case, Go's folds) or almost (near-folds, invalid bytes). */
export function keyFor(rng: Rng, name: string): Text {
  if (rng.chance(0.7)) return name;
  switch (rng.int(7)) {
    case 0:
      return [...name].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
    case 1:
      return name.toUpperCase();
    case 2:
      return name.replace(/[sS]/g, () => (rng.chance(0.6) ? 'ſ' : 's')).replace(/[kK]/g, () => (rng.chance(0.6) ? 'K' : 'k'));
    case 3:
      return name.replace(/[iI]/g, () => rng.pick(['ı', 'İ', 'i'])).replace(/[sS]{1}/, 'ß');
    case 4: {
      // One letter escaped: the same key once unquoted.
      const at = rng.int(name.length);
      return Buffer.from(`${name.slice(0, at)}\\u${name.charCodeAt(at).toString(16).padStart(4, '0')}${name.slice(at + 1)}`);
    }
    case 5:
      return Buffer.concat([Buffer.from(name), Buffer.from(rng.pick(ODD_BYTES), 'hex')]);
    default:
      return name.toLowerCase();
  }
}

/** What a field holds in the real structs, for generating plausible values. */
export type Spec =
  | { readonly t: 'string'; readonly pool: readonly string[] }
  | { readonly t: 'int' }
  | { readonly t: 'bool' }
  | { readonly t: 'time' }
  | { readonly t: 'bytes' }
  | { readonly t: 'list'; readonly of: Spec; readonly max?: number }
  | { readonly t: 'strOrList'; readonly pool: readonly string[] }
  | { readonly t: 'map'; readonly keys: readonly string[]; readonly of: Spec }
  | { readonly t: 'set'; readonly keys: readonly string[] }
  | { readonly t: 'struct'; readonly fields: ReadonlyArray<readonly [string, Spec]> };

const TIMES = [
  '2024-01-02T03:04:05Z',
  '2024-01-02T03:04:05.123456789+01:00',
  '2024-01-02T03:04:05.1234567891234Z',
  '2024-01-02T3:04:05Z',
  '2024-01-02T03:04:05,5Z',
  '2024-02-29T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '2024-04-31T00:00:00Z',
  '2024-13-01T00:00:00Z',
  '2024-01-02T24:00:00Z',
  '2024-01-02T03:60:00Z',
  '2024-01-02T03:04:60Z',
  '2024-01-02 03:04:05Z',
  '2024-01-02T03:04:05',
  '2024-01-02T03:04:05.Z',
  '2024-01-02T03:04:05+99:99',
  '2024-01-02T03:04:05+-1:+5',
  '2024-01-02T03:04:05+0100',
  '2024-01-02T03:04:05z',
  '+024-01-02T03:04:05Z',
  '0000-00-00T00:00:00Z',
  '1-01-02T03:04:05Z',
  '',
];

function number(rng: Rng): string {
  return rng.pick([
    '0',
    '1',
    '-1',
    '-0',
    '2',
    '1.0',
    '1e3',
    '1E+2',
    '0.5',
    '-5',
    '9007199254740993',
    '9223372036854775807',
    '9223372036854775808',
    '-9223372036854775808',
    '-9223372036854775809',
    '1e400',
    '123456789012',
    '255',
    '256',
  ]);
}

/** A value of the wrong kind (or null, or a plausible value), for any field. */
function anyValue(rng: Rng, depth: number): J {
  switch (rng.int(depth > 2 ? 5 : 7)) {
    case 0:
      return NULL;
    case 1:
      return str(oddText(rng, rng.pick(['x', 'sh', '', 'sha256:abc', '22/tcp'])));
    case 2:
      return num(number(rng));
    case 3:
      return { l: rng.chance(0.5) ? 'true' : 'false' };
    case 4:
      return obj();
    case 5:
      return arr(...Array.from({ length: rng.int(3) }, () => anyValue(rng, depth + 1)));
    default:
      return obj(...Array.from({ length: rng.int(3) }, () => [rng.pick(['a', 'User', 'x']), anyValue(rng, depth + 1)] as const));
  }
}

/** A value for `spec`, mostly right, sometimes not (probability `bad`). */
export function valueFor(rng: Rng, spec: Spec, bad: number, depth = 0): J {
  if (rng.chance(bad)) return anyValue(rng, depth);
  switch (spec.t) {
    case 'string':
      return str(oddText(rng, rng.pick(spec.pool)));
    case 'int':
      return num(rng.chance(0.8) ? String(rng.int(100000)) : number(rng));
    case 'bool':
      return { l: rng.chance(0.5) ? 'true' : 'false' };
    case 'time':
      // Mostly times every runtime reads, so that the rest of the document is exercised too.
      if (rng.chance(0.75)) return str(rng.pick(TIMES.slice(0, 6)));
      return rng.chance(0.15) ? str(Buffer.from('\\u0032024-01-02T03:04:05Z')) : str(rng.pick(TIMES));
    case 'bytes':
      return rng.chance(0.7)
        ? str(rng.pick(['', 'YQ==', 'YWI=', 'YWJj', 'YW\nJj', 'YQ', 'YQ=', '!!!!', 'YQ==YQ==', 'Y\r\nQ\n==']))
        : arr(num(rng.pick(['1', '255', '256', '-1'])));
    case 'list':
      return arr(
        ...Array.from({ length: rng.int((spec.max ?? 3) + 1) }, () =>
          rng.chance(0.05) ? NULL : valueFor(rng, spec.of, bad / 2, depth + 1),
        ),
      );
    case 'strOrList':
      return rng.chance(0.25)
        ? str(oddText(rng, rng.pick(spec.pool)))
        : arr(...Array.from({ length: rng.int(3) }, () => (rng.chance(0.05) ? NULL : str(oddText(rng, rng.pick(spec.pool))))));
    case 'map':
    case 'set':
      return obj(
        ...Array.from({ length: rng.int(4) }, () => {
          const key = oddText(rng, rng.pick(spec.keys));
          return [
            key,
            spec.t === 'set' ? (rng.chance(0.9) ? obj() : anyValue(rng, depth + 1)) : valueFor(rng, spec.of, bad / 2, depth + 1),
          ] as const;
        }),
      );
    case 'struct':
      return structValue(rng, spec.fields, bad, depth);
  }
}

/** An object for a struct: fields in varying case and order, some repeated (the later often null), unknown keys. */
export function structValue(rng: Rng, fields: ReadonlyArray<readonly [string, Spec]>, bad: number, depth = 0): J {
  const entries: Array<readonly [Text, J]> = [];
  for (const [name, spec] of fields) if (rng.chance(0.75)) entries.push([keyFor(rng, name), valueFor(rng, spec, bad, depth + 1)]);
  const repeats = rng.chance(0.35) ? 1 + rng.int(3) : 0;
  for (let k = 0; k < repeats && fields.length > 0; k++) {
    const [name, spec] = rng.pick(fields);
    entries.push([keyFor(rng, name), rng.chance(0.4) ? NULL : valueFor(rng, spec, bad, depth + 1)]);
  }
  if (rng.chance(0.1)) entries.push([rng.pick(['unknown', 'Unknown', 'x-extra']), anyValue(rng, depth + 1)]);
  if (rng.chance(0.2)) {
    for (let k = entries.length - 1; k > 0; k--) {
      const j = rng.int(k + 1);
      [entries[k], entries[j]] = [entries[j] as readonly [Text, J], entries[k] as readonly [Text, J]];
    }
  }
  return obj(...entries);
}

/** Damage to the whole document: trailing bytes, depth, truncation, a flipped byte. */
export function damaged(rng: Rng, doc: Buffer): Buffer {
  if (!rng.chance(0.12)) return doc;
  switch (rng.int(9)) {
    case 0:
      return Buffer.concat([doc, Buffer.from(rng.pick([' ', '\n\t', ' x', '}', ']', '{}', 'null', '\u00a0']))]);
    case 1:
      return Buffer.concat([Buffer.from('\ufeff'), doc]);
    case 2:
      return doc.subarray(0, rng.int(doc.length));
    case 3: {
      const copy = Buffer.from(doc);
      if (copy.length > 0) copy[rng.int(copy.length)] = rng.int(256);
      return copy;
    }
    case 4:
      return Buffer.from(rng.pick(['', ' ', 'null', '[]', '{}', '"x"', '0', 'true', '[null]', '{"a":}']));
    case 5: {
      // Nesting around Go's limit (rarely: 20 kB of brackets), in an unknown field (or as the document).
      if (!rng.chance(0.1)) return Buffer.concat([Buffer.from('{"deep":[[[{"a":[[]]}]]],'), doc.subarray(1)]);
      const levels = rng.pick([9998, 9999, 10000, 10001]);
      const nest = Buffer.from('['.repeat(levels) + ']'.repeat(levels));
      if (doc[0] !== 0x7b || rng.chance(0.2)) return nest;
      return Buffer.concat([Buffer.from('{"deep":'), nest, Buffer.from(','), doc.subarray(1)]);
    }
    case 6:
      return Buffer.concat([Buffer.from(' \r\n\t'), doc, Buffer.from(' \r\n\t')]);
    case 7:
      return Buffer.concat([doc, Buffer.from('\u0000')]);
    default:
      return Buffer.concat([doc, doc]);
  }
}

// ---- The documents.

const DIGESTS = [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`, `sha256:${'c'.repeat(64)}`, 'sha256:abc', '', 'md5:0'];
const MEDIA_TYPES = [
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  '',
  'text/plain',
];
const strings = (...pool: string[]): Spec => ({ t: 'string', pool });
const listOf = (of: Spec, max = 3): Spec => ({ t: 'list', of, max });
const stringMap = (keys: readonly string[], values: readonly string[]): Spec => ({ t: 'map', keys, of: strings(...values) });

const PLATFORM: Spec = {
  t: 'struct',
  fields: [
    ['os', strings('linux', 'LINUX', 'windows', '', 'unknown', 'darwin')],
    ['architecture', strings('amd64', 'arm64', 'arm', '386', 'x86_64', 'aarch64', 'unknown', '')],
    ['variant', strings('', 'v7', 'v8', 'v6', '7', 'v8.2', 'v1')],
    ['os.version', strings('', '10.0.17763')],
    ['os.features', listOf(strings('win32k', 'x'))],
    ['features', listOf(strings('sse4'))],
  ],
};

const DESCRIPTOR: Spec = {
  t: 'struct',
  fields: [
    ['mediaType', strings(...MEDIA_TYPES)],
    ['digest', strings(...DIGESTS)],
    ['size', { t: 'int' }],
    ['urls', listOf(strings('https://example.com/l', ''))],
    [
      'annotations',
      stringMap(['org.opencontainers.image.ref.name', 'io.containerd.image.name', 'a', '__proto__'], ['1.0', 'latest', 'app:1', '']),
    ],
    ['platform', PLATFORM],
    ['data', { t: 'bytes' }],
    ['artifactType', strings('application/x', '')],
  ],
};

const RUNTIME_CONFIG: Spec = {
  t: 'struct',
  fields: [
    ['User', strings('', 'root', '0', '0:0', 'app', 'app:app', '1000:1000', 'nobody')],
    ['ExposedPorts', { t: 'set', keys: ['22/tcp', '80/tcp', '443', '23/udp', '20-25/tcp', '0022/TCP'] }],
    ['Env', listOf(strings('PATH=/usr/bin', 'A=1', ''))],
    ['Entrypoint', { t: 'strOrList', pool: ['/bin/sh', '-c', '', 'app'] }],
    ['Cmd', { t: 'strOrList', pool: ['run', '', '--help'] }],
    ['Volumes', { t: 'set', keys: ['/data', '/var/lib'] }],
    ['WorkingDir', strings('/', '/app', '')],
    [
      'Labels',
      stringMap(
        ['vendor', 'version', 'org.opencontainers.image.title', 'maintainer', 'a', '__proto__', 'constructor'],
        ['acme', '1.0', '', ' '],
      ),
    ],
    ['StopSignal', strings('SIGTERM')],
    ['ArgsEscaped', { t: 'bool' }],
    [
      'Healthcheck',
      {
        t: 'struct',
        fields: [
          ['Test', listOf(strings('CMD', 'curl', 'NONE'))],
          ['Interval', { t: 'int' }],
          ['Timeout', { t: 'int' }],
          ['StartPeriod', { t: 'int' }],
          ['Retries', { t: 'int' }],
        ],
      },
    ],
    ['Hostname', strings('h')],
    ['Tty', { t: 'bool' }],
    ['OnBuild', listOf(strings('RUN x'))],
    ['StopTimeout', { t: 'int' }],
    ['Shell', { t: 'strOrList', pool: ['/bin/sh', '-c'] }],
    ['Image', strings('sha256:x')],
  ],
};

const CONFIG: Spec = {
  t: 'struct',
  fields: [
    ['architecture', strings('amd64', 'arm64', 'arm', '')],
    ['os', strings('linux', 'windows', '')],
    ['variant', strings('', 'v7', 'v8')],
    ['created', { t: 'time' }],
    ['author', strings('me')],
    ['config', RUNTIME_CONFIG],
    ['container_config', RUNTIME_CONFIG],
    [
      'rootfs',
      {
        t: 'struct',
        fields: [
          ['type', strings('layers', '')],
          ['diff_ids', listOf(strings(...DIGESTS), 4)],
        ],
      },
    ],
    [
      'history',
      listOf({
        t: 'struct',
        fields: [
          ['created', { t: 'time' }],
          ['created_by', strings('RUN x', '/bin/sh -c #(nop) USER app')],
          ['empty_layer', { t: 'bool' }],
          ['comment', strings('buildkit')],
          ['author', strings('me')],
        ],
      }),
    ],
    ['os.version', strings('10.0')],
    ['os.features', listOf(strings('x'))],
    ['Size', { t: 'int' }],
    ['parent', strings('sha256:p')],
    ['id', strings('x')],
    ['docker_version', strings('24.0.0')],
  ],
};

const MANIFEST: Spec = {
  t: 'struct',
  fields: [
    ['schemaVersion', { t: 'int' }],
    ['mediaType', strings('application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', '')],
    ['config', DESCRIPTOR],
    ['layers', listOf(DESCRIPTOR, 4)],
    ['annotations', stringMap(['org.opencontainers.image.created', 'a'], ['x', ''])],
    ['subject', DESCRIPTOR],
    ['manifests', listOf(DESCRIPTOR, 1)],
    ['history', listOf(strings('x'), 1)],
  ],
};

const INDEX: Spec = {
  t: 'struct',
  fields: [
    ['schemaVersion', { t: 'int' }],
    ['mediaType', strings('application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json', '')],
    ['manifests', listOf(DESCRIPTOR, 5)],
    ['annotations', stringMap(['org.opencontainers.image.ref.name', 'a'], ['1.0', ''])],
    ['config', DESCRIPTOR],
    ['layers', listOf(DESCRIPTOR, 1)],
  ],
};

const ARCHIVE_ITEM: Spec = {
  t: 'struct',
  fields: [
    ['Config', strings(`${'a'.repeat(64)}.json`, 'config.json', `sha256:${'b'.repeat(64)}`, '')],
    ['RepoTags', listOf(strings('app:1.0', 'registry.local/team/app:latest', 'app', ''))],
    ['Layers', listOf(strings(`${'c'.repeat(64)}/layer.tar`, `blobs/sha256/${'d'.repeat(64)}`, `${'e'.repeat(64)}.tar.gz`), 4)],
    ['Parent', strings('sha256:p')],
    ['LayerSources', { t: 'map', keys: [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`, '__proto__'], of: DESCRIPTOR }],
  ],
};

/** The document kinds of the campaign. */
export type DocKind = 'config' | 'manifest' | 'index' | 'layout' | 'archive' | 'repositories';

/** A generated document, and for manifests and indexes the media type it is served with. */
export interface Generated {
  readonly bytes: Buffer;
  readonly mediaType?: string;
}

/** One generated document of `kind`. */
export function generate(rng: Rng, kind: DocKind): Generated {
  const bad = rng.pick([0, 0.02, 0.08]);
  let value: J;
  let mediaType: string | undefined;
  switch (kind) {
    case 'config':
      value = valueFor(rng, CONFIG, bad);
      break;
    case 'manifest':
      value = valueFor(rng, MANIFEST, bad);
      mediaType = rng.pick(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
      break;
    case 'index':
    case 'layout':
      value = valueFor(rng, INDEX, bad);
      mediaType = rng.pick(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
      break;
    case 'archive':
      value = rng.chance(0.95)
        ? arr(...Array.from({ length: 1 + rng.int(2) }, () => valueFor(rng, ARCHIVE_ITEM, bad)))
        : valueFor(rng, ARCHIVE_ITEM, bad);
      break;
    case 'repositories':
      value = valueFor(
        rng,
        { t: 'map', keys: ['app', 'registry.local/team/app', 'App', ''], of: stringMap(['latest', '1.0', 'Latest'], ['a'.repeat(64), '']) },
        bad,
      );
      break;
  }
  const bytes = damaged(rng, write(value));
  return mediaType === undefined || kind === 'layout' ? { bytes } : { bytes, mediaType };
}
