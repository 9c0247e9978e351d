/**
 * Reading the account files of the final filesystem for the extended checks `empty-password`
 * and `duplicate-ids` (docs/checks.md, "Extended checks"): a file's content, the layer that
 * wrote it (what `Files` names, so a policy can accept it by path), or why it cannot be used.
 */
import type { CheckInput, LayerFiles } from './types.js';

/** An account file as a check can use it. */
export type AccountFile =
  | {
      readonly status: 'ok';
      readonly path: string;
      readonly lines: readonly AccountLine[];
      readonly truncated: boolean;
      readonly layer?: string;
    }
  | { readonly status: 'missing' }
  | { readonly status: 'unreadable'; readonly reason: string };

/** One non-comment line of a colon-separated account file. */
export interface AccountLine {
  /** 1-based. */
  readonly line: number;
  readonly fields: readonly string[];
}

/** Reads `path` from the final filesystem; lines split into fields (a truncated file's partial last line left out). */
export function readAccountFile(input: Pick<CheckInput, 'fs' | 'layers'>, path: string): AccountFile {
  const read = input.fs.read(path);
  if (read.status === 'missing') return { status: 'missing' };
  if (read.status === 'unreadable') return { status: 'unreadable', reason: read.reason };
  const raw = read.content.split('\n');
  if (read.truncated) raw.pop();
  const lines = raw.flatMap((text, i) => {
    const t = text.replace(/\r$/, '');
    return t.trim() === '' || t.trimStart().startsWith('#') ? [] : [{ line: i + 1, fields: t.split(':') }];
  });
  const found = input.fs.lookup(read.path);
  const index = found.status === 'found' && found.node.type === 'file' ? found.node.inode.layer : undefined;
  const layer = index === undefined ? undefined : input.layers[index]?.digest;
  return { status: 'ok', path: read.path, lines, truncated: read.truncated, ...(layer !== undefined ? { layer } : {}) };
}

/** `Files` for the account files a check found problems in: one entry per layer, in image order. */
export function accountFiles(
  input: Pick<CheckInput, 'layers'>,
  files: ReadonlyArray<Extract<AccountFile, { status: 'ok' }>>,
): LayerFiles | undefined {
  const order = input.layers.map((l) => l.digest);
  const byLayer = new Map<string, string[]>();
  for (const f of files) {
    if (f.layer === undefined) continue;
    byLayer.set(f.layer, [...(byLayer.get(f.layer) ?? []), f.path].sort());
  }
  const out = [...byLayer]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([digest, paths]) => ({ [digest]: [...new Set(paths)] }));
  return out.length > 0 ? out : undefined;
}
