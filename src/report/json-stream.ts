/**
 * JSON text in pieces: the same characters as `JSON.stringify(value, null, indent)`, produced
 * as chunks of about `chunkSize` characters, so that a report with very many findings is
 * written (to a file or stdout) without ever being one string in memory (V8 caps a string at
 * about 512 MiB; a report near that would fail with "Invalid string length").
 */

/** Values JSON.stringify leaves out of objects (and writes as `null` in arrays). */
function omitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/**
 * True when `JSON.stringify(value, null, step)` surely has at most `limit` characters: every
 * character of a string counts as six (its longest escape, `\uXXXX`), every other scalar as 24
 * (the longest number). Stops counting as soon as the bound is passed.
 */
function surelyWithin(value: object, step: number, limit: number): boolean {
  let total = 0;
  const visit = (v: unknown, depth: number): boolean => {
    if (typeof v === 'string') total += 2 + 6 * v.length;
    else if (v === null || typeof v !== 'object') total += 24;
    else {
      // Per member: newline, padding, comma; per key: quotes, colon, space.
      const line = 2 + step * (depth + 1);
      total += 3 + step * depth;
      if (Array.isArray(v)) {
        for (const item of v as unknown[]) {
          total += line;
          if (!visit(item, depth + 1)) return false;
        }
      } else {
        for (const key of Object.keys(v)) {
          total += line + 4 + 6 * key.length;
          if (!visit((v as Record<string, unknown>)[key], depth + 1)) return false;
        }
      }
    }
    return total <= limit;
  };
  return visit(value, 0);
}

/** Chunks whose concatenation is `JSON.stringify(value, null, indent)`, for plain data (no `toJSON`, no cycles). */
export function* jsonChunks(value: unknown, indent = 4, chunkSize = 64 * 1024): Generator<string> {
  const step = ' '.repeat(Math.max(0, Math.min(10, Math.floor(indent))));
  // A document that fits in one chunk (most reports) is one JSON.stringify: several times faster
  // than building it piece by piece, and the same characters by definition.
  if (typeof value === 'object' && value !== null && surelyWithin(value, step.length, chunkSize)) {
    yield JSON.stringify(value, null, step);
    return;
  }
  let out = '';

  function* emit(v: unknown, pad: string): Generator<string> {
    if (v === null || typeof v !== 'object') {
      out += JSON.stringify(v) ?? 'null';
      return;
    }
    const inner = pad + step;
    const open = step === '' ? '' : `\n${inner}`;
    const close = step === '' ? '' : `\n${pad}`;
    if (Array.isArray(v)) {
      if (v.length === 0) {
        out += '[]';
        return;
      }
      out += '[';
      for (let i = 0; i < v.length; i++) {
        out += (i > 0 ? ',' : '') + open;
        const item: unknown = v[i];
        if (omitted(item)) out += 'null';
        else yield* emit(item, inner);
        if (out.length >= chunkSize) {
          yield out;
          out = '';
        }
      }
      out += `${close}]`;
      return;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => !omitted(x));
    if (entries.length === 0) {
      out += '{}';
      return;
    }
    out += '{';
    for (let i = 0; i < entries.length; i++) {
      const [key, item] = entries[i] as [string, unknown];
      out += `${i > 0 ? ',' : ''}${open}${JSON.stringify(key)}:${step === '' ? '' : ' '}`;
      yield* emit(item, inner);
      if (out.length >= chunkSize) {
        yield out;
        out = '';
      }
    }
    out += `${close}}`;
  }

  yield* emit(value, '');
  if (out !== '') yield out;
}
