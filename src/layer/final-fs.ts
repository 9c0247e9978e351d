/**
 * The final filesystem as an overlay runtime builds it (OCI image spec, "Representing
 * Changes"; docs/checks.md, "How file checks see an image"): layers applied in order, each
 * layer's whiteouts and opaque dirs first, then its entries at their own paths. What is known
 * of a path is what the layer facts hold: every symlink, hard link and executable, and the
 * watched files with their content. Lookups follow symlinks in every component, relative and
 * absolute, with `..` clamped at the root, up to Linux's 40 links.
 *
 * The tree is a path trie, so a whiteout or an opaque dir costs the depth of its path, not a
 * walk over everything the lower layers left.
 */
import type { LayerFacts, WatchedEntry } from './inspect.js';

/** Symlinks followed in one lookup before giving up (Linux's MAXSYMLINKS is 40). */
export const MAX_SYMLINK_HOPS = 40;

/** A watched regular file's recorded content. */
export type WatchedFile = Extract<WatchedEntry, { type: 'file' }>;

/** What the final filesystem knows about one path. */
export type FsNode =
  | {
      readonly type: 'file';
      /** Any execute bit (from the layer's `executables`). */
      readonly exec: boolean;
      /** The content, when the path was watched. */
      readonly file?: WatchedFile;
      /** Where the inspector recorded it (a hard link shares its target's). */
      readonly origin: string;
      /** Index of the layer that wrote it. */
      readonly layer: number;
    }
  | { readonly type: 'dir' }
  | { readonly type: 'symlink'; readonly target: string }
  /** A hard link whose target was not known when its layer was applied. */
  | { readonly type: 'hardlink'; readonly target: string }
  | { readonly type: 'other' };

/** Where a lookup ended. */
export type Resolution =
  | { readonly status: 'found'; readonly path: string; readonly node: FsNode }
  /** Nothing is recorded at `path`: absent, or a plain file nobody watched. */
  | { readonly status: 'absent'; readonly path: string }
  /** More than 40 symlinks (a loop); `path` is where it gave up. */
  | { readonly status: 'loop'; readonly path: string };

/** The outcome of reading a watched file. */
export type FileRead =
  /** `content`: the kept bytes decoded as UTF-8 (text); `bytes`: the same bytes exactly. */
  | { readonly status: 'ok'; readonly path: string; readonly content: string; readonly bytes: Buffer; readonly size: number; readonly truncated: boolean }
  | { readonly status: 'missing'; readonly path: string }
  /** Something is there but its content is not known: `reason` says why, for a check's description. */
  | { readonly status: 'unreadable'; readonly path: string; readonly reason: string };

/** Lookups in the merged image filesystem. */
export interface FinalFs {
  /**
   * Follows `path` (its last component too unless `followLast` is false); `hops` counts links
   * already followed before this lookup (a symlink's own target starts at 1).
   */
  lookup(path: string, options?: { readonly followLast?: boolean; readonly hops?: number }): Resolution;
  /** Reads a regular file after following links, saying why when it cannot. */
  read(path: string): FileRead;
  /**
   * The path whose recorded content `path` shows (a symlink's target, a hard link's target),
   * or undefined for a loop. scan.ts inspects again, watching these, until every watched path
   * resolves to a watched one (see `pendingWatches`).
   */
  resolve(path: string): string | undefined;
  /** Paths `watchPaths` lead to that are not watched themselves: inspect again watching them. */
  pendingWatches(watchPaths: ReadonlySet<string>): string[];
  /** Indexes of the layers whose executables were not all recorded. */
  readonly executablesTruncated: readonly number[];
}

interface TrieNode {
  entry?: FsNode | undefined;
  children?: Map<string, TrieNode> | undefined;
}

const DIR: FsNode = { type: 'dir' };

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** Applies `layers` in order; `watchPaths`, when given, lets `read` tell "absent" from "never inspected". */
export function mergeLayers(layers: readonly LayerFacts[], watchPaths?: ReadonlySet<string>): FinalFs {
  const root: TrieNode = { entry: DIR };

  /** The node at `path`, created with its ancestors; an ancestor that is not a dir becomes one (an upper-layer dir hides a lower non-dir). */
  const ensure = (path: string): TrieNode => {
    let node = root;
    for (const name of components(path)) {
      if (node.entry && node.entry.type !== 'dir') node.entry = undefined;
      node.children ??= new Map();
      let child = node.children.get(name);
      if (!child) {
        child = {};
        node.children.set(name, child);
      }
      node = child;
    }
    return node;
  };
  /**
   * The existing dir at `path`, or undefined; it and its ancestors become dirs when they were
   * not (the layer holding a whiteout or an opaque marker has those dirs).
   */
  const existingDir = (path: string): TrieNode | undefined => {
    let node: TrieNode | undefined = root;
    for (const name of components(path)) {
      node = node.children?.get(name);
      if (!node) return undefined;
      if (node.entry && node.entry.type !== 'dir') {
        node.entry = undefined;
        node.children = undefined;
      }
    }
    return node;
  };
  const set = (path: string, entry: FsNode): void => {
    const node = ensure(path);
    node.entry = entry;
    // A non-directory replaces whatever lower layers had below the path.
    if (entry.type !== 'dir') node.children = undefined;
  };

  /** Walks `path` from the root; `hops` symlinks were followed already. */
  const walk = (path: string, followLast: boolean, hops = 0): Resolution => {
    const queue = components(path).reverse();
    const stack: Array<{ name: string; node: TrieNode | undefined }> = [];
    let count = hops;
    const here = (): string => '/' + stack.map((s) => s.name).join('/');
    while (queue.length > 0) {
      const name = queue.pop() as string;
      if (name === '..') {
        stack.pop();
        continue;
      }
      const parent = stack.length === 0 ? root : stack[stack.length - 1]?.node;
      const child = parent?.children?.get(name);
      const last = queue.length === 0;
      const entry = child?.entry;
      if (entry?.type === 'symlink' && (!last || followLast)) {
        count += 1;
        if (count > MAX_SYMLINK_HOPS) {
          stack.push({ name, node: child });
          return { status: 'loop', path: here() };
        }
        if (entry.target.startsWith('/')) stack.length = 0;
        for (const c of components(entry.target).reverse()) queue.push(c);
        continue;
      }
      stack.push({ name, node: child });
      // A file in the middle of a path: nothing below it (ENOTDIR).
      if (!last && entry !== undefined && entry.type !== 'dir') return { status: 'absent', path: [here(), ...queue.reverse()].join('/') };
    }
    const node = stack.length === 0 ? root : stack[stack.length - 1]?.node;
    if (!node) return { status: 'absent', path: here() };
    return { status: 'found', path: here(), node: node.entry ?? DIR };
  };

  const truncated: number[] = [];
  layers.forEach((layer, index) => {
    if (layer.executablesTruncated) truncated.push(index);
    // Opaque dirs and whiteouts hide the lower layers only, so they go first.
    // Nothing is created for them: what lower layers never had needs no hiding.
    for (const dir of layer.opaqueDirs) {
      const node = existingDir(dir);
      if (node) node.children = undefined;
    }
    for (const gone of layer.whiteouts) {
      const names = components(gone);
      const last = names.pop();
      if (last !== undefined) existingDir('/' + names.join('/'))?.children?.delete(last);
    }
    const entries = new Map<string, FsNode>();
    const executables = new Set(layer.executables);
    for (const path of layer.executables) entries.set(path, { type: 'file', exec: true, origin: path, layer: index });
    for (const [path, target] of Object.entries(layer.symlinks)) entries.set(path, { type: 'symlink', target });
    const hardlinks = new Map(Object.entries(layer.hardlinks));
    for (const [path, watched] of Object.entries(layer.watched)) {
      if (watched.type === 'hardlink') hardlinks.set(path, watched.target);
      else if (watched.type === 'file') entries.set(path, { type: 'file', exec: executables.has(path), file: watched, origin: path, layer: index });
      else if (watched.type === 'symlink') entries.set(path, { type: 'symlink', target: watched.target });
      else entries.set(path, watched.type === 'dir' ? DIR : { type: 'other' });
    }
    // Parents before children, so that a layer's symlink replaces the lower dir before the
    // layer's own entries below it are placed.
    for (const path of [...entries.keys()].sort()) if (!hardlinks.has(path)) set(path, entries.get(path) as FsNode);
    // A hard link is its target's inode: it keeps the target's content even when a later layer
    // replaces or deletes the target, so the node is copied now. Chains inside the layer
    // (a link to a link) are followed to the first entry that is not one.
    for (const path of [...hardlinks.keys()].sort()) {
      let target = hardlinks.get(path) as string;
      for (let hop = 0; hop < MAX_SYMLINK_HOPS && hardlinks.has(target) && target !== path; hop++) target = hardlinks.get(target) as string;
      const found = walk(target, false);
      // A link to a directory cannot be made (EPERM): the layer would not apply.
      if (found.status === 'found' && found.node.type === 'dir') set(path, { type: 'other' });
      else set(path, found.status === 'found' ? found.node : { type: 'hardlink', target: found.path });
    }
  });

  const resolve = (path: string): string | undefined => {
    const r = walk(path, true);
    if (r.status === 'loop') return undefined;
    if (r.status === 'found' && r.node.type === 'file') return r.node.origin;
    if (r.status === 'found' && r.node.type === 'hardlink') return r.node.target;
    return r.path;
  };
  const inspected = (path: string): boolean => watchPaths === undefined || watchPaths.has(path);

  return {
    lookup: (path, options) => walk(path, options?.followLast ?? true, options?.hops ?? 0),
    read(path) {
      const r = walk(path, true);
      if (r.status === 'loop') return { status: 'unreadable', path: r.path, reason: `more than ${MAX_SYMLINK_HOPS} symlinks (a loop) from ${path}` };
      if (r.status === 'absent') {
        if (inspected(r.path)) return { status: 'missing', path: r.path };
        return { status: 'unreadable', path: r.path, reason: r.path === path ? `${path} was not inspected` : `${path} leads to ${r.path}, which was not inspected` };
      }
      const node = r.node;
      switch (node.type) {
        case 'file':
          if (node.file) {
            const bytes = Buffer.from(node.file.content, 'latin1');
            return { status: 'ok', path: r.path, content: bytes.toString('utf8'), bytes, size: node.file.size, truncated: node.file.truncated };
          }
          return { status: 'unreadable', path: r.path, reason: node.origin === r.path ? `${r.path} was not inspected` : `${r.path} is a hard link to ${node.origin}, which was not inspected` };
        case 'hardlink':
          return { status: 'unreadable', path: r.path, reason: inspected(node.target) ? `${r.path} is a hard link to ${node.target}, which is not in the image` : `${r.path} is a hard link to ${node.target}, which was not inspected` };
        case 'dir':
          return { status: 'unreadable', path: r.path, reason: `${r.path} is a directory` };
        default:
          return { status: 'unreadable', path: r.path, reason: `${r.path} is not a regular file` };
      }
    },
    resolve,
    pendingWatches(paths) {
      const out = new Set<string>();
      for (const p of paths) {
        const r = resolve(p);
        if (r !== undefined && !paths.has(r)) out.add(r);
      }
      return [...out].sort();
    },
    executablesTruncated: truncated,
  };
}

interface RemovalNode {
  /** Highest layer index whose whiteout removes this path. */
  whiteout: number;
  /** Highest layer index that makes this dir opaque. */
  opaque: number;
  children?: Map<string, RemovalNode>;
}

/**
 * "Is `path` of layer `index` removed by a later layer?" (a whiteout of it or of an ancestor,
 * or an opaque ancestor dir), answered in the depth of `path` after one pass over the layers.
 */
export function removalIndex(layers: readonly LayerFacts[]): (index: number, path: string) => boolean {
  const root: RemovalNode = { whiteout: -1, opaque: -1 };
  const node = (path: string): RemovalNode => {
    let n = root;
    for (const name of components(path)) {
      n.children ??= new Map();
      let c = n.children.get(name);
      if (!c) {
        c = { whiteout: -1, opaque: -1 };
        n.children.set(name, c);
      }
      n = c;
    }
    return n;
  };
  layers.forEach((layer, i) => {
    for (const w of layer.whiteouts) node(w).whiteout = i;
    for (const d of layer.opaqueDirs) node(d).opaque = i;
  });
  return (index, path) => {
    let n: RemovalNode | undefined = root;
    const names = components(path);
    for (let depth = 0; n; depth++) {
      const self = depth === names.length;
      if (n.whiteout > index || (!self && n.opaque > index)) return true;
      if (self) return false;
      n = n.children?.get(names[depth] as string);
    }
    return false;
  };
}
