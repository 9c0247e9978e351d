/**
 * JSON read exactly as Go's encoding/json (Go 1.19) reads it into a struct, because every
 * container runtime reads image configs, manifests, indexes and archive metadata that way
 * (docs/architecture.md "Reading JSON as the runtimes do"). JSON.parse differs in ways that
 * change what a check sees: Go matches field names case-insensitively (with its own folding:
 * `ſ` is `s`, the Kelvin sign is `k`), lets the last of several keys naming one field win,
 * decodes a second object into what the first left (maps gain entries, structs keep fields, a
 * slice reuses its backing array), sets a slice, map or pointer to nil on `null`, turns invalid
 * UTF-8 and lone surrogates into U+FFFD, and refuses numbers and types its target cannot hold.
 *
 * Two steps, as in Go: `parseGoJson` checks the syntax (Go's scanner: depth limit 10000, no
 * trailing data unless read as a json.Decoder does) and keeps every key in order; `decodeGo`
 * decodes that tree into a `Shape` — a small description of the Go type (struct fields in Go
 * order, maps, slices, pointers, strings, int64, bool, strslice.StrSlice, time.Time) — and
 * returns plain objects (nil slices, maps and pointers left out), or throws GoJsonError where
 * Go's Unmarshal returns an error.
 */
import { Buffer, isUtf8 } from 'node:buffer';

/** A JSON object as Go's decoder walks it: every key in document order, repeats kept. */
export class GoObject {
  constructor(
    readonly keys: readonly string[],
    readonly values: readonly GoValue[],
  ) {}
}

/** A JSON number, kept as its literal text (Go parses it for the type it is decoded into). */
export class GoNumber {
  constructor(readonly text: string) {}
}

/**
 * A JSON string whose token is not its value between quotes (it has an escape or invalid
 * UTF-8): the same value as a plain string, except to time.Time, which parses the raw token.
 */
export class GoEscaped {
  constructor(readonly value: string) {}
}

/** A parsed JSON value. */
export type GoValue = GoObject | GoValue[] | string | GoEscaped | GoNumber | boolean | null;

/** Where Go's Unmarshal (or Decoder.Decode) returns an error; `path` names the field, `/a/b/0`. */
export class GoJsonError extends Error {
  constructor(
    message: string,
    readonly path: string = '',
  ) {
    super(message);
    this.name = 'GoJsonError';
  }
}

/** Go's scanner refuses nesting deeper than this (encoding/json maxNestingDepth). */
export const GO_MAX_DEPTH = 10000;

/**
 * How to read the bytes: as `json.Unmarshal` (one value, only white space after it) or as
 * `json.NewDecoder(r).Decode` (the first value; what follows it is never read — `docker load`
 * and containerd read an archive's manifest.json that way).
 */
export type GoReadMode = 'unmarshal' | 'decoder';

/** Buffer's own latin1 slicer (what toString('latin1') calls), without toString's argument handling. */
const latin1 = (Buffer.prototype as unknown as { latin1Slice?: (start: number, end: number) => string }).latin1Slice;
function latin1Of(buf: Buffer, start: number, end: number): string {
  return latin1 ? latin1.call(buf, start, end) : buf.toString('latin1', start, end);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** A container being filled while parsing (an explicit stack: 10000 levels need no recursion). */
interface Frame {
  readonly array: GoValue[] | undefined;
  readonly keys: string[];
  readonly values: GoValue[];
  key: string;
}

/**
 * Parses `bytes` with Go's scanner rules. Throws GoJsonError on a syntax error, on nesting
 * deeper than GO_MAX_DEPTH, on empty input, and (mode `unmarshal`) on anything but white space
 * after the value. Linear in the input; strings are decoded once.
 */
export function parseGoJson(bytes: Uint8Array, mode: GoReadMode = 'unmarshal'): GoValue {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  let i = 0;
  const fail = (what: string): never => {
    if (i >= n) throw new GoJsonError('unexpected end of JSON input');
    throw new GoJsonError(`invalid character ${describeByte(buf[i] ?? 0)} ${what} (offset ${i})`);
  };
  const skipSpace = (): void => {
    while (i < n && isSpace(buf[i] as number)) i++;
  };

  /** The string starting at buf[i] (a quote); leaves i after its closing quote. */
  const readString = (): string | GoEscaped => {
    const start = ++i;
    // Fast path: printable ASCII without escapes, the common case.
    for (;;) {
      const c = buf[i];
      if (c === undefined) return fail('in string literal');
      if (c === QUOTE) {
        i++;
        return latin1Of(buf, start, i - 1);
      }
      if (c === BACKSLASH || c < 0x20 || c >= 0x80) break;
      i++;
    }
    let escaped = false;
    for (;;) {
      const c = buf[i];
      if (c === undefined) return fail('in string literal');
      if (c === QUOTE) break;
      if (c < 0x20) return fail('in string literal');
      if (c === BACKSLASH) {
        escaped = true;
        const e = buf[i + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            if (hexValue(buf[i + k]) < 0) {
              i += k;
              return fail('in \\u hexadecimal character escape');
            }
          }
          i += 6;
          continue;
        }
        if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
          continue;
        }
        i++;
        return fail('in string escape code');
      }
      i++;
    }
    const end = i++;
    if (!escaped && isUtf8(buf.subarray(start, end))) return buf.toString('utf8', start, end);
    return new GoEscaped(unquote(buf, start, end));
  };

  const readNumber = (): GoNumber => {
    const start = i;
    if (buf[i] === 0x2d) i++;
    if (buf[i] === 0x30) i++;
    else if (isDigit(buf[i])) while (isDigit(buf[i])) i++;
    else return fail('in numeric literal');
    if (buf[i] === 0x2e) {
      i++;
      if (!isDigit(buf[i])) return fail('after decimal point in numeric literal');
      while (isDigit(buf[i])) i++;
    }
    if (buf[i] === 0x65 || buf[i] === 0x45) {
      i++;
      if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
      if (!isDigit(buf[i])) return fail('in exponent of numeric literal');
      while (isDigit(buf[i])) i++;
    }
    return new GoNumber(latin1Of(buf, start, i));
  };

  const readLiteral = (word: string, value: boolean | null): boolean | null => {
    for (let k = 0; k < word.length; k++) {
      if (buf[i] !== word.charCodeAt(k)) return fail(`in literal ${word} (expecting ${JSON.stringify(word[k])})`) as never;
      i++;
    }
    return value;
  };

  /** Reads `"key" :` into the frame, leaving i at the value. */
  const readKey = (frame: Frame): void => {
    skipSpace();
    if (buf[i] !== QUOTE) fail('looking for beginning of object key string');
    const key = readString();
    frame.key = typeof key === 'string' ? key : key.value;
    skipSpace();
    if (buf[i] !== 0x3a) fail('after object key');
    i++;
  };

  const stack: Frame[] = [];
  let value: GoValue;
  skipSpace();
  if (i >= n) throw new GoJsonError(mode === 'decoder' ? 'EOF' : 'unexpected end of JSON input');
  for (;;) {
    skipSpace();
    const c = buf[i];
    switch (c) {
      case 0x7b: // {
      case 0x5b: {
        // [
        if (stack.length >= GO_MAX_DEPTH) throw new GoJsonError(`exceeded max depth (offset ${i})`);
        i++;
        skipSpace();
        if (c === 0x7b) {
          if (buf[i] === 0x7d) {
            i++;
            value = new GoObject([], []);
            break;
          }
          const frame: Frame = { array: undefined, keys: [], values: [], key: '' };
          stack.push(frame);
          readKey(frame);
          continue;
        }
        if (buf[i] === 0x5d) {
          i++;
          value = [];
          break;
        }
        stack.push({ array: [], keys: [], values: [], key: '' });
        continue;
      }
      case QUOTE:
        value = readString();
        break;
      case 0x74:
        value = readLiteral('true', true);
        break;
      case 0x66:
        value = readLiteral('false', false);
        break;
      case 0x6e:
        value = readLiteral('null', null);
        break;
      default:
        if (c === 0x2d || isDigit(c)) {
          value = readNumber();
          break;
        }
        return fail('looking for beginning of value');
    }
    // A value is complete: hand it to the containers it closes.
    let next = false;
    while (!next) {
      const top = stack[stack.length - 1];
      if (top === undefined) break;
      skipSpace();
      if (top.array !== undefined) {
        top.array.push(value);
        if (buf[i] === 0x2c) {
          i++;
          next = true;
        } else if (buf[i] === 0x5d) {
          i++;
          stack.pop();
          value = top.array;
        } else fail('after array element');
      } else {
        top.keys.push(top.key);
        top.values.push(value);
        if (buf[i] === 0x2c) {
          i++;
          readKey(top);
          next = true;
        } else if (buf[i] === 0x7d) {
          i++;
          stack.pop();
          value = new GoObject(top.keys, top.values);
        } else fail('after object key:value pair');
      }
    }
    if (!next) break;
  }
  if (mode === 'unmarshal') {
    skipSpace();
    if (i < n) fail('after top-level value');
  }
  return value;
}

function describeByte(c: number): string {
  if (c >= 0x20 && c < 0x7f) return JSON.stringify(String.fromCharCode(c));
  return `0x${c.toString(16).padStart(2, '0')}`;
}

/** Length of the valid UTF-8 sequence at buf[i] (Go's utf8.DecodeRune), or 0 when invalid. */
function utf8Length(buf: Buffer, i: number, end: number): number {
  const c = buf[i] as number;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = i + k < end ? (buf[i + k] as number) : -1;
    return b >= lo && b <= hi;
  };
  if (c < 0xc2) return 0;
  if (c < 0xe0) return cont(1) ? 2 : 0;
  if (c < 0xf0) {
    const ok1 = c === 0xe0 ? cont(1, 0xa0) : c === 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    return ok1 && cont(2) ? 3 : 0;
  }
  if (c < 0xf5) {
    const ok1 = c === 0xf0 ? cont(1, 0x90) : c === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    return ok1 && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

function u4(buf: Buffer, i: number, end: number): number {
  if (i + 6 > end || buf[i] !== BACKSLASH || buf[i + 1] !== 0x75) return -1;
  let r = 0;
  for (let k = 2; k < 6; k++) {
    const h = hexValue(buf[i + k]);
    if (h < 0) return -1;
    r = r * 16 + h;
  }
  return r;
}

const REPLACEMENT = '\ufffd';

/**
 * Go's unquoteBytes over buf[start, end) (already checked by the scanner): escapes decoded, a
 * surrogate pair joined, a lone or invalid surrogate escape and every byte of invalid UTF-8
 * (one per byte, as utf8.DecodeRune advances) replaced by U+FFFD.
 */
function unquote(buf: Buffer, start: number, end: number): string {
  const parts: string[] = [];
  let run = start;
  let i = start;
  const flush = (to: number): void => {
    if (to > run) parts.push(buf.toString('utf8', run, to));
  };
  while (i < end) {
    const c = buf[i] as number;
    if (c === BACKSLASH) {
      flush(i);
      const e = buf[i + 1];
      if (e === 0x75) {
        const r = u4(buf, i, end);
        i += 6;
        if (r >= 0xd800 && r < 0xe000) {
          const r2 = u4(buf, i, end);
          if (r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
            parts.push(String.fromCharCode(r, r2));
            i += 6;
          } else parts.push(REPLACEMENT);
        } else parts.push(String.fromCharCode(r));
      } else {
        parts.push(
          e === 0x62
            ? '\b'
            : e === 0x66
              ? '\f'
              : e === 0x6e
                ? '\n'
                : e === 0x72
                  ? '\r'
                  : e === 0x74
                    ? '\t'
                    : String.fromCharCode(e as number),
        );
        i += 2;
      }
      run = i;
      continue;
    }
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = utf8Length(buf, i, end);
    if (len > 0) {
      i += len;
      continue;
    }
    flush(i);
    parts.push(REPLACEMENT);
    i++;
    run = i;
  }
  flush(end);
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Shapes: the Go types documents are decoded into.

/** A struct field: its Go json name, its type, and whether the result keeps it. */
export interface GoField {
  readonly name: string;
  readonly shape: Shape;
  /** False for fields decoded only for Go's type checks (the result leaves them out). */
  readonly keep: boolean;
}

/** A Go type. */
export type Shape =
  | { readonly kind: 'string' }
  /** int / int64 (64-bit), or uint8 (a byte of a []byte written as an array). */
  | { readonly kind: 'int'; readonly bits: 64 | 8 }
  | { readonly kind: 'bool' }
  /** []byte: a base64 string (or an array of bytes). */
  | { readonly kind: 'bytes' }
  /** interface{}: anything; Go still refuses a number float64 cannot hold. */
  | { readonly kind: 'any' }
  /** time.Time (UnmarshalJSON: RFC 3339 in quotes, null ignored). */
  | { readonly kind: 'time' }
  /** strslice.StrSlice (docker, containers/image): a list of strings, or one string. */
  | { readonly kind: 'strslice' }
  /** struct{} (a set's value): any object, null. */
  | { readonly kind: 'empty' }
  | { readonly kind: 'slice'; readonly element: Shape }
  | { readonly kind: 'map'; readonly element: Shape }
  | { readonly kind: 'pointer'; readonly element: Shape }
  | StructShape;

/** A struct: fields in Go's order (embedded structs' fields in place), names as json tags give them. */
export interface StructShape {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: readonly GoField[];
  /** Exact-name lookup (Go's nameIndex). */
  readonly byName: ReadonlyMap<string, GoField>;
  /** Per field, Go's fold function for it (foldFunc). */
  readonly folds: ReadonlyArray<(key: string) => boolean>;
}

/** Shape constructors (Go type → shape). */
export const Go = {
  string: { kind: 'string' } as Shape,
  int64: { kind: 'int', bits: 64 } as Shape,
  uint8: { kind: 'int', bits: 8 } as Shape,
  bool: { kind: 'bool' } as Shape,
  bytes: { kind: 'bytes' } as Shape,
  any: { kind: 'any' } as Shape,
  time: { kind: 'time' } as Shape,
  strSlice: { kind: 'strslice' } as Shape,
  empty: { kind: 'empty' } as Shape,
  slice: (element: Shape): Shape => ({ kind: 'slice', element }),
  map: (element: Shape): Shape => ({ kind: 'map', element }),
  pointer: (element: Shape): Shape => ({ kind: 'pointer', element }),
  /** A struct from [json name, shape] pairs, in Go field order; `-name` marks a field the result leaves out. */
  struct(name: string, fields: ReadonlyArray<readonly [string, Shape]>): StructShape {
    const list: GoField[] = fields.map(([tag, shape]) =>
      tag.startsWith('-') ? { name: tag.slice(1), shape, keep: false } : { name: tag, shape, keep: true },
    );
    const byName = new Map<string, GoField>();
    for (const f of list) {
      if (byName.has(f.name)) throw new Error(`struct ${name} names ${f.name} twice`);
      // Go picks its fold function from the field name; every field name here is ASCII.
      if (!/^[\x20-\x7e]+$/.test(f.name)) throw new Error(`struct ${name}: field name ${f.name} is not printable ASCII`);
      byName.set(f.name, f);
    }
    return { kind: 'struct', name, fields: list, byName, folds: list.map((f) => foldFunc(f.name)) };
  },
};

/**
 * Go 1.19's foldFunc(name): how a key matches field `name` when not exactly. ASCII letters
 * match either case; `s`/`S` also match U+017F and `k`/`K` U+212A (equalFoldRight); no other
 * non-ASCII character matches an ASCII name.
 */
function foldFunc(name: string): (key: string) => boolean {
  let special = false;
  let nonLetter = false;
  for (let k = 0; k < name.length; k++) {
    const upper = name.charCodeAt(k) & 0xdf;
    if (upper < 0x41 || upper > 0x5a) nonLetter = true;
    else if (upper === 0x4b || upper === 0x53) special = true;
  }
  const isLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  if (special) {
    return (key) => {
      let t = 0;
      for (let k = 0; k < name.length; k++) {
        if (t >= key.length) return false;
        const sb = name.charCodeAt(k);
        const tc = key.codePointAt(t) as number;
        if (tc < 0x80) {
          if (sb !== tc && !(isLetter(sb) && (sb & 0xdf) === (tc & 0xdf))) return false;
          t++;
          continue;
        }
        const upper = sb & 0xdf;
        if (upper === 0x53 ? tc !== 0x17f : upper === 0x4b ? tc !== 0x212a : true) return false;
        t += tc > 0xffff ? 2 : 1;
      }
      return t === key.length;
    };
  }
  if (nonLetter) {
    return (key) => {
      if (key.length !== name.length) return false;
      for (let k = 0; k < name.length; k++) {
        const sb = name.charCodeAt(k);
        const tb = key.charCodeAt(k);
        if (sb === tb) continue;
        if (tb >= 0x80 || !isLetter(sb) || (sb & 0xdf) !== (tb & 0xdf)) return false;
      }
      return true;
    };
  }
  return (key) => {
    if (key.length !== name.length) return false;
    for (let k = 0; k < name.length; k++) {
      const tb = key.charCodeAt(k);
      if (tb >= 0x80 || (name.charCodeAt(k) & 0xdf) !== (tb & 0xdf)) return false;
    }
    return true;
  };
}

/** The field a key sets in a struct, as Go's decoder chooses it: the exact name, else the first that folds equal. */
export function fieldFor(shape: StructShape, key: string): GoField | undefined {
  const exact = shape.byName.get(key);
  if (exact) return exact;
  for (let k = 0; k < shape.fields.length; k++) if ((shape.folds[k] as (key: string) => boolean)(key)) return shape.fields[k];
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Decoding. Values are kept in Go's model while decoding (a slice has a length and a backing
// array whose capacity grows as Go's does, a pointer is a box), because a second value for the
// same field is decoded into what the first left.

class Slice {
  constructor(
    public items: unknown[],
    public len: number,
  ) {}
}

class Box {
  constructor(public value: unknown) {}
}

/** A struct value: field name → value, every field present. */
type StructValue = Record<string, unknown>;

const zeroStructs = new WeakMap<StructShape, () => StructValue>();

/** A fresh zero struct of `shape`: a compiled constructor per shape (zero values are made often). */
function zeroStruct(shape: StructShape): StructValue {
  let make = zeroStructs.get(shape);
  if (make === undefined) {
    const fields = shape.fields.map((f) => [f.name, f.shape] as const);
    const scalars = fields.filter(([, s]) => s.kind !== 'struct').map(([name, s]) => [name, zero(s)] as const);
    const nested = fields.filter(([, s]) => s.kind === 'struct') as ReadonlyArray<readonly [string, StructShape]>;
    make = (): StructValue => {
      const v: StructValue = {};
      for (const [name, z] of scalars) v[name] = z;
      for (const [name, s] of nested) v[name] = zeroStruct(s);
      return v;
    };
    zeroStructs.set(shape, make);
  }
  return make();
}

function zero(shape: Shape): unknown {
  switch (shape.kind) {
    case 'string':
      return '';
    case 'int':
      return 0;
    case 'bool':
      return false;
    case 'time':
      return '';
    case 'struct':
      return zeroStruct(shape);
    default:
      // slices, maps, pointers, interfaces, []byte: nil
      return null;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function typeName(shape: Shape): string {
  switch (shape.kind) {
    case 'int':
      return shape.bits === 8 ? 'uint8' : 'int64';
    case 'strslice':
      return 'strslice.StrSlice';
    case 'slice':
      return `[]${typeName(shape.element)}`;
    case 'map':
      return `map[string]${typeName(shape.element)}`;
    case 'pointer':
      return `*${typeName(shape.element)}`;
    case 'struct':
      return shape.name;
    case 'empty':
      return 'struct {}';
    case 'any':
      return 'interface {}';
    case 'bytes':
      return '[]uint8';
    case 'time':
      return 'time.Time';
    default:
      return shape.kind;
  }
}

function kindOf(v: GoValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string' || v instanceof GoEscaped) return 'string';
  if (v instanceof GoNumber) return `number ${v.text}`;
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/** Decoding state: the path, for the one message an error gives. */
class Decoder {
  /** Field names and element positions down to the value being decoded (joined only for an error). */
  readonly path: Array<string | number> = [];

  error(v: GoValue, shape: Shape, why?: string): never {
    throw new GoJsonError(why ?? `cannot unmarshal ${kindOf(v)} into a Go value of type ${typeName(shape)}`, `/${this.path.join('/')}`);
  }

  /** Decodes `v` into a value of `shape` that holds `current`; returns the new value. */
  decode(v: GoValue, shape: Shape, current: unknown): unknown {
    switch (shape.kind) {
      case 'string':
        if (v === null) return current;
        if (typeof v === 'string') return v;
        if (v instanceof GoEscaped) return v.value;
        return this.error(v, shape);
      case 'int':
        if (v === null) return current;
        if (!(v instanceof GoNumber)) return this.error(v, shape);
        return this.int(v, shape);
      case 'bool':
        if (v === null) return current;
        if (typeof v !== 'boolean') return this.error(v, shape);
        return v;
      case 'time':
        if (v === null) return current;
        if (typeof v !== 'string' || !isGoRfc3339(v))
          return this.error(v, shape, `parsing time ${typeof v === 'string' ? JSON.stringify(v) : kindOf(v)} as RFC 3339 failed`);
        return v;
      case 'any':
        return v === null ? null : this.any(v);
      case 'bytes':
        if (v === null) return null;
        if (typeof v === 'string' || v instanceof GoEscaped) {
          if (!isGoBase64(typeof v === 'string' ? v : v.value)) return this.error(v, shape, 'illegal base64 data');
          return true;
        }
        if (Array.isArray(v)) {
          v.forEach((b, k) => {
            this.path.push(k);
            this.decode(b, Go.uint8, 0);
            this.path.pop();
          });
          return true;
        }
        return this.error(v, shape);
      case 'empty':
        if (v === null || v instanceof GoObject) return current;
        return this.error(v, shape);
      case 'strslice':
        return this.strSlice(v);
      case 'slice':
        if (v === null) return null;
        if (!Array.isArray(v)) return this.error(v, shape);
        return this.slice(v, shape.element, current as Slice | null);
      case 'map': {
        if (v === null) return null;
        if (!(v instanceof GoObject)) return this.error(v, shape);
        const map = (current as Map<string, unknown> | null) ?? new Map<string, unknown>();
        const { keys, values } = v;
        for (let k = 0; k < keys.length; k++) {
          const key = keys[k] as string;
          this.path.push(key);
          map.set(key, this.decode(values[k] as GoValue, shape.element, zero(shape.element)));
          this.path.pop();
        }
        return map;
      }
      case 'pointer': {
        if (v === null) return null;
        const box = (current as Box | null) ?? new Box(zero(shape.element));
        box.value = this.decode(v, shape.element, box.value);
        return box;
      }
      case 'struct': {
        if (v === null) return current;
        if (!(v instanceof GoObject)) return this.error(v, shape);
        const target = current as StructValue;
        const { keys, values } = v;
        for (let k = 0; k < keys.length; k++) {
          const key = keys[k] as string;
          const field = fieldFor(shape, key);
          if (field === undefined) continue;
          this.path.push(field.name);
          target[field.name] = this.decode(values[k] as GoValue, field.shape, target[field.name]);
          this.path.pop();
        }
        return target;
      }
    }
  }

  int(v: GoNumber, shape: Shape & { kind: 'int' }): number {
    const text = v.text;
    // strconv.ParseInt / ParseUint: decimal digits only (a fraction or exponent is an error).
    if (!/^-?\d+$/.test(text)) return this.error(v, shape);
    if (shape.bits === 8) {
      if (text.startsWith('-') || text.length > 3 || Number(text) > 255) return this.error(v, shape);
      return Number(text);
    }
    if (text.length > 18) {
      const big = BigInt(text);
      if (big < INT64_MIN || big > INT64_MAX) return this.error(v, shape);
    }
    // `-0` is 0 (a Go int has no negative zero).
    return Number(text) || 0;
  }

  /** interface{}: checks what Go checks (a number must fit a float64) and keeps nothing but presence. */
  any(v: GoValue): unknown {
    const pending: GoValue[] = [v];
    while (pending.length > 0) {
      const x = pending.pop() as GoValue;
      if (x instanceof GoNumber) {
        if (!Number.isFinite(Number(x.text))) this.error(x, Go.any, `cannot unmarshal number ${x.text} into a Go value of type float64`);
      } else if (Array.isArray(x)) pending.push(...x);
      else if (x instanceof GoObject) pending.push(...x.values);
    }
    return true;
  }

  /** StrSlice.UnmarshalJSON: a fresh []string, else one string, else the error of the latter. */
  strSlice(v: GoValue): Slice | null {
    if (v === null) return null;
    if (Array.isArray(v)) {
      const saved = this.path.length;
      try {
        return this.slice(v, Go.string, new Slice([], 0)) as Slice;
      } catch (err) {
        if (!(err instanceof GoJsonError)) throw err;
        this.path.length = saved;
      }
    }
    if (typeof v === 'string') return new Slice([v], 1);
    if (v instanceof GoEscaped) return new Slice([v.value], 1);
    return this.error(v, Go.string);
  }

  /** An array into a slice, reusing its backing array as Go's decoder does. */
  slice(v: GoValue[], element: Shape, current: Slice | null): Slice {
    if (v.length === 0) return new Slice([], 0);
    const s = current ?? new Slice([], 0);
    for (let k = 0; k < v.length; k++) {
      if (k >= s.items.length) {
        // Go: newcap = cap + cap/2, at least 4; the new array holds the first len elements.
        const cap = s.items.length;
        const grown = Math.max(cap + Math.floor(cap / 2), 4);
        const items = s.items.slice(0, s.len);
        while (items.length < grown) items.push(zero(element));
        s.items = items;
      }
      if (k >= s.len) s.len = k + 1;
      this.path.push(k);
      s.items[k] = this.decode(v[k] as GoValue, element, s.items[k]);
      this.path.pop();
    }
    s.len = v.length;
    return s;
  }
}

/** Sets `out[key]` as an own property, `__proto__` included (an ordinary key, as in Go). */
export function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** The result's form of a decoded value: slices as arrays, maps as objects, nil left out. */
function plain(value: unknown, shape: Shape): unknown {
  switch (shape.kind) {
    case 'strslice':
    case 'slice': {
      if (value === null) return undefined;
      const s = value as Slice;
      const element = shape.kind === 'slice' ? shape.element : Go.string;
      const out: unknown[] = new Array<unknown>(s.len);
      // A nil element (a slice, map or pointer) is null.
      for (let k = 0; k < s.len; k++) out[k] = plain(s.items[k], element) ?? null;
      return out;
    }
    case 'map': {
      if (value === null) return undefined;
      const out: Record<string, unknown> = {};
      for (const [k, v] of value as Map<string, unknown>) setOwn(out, k, plain(v, shape.element) ?? null);
      return out;
    }
    case 'pointer':
      return value === null ? undefined : plain((value as Box).value, shape.element);
    case 'struct': {
      const out: Record<string, unknown> = {};
      const s = value as StructValue;
      for (const f of shape.fields) {
        if (!f.keep) continue;
        const v = plain(s[f.name], f.shape);
        if (v !== undefined) out[f.name] = v;
      }
      return out;
    }
    case 'empty':
      return {};
    case 'any':
    case 'bytes':
      return value === null ? undefined : true;
    default:
      return value;
  }
}

/**
 * What a Go caller put in the value before decoding into it (containers/image's
 * OCI1IndexFromManifest sets SchemaVersion, MediaType and empty Manifests and Annotations;
 * docker's legacy load makes the map it decodes `repositories` into): per top-level struct
 * field (or, for a map, `''`), a string or number, or an empty slice or map.
 */
export type GoPreset = Readonly<Record<string, string | number | 'empty slice' | 'empty map'>>;

function presetValue(v: GoPreset[string]): unknown {
  if (v === 'empty slice') return new Slice([], 0);
  if (v === 'empty map') return new Map<string, unknown>();
  return v;
}

/**
 * Decodes `value` into Go type `shape` as json.Unmarshal does; returns the plain result (nil
 * slices, maps and pointers left out of structs, null elsewhere; everything else present, zero
 * when the document says nothing). Throws GoJsonError where Go returns an error.
 */
export function decodeGo<T>(value: GoValue, shape: Shape, preset?: GoPreset): T {
  const d = new Decoder();
  let start = zero(shape);
  if (preset !== undefined) {
    if (shape.kind === 'struct') for (const [field, v] of Object.entries(preset)) (start as StructValue)[field] = presetValue(v);
    else if (preset[''] !== undefined) start = presetValue(preset['']);
  }
  return plain(d.decode(value, shape, start), shape) as T;
}

/** decodeGo's value, or the error where Go returns one. */
export type GoDecoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: GoJsonError };

/** decodeGo without throwing: what Go decodes, or its error. */
export function decodeGoResult<T>(value: GoValue, shape: Shape, preset?: GoPreset): GoDecoded<T> {
  try {
    return { ok: true, value: decodeGo<T>(value, shape, preset) };
  } catch (err) {
    if (err instanceof GoJsonError) return { ok: false, error: err };
    throw err;
  }
}

/** decodeGo, or undefined where Go returns an error. */
export function tryDecodeGo<T>(value: GoValue, shape: Shape, preset?: GoPreset): T | undefined {
  try {
    return decodeGo<T>(value, shape, preset);
  } catch (err) {
    if (err instanceof GoJsonError) return undefined;
    throw err;
  }
}

/** Why Go refuses to decode `value` as `shape`, in one line naming the field; undefined when it does not. */
export function goRefusal(value: GoValue, shape: Shape): string | undefined {
  try {
    decodeGo(value, shape);
    return undefined;
  } catch (err) {
    if (err instanceof GoJsonError) return `${err.path === '/' || err.path === '' ? 'the document' : err.path}: ${err.message}`;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Leaf formats Go checks while decoding.

const BASE64 = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** encoding/base64.StdEncoding.Decode accepts `s` (padding required, CR and LF ignored). */
function isGoBase64(s: string): boolean {
  const t = s.replace(/[\r\n]/g, '');
  return t.length % 4 === 0 && BASE64.test(t);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Go's time atoi: an optional sign, then decimal digits (none is 0); undefined when not that. */
function timeAtoi(s: string): number | undefined {
  const digits = s.startsWith('-') || s.startsWith('+') ? s.slice(1) : s;
  if (!/^\d*$/.test(digits)) return undefined;
  return Number(digits === '' ? '0' : digits) * (s.startsWith('-') ? -1 : 1);
}

/**
 * Go 1.19's time.Parse(`"`+time.RFC3339+`"`, token) accepts `value` as an unescaped string
 * token (what time.Time's UnmarshalJSON reads): four-digit year, two-digit month (1–12) and
 * day (valid for the month), a one- or two-digit hour (0–23), two-digit minute and second
 * (0–59), an optional `.` or `,` fraction of any length, then `Z` or `±hh:mm` (Go 1.19 does not
 * range-check the offset; its parts may even carry a sign).
 */
export function isGoRfc3339(value: string): boolean {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d?):(\d\d):(\d\d)(?:[.,]\d+)?(.*)$/s.exec(value);
  if (!m) return false;
  const [, y, mo, d, h, mi, s, zone = ''] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return false;
  if (day < 1 || day > daysIn(month, year)) return false;
  if (zone === 'Z') return true;
  if (zone.length !== 6 || zone[3] !== ':' || (zone[0] !== '+' && zone[0] !== '-')) return false;
  return timeAtoi(zone.slice(1, 3)) !== undefined && timeAtoi(zone.slice(4, 6)) !== undefined;
}
