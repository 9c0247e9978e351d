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

/** Chunks whose concatenation is `JSON.stringify(value, null, indent)`, for plain data (no `toJSON`, no cycles). */
export function* jsonChunks(value: unknown, indent = 4, chunkSize = 64 * 1024): Generator<string> {
  const step = ' '.repeat(Math.max(0, Math.min(10, Math.floor(indent))));
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
