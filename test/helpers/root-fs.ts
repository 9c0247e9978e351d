/**
 * A root filesystem as a storage driver made it (the containers/storage oracle's listing, or a
 * podman mount read here), against the final filesystem the inspector built for the same
 * layers: the comparison of the runtime-parity tests (docs/security.md, "Runtime parity").
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ALL_CHECKS, matchersOf } from '../../src/checks/index.js';
import { capabilityText } from '../../src/layer/capability.js';
import { mergeLayers, type Driver, type FinalFs, type FsNode, type Inode } from '../../src/layer/final-fs.js';
import { inspectLayer, type LayerFacts } from '../../src/layer/inspect.js';
import { normalisePath } from '../../src/layer/paths.js';
import type { EntrySpec } from './image-builder.js';
import type { OracleEntry } from './layer-oracle.js';

/** Every layer through the real inspector (tar reader and recorder, the checks' matchers), then merged. */
export async function readLayers(tars: readonly Buffer[], watch: ReadonlySet<string>): Promise<{ facts: LayerFacts[]; fs: FinalFs }> {
  const facts: LayerFacts[] = [];
  for (const tar of tars)
    facts.push(await inspectLayer(Readable.from([tar]), { matchers: matchersOf(ALL_CHECKS), watchPaths: watch, what: 'layer' }));
  return { facts, fs: mergeLayers(facts, watch) };
}

/** Every path the entries name (and their ancestors), and every path up to three deep of `names`: watched, so that every file's content is known. */
export function watchingEveryPath(entries: readonly EntrySpec[], names: readonly string[] = []): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    for (const p of [e.path, e.type === 'hardlink' ? e.target : undefined]) {
      if (p === undefined) continue;
      for (let q = normalisePath(p); q !== '/'; q = q.slice(0, q.lastIndexOf('/')) || '/') out.add(q);
    }
  }
  for (const a of names) {
    out.add(`/${a}`);
    for (const b of names) {
      out.add(`/${a}/${b}`);
      for (const c of names) out.add(`/${a}/${b}/${c}`);
    }
  }
  return out;
}

const KIND: Record<OracleEntry['type'], FsNode['type']> = {
  dir: 'dir',
  file: 'file',
  symlink: 'symlink',
  'char-device': 'other',
  'block-device': 'other',
  fifo: 'other',
  other: 'other',
};

/**
 * The differences between a driver's root filesystem and our view of it, one line each: every
 * path, its type, a regular file's mode, owner, content and (when `capabilities`) capabilities,
 * a symlink's target, and which paths share an inode.
 */
export function compareRootFs(
  driver: Driver,
  theirs: readonly OracleEntry[],
  fs: FinalFs,
  options: { readonly capabilities?: boolean } = {},
): string[] {
  const view = fs.views.find((v) => v.driver === driver);
  if (!view) return [`no ${driver} view`];
  const mine = new Map(view.list().map((e) => [e.path, e.node]));
  const diffs: string[] = [];
  const inodes = new Map<number, Inode>();
  for (const t of theirs) {
    const node = mine.get(t.path);
    mine.delete(t.path);
    if (!node) {
      diffs.push(`${t.path}: ${driver} has a ${t.type}, we have nothing`);
      continue;
    }
    if (node.type !== KIND[t.type]) {
      diffs.push(`${t.path}: ${driver} has a ${t.type}, we have a ${node.type}`);
      continue;
    }
    if (node.type === 'symlink' && node.target !== t.target) diffs.push(`${t.path}: ${driver} links to ${t.target}, we to ${node.target}`);
    if (node.type !== 'file') continue;
    const { inode } = node;
    if (inode.mode !== t.mode) diffs.push(`${t.path}: ${driver} mode 0${t.mode.toString(8)}, ours 0${inode.mode.toString(8)}`);
    if (inode.uid !== t.uid || inode.gid !== t.gid)
      diffs.push(`${t.path}: ${driver} owner ${t.uid}:${t.gid}, ours ${inode.uid}:${inode.gid}`);
    const content = t.content === undefined ? undefined : Buffer.from(t.content, 'base64').toString('utf8');
    if (inode.file?.content !== content)
      diffs.push(
        `${t.path}: ${driver} content ${JSON.stringify(content)}, ours ${JSON.stringify(inode.file?.content)} (from ${inode.origin})`,
      );
    if (options.capabilities !== false) {
      const caps = t.capability === undefined ? undefined : capabilityText(Buffer.from(t.capability, 'hex'));
      if (inode.capability !== caps)
        diffs.push(`${t.path}: ${driver} ${caps ?? 'no capabilities'}, ours ${inode.capability ?? 'no capabilities'}`);
    }
    const same = inodes.get(t.inode);
    if (same === undefined) inodes.set(t.inode, inode);
    else if (same !== inode) diffs.push(`${t.path}: ${driver} shares an inode with another name, we do not`);
  }
  for (const [path, node] of mine) diffs.push(`${path}: ${driver} has nothing, we have a ${node.type}`);
  return diffs;
}

/** A mounted root filesystem (podman image mount) as the oracle lists one; capabilities are not read (Node has no getxattr). */
export async function listMount(root: string): Promise<OracleEntry[]> {
  const out: OracleEntry[] = [];
  const inodes = new Map<number, number>();
  const visit = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const path = `${rel}/${name}`;
      const st = await lstat(full);
      let inode = inodes.get(st.ino);
      if (inode === undefined) {
        inode = inodes.size;
        inodes.set(st.ino, inode);
      }
      const base = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, inode };
      if (st.isDirectory()) {
        out.push({ ...base, type: 'dir' });
        await visit(full, path);
      } else if (st.isFile()) out.push({ ...base, type: 'file', content: (await readFile(full)).toString('base64') });
      else if (st.isSymbolicLink()) out.push({ ...base, type: 'symlink', target: await readlink(full) });
      else
        out.push({
          ...base,
          type: st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char-device' : st.isBlockDevice() ? 'block-device' : 'other',
        });
    }
  };
  await visit(root, '');
  return out;
}
