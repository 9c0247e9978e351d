/**
 * The final filesystem as the storage drivers build it (docs/checks.md, "How file checks see an
 * image"), from the ordered entry log each layer's facts keep (`LayerFacts.ops`). Two views,
 * because podman's two drivers apply a layer differently, and a check must see what either
 * would expose (fail safe):
 *
 * - **vfs** (containers/storage `archive.UnpackLayer`, in a chroot): each entry is applied in
 *   tar order onto the tree the lower layers left. Parent directories are followed as the
 *   kernel follows them, so an entry below a symlink — made earlier in the layer or by a lower
 *   layer — lands where the link points; a whiteout removes at once (a later re-add in the
 *   same layer is back; an earlier add is gone); an opaque marker removes everything below its
 *   directory that this layer did not write.
 * - **overlay** (`archive.Unpack` with the overlay whiteout format into an empty directory,
 *   then overlayfs): each layer is applied to an empty tree of its own — so only symlinks of
 *   the same layer redirect an entry — whiteouts become character devices and opaque markers an
 *   xattr, and the layers are then stacked as overlayfs stacks them (an upper directory merges
 *   with a lower one unless opaque, anything else hides what is below).
 *
 * In both, the last entry for a path wins (an existing path is removed first unless both are
 * directories), and a hard link shares its target's inode: its header's mode, owner and
 * capabilities become the inode's, for every name (createTarFile: link, lchown, chmod).
 *
 * What the views know of a path is what the facts hold: directories, links, whiteouts, the
 * regular files the facts keep (executables, watched files with their content, matched ones).
 * An entry the facts did not keep is unknown; where a driver would refuse a layer (a hard link
 * to a lower layer's file with overlay, a whiteout of a file the same layer added, a write
 * through a link to nowhere), the view applies what it can: it may show more than that driver
 * would, never less than the other one.
 *
 * Lookups follow symlinks in every component, relative and absolute, with `..` going to the
 * physical parent and stopping at the root, up to Linux's 40 links. Once built, each symlink is
 * resolved once and remembered, so a chain shared by thousands of links costs one resolution.
 * Building yields periodically (`mergeLayersAsync`), so that a timeout or a signal can stop it.
 */
import { Pacer } from './pace.js';
import { dirnameOf } from './paths.js';
import type { LayerFacts, LayerOp, WatchedFile } from './recorder.js';

/** Symlinks followed in one lookup before giving up (Linux's MAXSYMLINKS is 40). */
export const MAX_SYMLINK_HOPS = 40;

/** The storage drivers whose application of layers the final filesystem models. */
export type Driver = 'overlay' | 'vfs';

/** A regular file's inode: its hard links share it, and a hard link's header changes it for all of them. */
export interface Inode {
  /** `& 07777`, setuid and setgid included. */
  mode: number;
  uid: number;
  gid: number;
  /** What its `security.capability` xattr grants, when it has one. */
  capability: string | undefined;
  /** The content, when the path was watched. */
  readonly file: WatchedFile | undefined;
  /** The path (as the tar names it) whose entry holds the content: what to watch to read it. */
  readonly origin: string;
  /** Index of the layer that wrote it. */
  readonly layer: number;
}

/** What the final filesystem knows about one path. */
export type FsNode =
  | { readonly type: 'file'; readonly inode: Inode }
  | { readonly type: 'dir' }
  | { readonly type: 'symlink'; readonly target: string }
  /** A device, FIFO or other non-regular file. */
  | { readonly type: 'other' };

/** Where a lookup ended. */
export type Resolution =
  | { readonly status: 'found'; readonly path: string; readonly node: FsNode }
  /** Nothing is recorded at `path`: absent, or a plain file nobody kept. */
  | { readonly status: 'absent'; readonly path: string }
  /** More than 40 symlinks (a loop); `path` is where it gave up. */
  | { readonly status: 'loop'; readonly path: string };

/** The outcome of reading a watched file. */
export type FileRead =
  /** `content`: the kept bytes decoded as UTF-8 (text); `bytes`: the same bytes exactly. */
  | {
      readonly status: 'ok';
      readonly path: string;
      readonly content: string;
      readonly bytes: Buffer;
      readonly size: number;
      readonly truncated: boolean;
    }
  | { readonly status: 'missing'; readonly path: string }
  /** Something is there but its content is not known: `reason` says why, for a check's description. */
  | { readonly status: 'unreadable'; readonly path: string; readonly reason: string };

/** An entry that a symlink on its way redirected: where it landed with one driver. */
export interface Landing {
  readonly driver: Driver;
  /** Where the entry landed. */
  readonly at: string;
  /** The first symlink on the way, and its target as written. */
  readonly link: string;
  readonly target: string;
}

/** One driver's view of the merged image. */
export interface FsView {
  readonly driver: Driver;
  /**
   * Follows `path` (its last component too unless `followLast` is false); `hops` counts links
   * already followed before this lookup (a symlink's own target starts at 1).
   */
  lookup(path: string, options?: { readonly followLast?: boolean; readonly hops?: number }): Resolution;
  /** Every path the view knows (the root excluded), parents before children, names in code-unit order. */
  list(): Array<{ readonly path: string; readonly node: FsNode }>;
}

/** Lookups in the merged image filesystem. */
export interface FinalFs {
  /** The overlay view's lookup (the default driver of podman, docker and containerd). */
  lookup(path: string, options?: { readonly followLast?: boolean; readonly hops?: number }): Resolution;
  /** Both views: a check that follows links judges each (fail safe). */
  readonly views: readonly FsView[];
  /**
   * Reads a regular file after following links, saying why when it cannot. When the drivers
   * would show different content, it is unreadable and the reason names both.
   */
  read(path: string): FileRead;
  /**
   * The path whose recorded content `path` shows (a symlink's target, a hard link's target),
   * or undefined for a loop, in the overlay view. scan.ts inspects again, watching these,
   * until every watched path resolves to a watched one (see `pendingWatches`).
   */
  resolve(path: string): string | undefined;
  /** Paths `watchPaths` lead to, in either view, that are not watched themselves: inspect again watching them. */
  pendingWatches(watchPaths: ReadonlySet<string>): string[];
  /** Where the entry `path` of layer `layer` landed when a symlink on its way redirected it, per driver. */
  landings(layer: number, path: string): readonly Landing[];
  /** Indexes of the layers whose executables were not all recorded. */
  readonly executablesTruncated: readonly number[];
}

type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'whiteout';

/**
 * Memo of a resolved symlink. How many links resolving it follows does not depend on where the
 * lookup started, so a result holds for every lookup: exact (`node`, `absent`), a loop (more
 * than 40), or a lower bound found when a lookup had fewer hops left. While layers are still
 * being applied a result holds until the tree changes in a way that could change it: a removal
 * or replacement for every result, any new path too for `absent` (`epoch`, `created`); and only
 * in the tree it was made in (an overlay layer's tree is moved into the stack).
 */
type LinkMemo = (
  | { readonly kind: 'node'; readonly node: Node; readonly hops: number }
  | { readonly kind: 'absent'; readonly path: string; readonly hops: number }
  | { readonly kind: 'loop' }
  | { readonly kind: 'atLeast'; readonly hops: number }
  | { readonly kind: 'busy' }
) & { readonly tree: Tree; readonly epoch: number; readonly created: number };

interface Node {
  kind: Kind;
  name: string;
  parent: Node;
  children?: Map<string, Node>;
  inode?: Inode;
  target?: string;
  /** An overlay layer's directory with the opaque xattr. */
  opaque?: boolean;
  memo?: LinkMemo;
}

interface Tree {
  readonly root: Node;
  /** Bumped by every removal or replacement of a path, and by every new path: when a link memo holds. */
  epoch: number;
  created: number;
  /** Work done on the trees of one merge (path components walked, nodes visited): when to yield. */
  readonly steps: { count: number };
  /** Where directories `locate` met led, valid while `dirsEpoch` is `epoch` (see `locate`). */
  readonly dirs: Map<string, { readonly dir: Node; readonly via: Via | undefined; readonly hops: number }>;
  dirsEpoch: number;
}

function newTree(steps: { count: number }): Tree {
  const root = { kind: 'dir', name: '' } as Node;
  root.parent = root;
  return { root, epoch: 0, created: 0, steps, dirs: new Map(), dirsEpoch: 0 };
}

/** Removes `name` from `dir`. */
function detach(tree: Tree, dir: Node, name: string): void {
  if (dir.children?.delete(name) === true) tree.epoch += 1;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

function pathOf(node: Node): string {
  const names: string[] = [];
  for (let n = node; n.parent !== n; n = n.parent) names.push(n.name);
  return '/' + names.reverse().join('/');
}

const joinPath = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Lexically normalises `rest` below `base` (once a component is missing, nothing below can be followed). */
function lexical(base: string, rest: readonly string[]): string {
  const parts = components(base);
  for (const c of rest) {
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return '/' + parts.join('/');
}

/** The first symlink an entry's path went through. */
interface Via {
  readonly link: string;
  readonly target: string;
}

/** Where a path's last component is, its parent directories followed. */
type Located =
  | { readonly ok: true; readonly dir: Node; readonly name: string; readonly node: Node | undefined; readonly via: Via | undefined }
  /** ENOENT / ENOTDIR on the way (`path`: where it failed, for messages), or ELOOP. */
  | { readonly ok: false; readonly error: 'missing' | 'notdir' | 'loop'; readonly path: string };

/** Whether `memo` still holds in `tree`. */
function holds(tree: Tree, memo: LinkMemo): boolean {
  return memo.tree === tree && memo.epoch === tree.epoch && (memo.kind !== 'absent' || memo.created === tree.created);
}

/**
 * Symlink `link` resolved all the way, if that takes at most `limit` links (itself included),
 * else undefined; remembered, so a chain shared by many links is resolved once. Recursion is
 * at most `limit` deep: each nested link has fewer hops left.
 */
function resolveLink(tree: Tree, link: Node, limit: number): Extract<LinkMemo, { kind: 'node' | 'absent' }> | undefined {
  const memo = link.memo && (link.memo.kind === 'busy' || holds(tree, link.memo)) ? link.memo : undefined;
  if (memo?.kind === 'node' || memo?.kind === 'absent') return memo.hops <= limit ? memo : undefined;
  // A link met again while it is being resolved is a cycle: a loop from anywhere.
  if (memo?.kind === 'loop' || memo?.kind === 'busy' || (memo?.kind === 'atLeast' && memo.hops > limit)) return undefined;
  const stamp = { tree, epoch: tree.epoch, created: tree.created };
  link.memo = { kind: 'busy', ...stamp };
  const r = walk(tree, link.target ?? '', true, 1, link.parent, limit);
  let result: LinkMemo;
  if (r.ok)
    result = r.node
      ? { kind: 'node', node: r.node, hops: r.hops, ...stamp }
      : { kind: 'absent', path: joinPath(pathOf(r.dir), r.name), hops: r.hops, ...stamp };
  else if (r.error !== 'loop') result = { kind: 'absent', path: r.path, hops: r.hops, ...stamp };
  else result = limit >= MAX_SYMLINK_HOPS || r.cycle ? { kind: 'loop', ...stamp } : { kind: 'atLeast', hops: limit + 1, ...stamp };
  link.memo = result;
  return (result.kind === 'node' || result.kind === 'absent') && result.hops <= limit ? result : undefined;
}

type Walked =
  | (Located & { readonly ok: true; readonly hops: number })
  | {
      readonly ok: false;
      readonly error: 'missing' | 'notdir' | 'loop';
      readonly path: string;
      readonly hops: number;
      readonly cycle?: boolean;
    };

/**
 * Walks `path` from `start` (the root for an absolute path), following symlinks in every
 * component but the last (the last too when `followLast`), as the kernel's path walk does.
 * The root is its own parent; a result naming a directory reached by `..` or a link has
 * `node` set (the root included).
 */
function walk(tree: Tree, path: string, followLast: boolean, hops = 0, start?: Node, limit = MAX_SYMLINK_HOPS): Walked {
  const queue = components(path).reverse();
  let dir = path.startsWith('/') || !start ? tree.root : start;
  let count = hops;
  let via: Via | undefined;
  const at = (node: Node): Walked => ({ ok: true, dir: node.parent, name: node.name, node, via, hops: count });
  const failed = (error: 'missing' | 'notdir', base: string): Walked => ({
    ok: false,
    error,
    path: lexical(base, queue.reverse()),
    hops: count,
  });
  while (queue.length > 0) {
    tree.steps.count += 1;
    const name = queue.pop() as string;
    const last = queue.length === 0;
    if (name === '..') {
      dir = dir.parent;
      if (last) return at(dir);
      continue;
    }
    const child = dir.children?.get(name);
    if (child?.kind !== 'symlink' || (last && !followLast)) {
      if (last) return { ok: true, dir, name, node: child, via, hops: count };
      if (!child) return failed('missing', joinPath(pathOf(dir), name));
      if (child.kind !== 'dir') return failed('notdir', joinPath(pathOf(dir), name));
      dir = child;
      continue;
    }
    via ??= { link: joinPath(pathOf(dir), name), target: child.target ?? '' };
    const memo = resolveLink(tree, child, limit - count);
    if (!memo)
      return {
        ok: false,
        error: 'loop',
        path: joinPath(pathOf(dir), name),
        hops: count,
        cycle: child.memo?.kind === 'loop' || child.memo?.kind === 'busy',
      };
    count += memo.hops;
    if (memo.kind === 'absent') return failed('missing', memo.path);
    if (last) return at(memo.node);
    if (memo.node.kind !== 'dir') return failed('notdir', pathOf(memo.node));
    dir = memo.node;
  }
  // The path was the root (or only "." components).
  return at(dir);
}

/**
 * `walk(tree, path, false)` for an entry's normalised absolute path (not the root), and whether
 * its parent directory was already known to exist. Where each directory an entry went into (or
 * created) led is remembered and reused for as long as nothing in the tree was removed or
 * replaced (`epoch`): a new path cannot change where an existing one leads. A remembered parent
 * exists (it resolved to a directory), so MkdirAll has nothing to do.
 */
function locate(tree: Tree, path: string): { readonly loc: Walked; readonly parentKnown: boolean } {
  if (tree.dirsEpoch !== tree.epoch) {
    tree.dirs.clear();
    tree.dirsEpoch = tree.epoch;
  }
  const cut = path.lastIndexOf('/');
  const known = tree.dirs.get(cut <= 0 ? '/' : path.slice(0, cut));
  if (known === undefined) return { loc: walk(tree, path, false), parentKnown: false };
  tree.steps.count += 1;
  const name = path.slice(cut + 1);
  return {
    loc: { ok: true, dir: known.dir, name, node: known.dir.children?.get(name), via: known.via, hops: known.hops },
    parentKnown: true,
  };
}

/**
 * After an entry at `path` was applied (found at `loc`): remembers where its parent led, and
 * the entry itself when it is a directory now — unless the tree changed since `locate`.
 */
function remember(tree: Tree, path: string, loc: Walked): void {
  if (!loc.ok || loc.node === tree.root) return;
  if (tree.dirsEpoch !== tree.epoch) {
    tree.dirs.clear();
    tree.dirsEpoch = tree.epoch;
  }
  const cut = path.lastIndexOf('/');
  const known = { dir: loc.dir, via: loc.via, hops: loc.hops };
  tree.dirs.set(cut <= 0 ? '/' : path.slice(0, cut), known);
  const self = loc.dir.children?.get(loc.name);
  if (self?.kind === 'dir')
    tree.dirs.set(path, known.via === undefined ? { dir: self, via: undefined, hops: loc.hops } : { ...known, dir: self });
}

/** The view of a node the checks see. */
function fsNode(node: Node): FsNode {
  switch (node.kind) {
    case 'file':
      return { type: 'file', inode: node.inode as Inode };
    case 'dir':
      return DIR;
    case 'symlink':
      return { type: 'symlink', target: node.target ?? '' };
    default:
      return OTHER;
  }
}

const DIR: FsNode = { type: 'dir' };
const OTHER: FsNode = { type: 'other' };

/** A lookup in a built tree. */
function lookupIn(tree: Tree, path: string, followLast: boolean, hops: number): Resolution {
  const r = walk(tree, path, followLast, hops);
  if (!r.ok) return r.error === 'loop' ? { status: 'loop', path: r.path } : { status: 'absent', path: r.path };
  if (r.node === undefined) return { status: 'absent', path: joinPath(pathOf(r.dir), r.name) };
  return { status: 'found', path: pathOf(r.node), node: fsNode(r.node) };
}

/** Every path below the root of `tree`, parents first. */
function listTree(tree: Tree): Array<{ readonly path: string; readonly node: FsNode }> {
  const out: Array<{ readonly path: string; readonly node: FsNode }> = [];
  const visit = (node: Node, path: string): void => {
    for (const name of [...(node.children?.keys() ?? [])].sort()) {
      const child = node.children?.get(name) as Node;
      const p = `${path}/${name}`;
      out.push({ path: p, node: fsNode(child) });
      visit(child, p);
    }
  };
  visit(tree.root, '');
  return out;
}

/** Work done between two yields of a merge: small enough to keep a timer's delay short. */
const STEPS_PER_YIELD = 2048;

/** Applies the layers' ops as both drivers would. */
class Merger {
  readonly steps = { count: 0 };
  readonly vfs = newTree(this.steps);
  readonly overlay = newTree(this.steps);
  readonly landings = new Map<string, Landing[]>();
  #yielded = 0;

  /** True when STEPS_PER_YIELD units of work were done since the last yield. */
  due(): boolean {
    if (this.steps.count - this.#yielded < STEPS_PER_YIELD) return false;
    this.#yielded = this.steps.count;
    return true;
  }

  *apply(layers: readonly LayerFacts[]): Generator<void, void> {
    for (let index = 0; index < layers.length; index++) {
      const ops = (layers[index] as LayerFacts).ops;
      const unpacked = new Set<string>();
      const diff = newTree(this.steps);
      for (const op of ops) {
        this.steps.count += 1;
        // Only an opaque marker's sweep yields: no generator per entry for the others.
        if (op.op === 'opaque') yield* this.#opaqueVfs(op.path, unpacked);
        else this.#applyVfs(op, index, unpacked);
        this.#applyOverlay(diff, op, index);
        if (this.due()) yield;
      }
      yield* this.#stack(this.overlay.root, diff.root);
    }
  }

  #land(driver: Driver, index: number, op: LayerOp, loc: Located & { ok: true }): void {
    if (!loc.via) return;
    const at = joinPath(pathOf(loc.dir), loc.name);
    if (at === op.path) return;
    const key = `${index}\0${op.path}`;
    const list = this.landings.get(key) ?? [];
    list.push({ driver, at, link: loc.via.link, target: loc.via.target });
    this.landings.set(key, list);
  }

  /** archive.UnpackLayer's handling of one entry, on the merged tree. */
  /** archive.UnpackLayer's handling of an opaque directory marker, on the merged tree. */
  *#opaqueVfs(path: string, unpacked: Set<string>): Generator<void, void> {
    const tree = this.vfs;
    // The marker's parent is the directory itself.
    ensureDir(tree, path);
    // Everything below the directory that this layer did not write goes (a symlinked
    // directory is not walked: WalkDir does not follow its root).
    const loc = walk(tree, path, false);
    if (loc.ok && loc.node?.kind === 'dir') yield* this.#sweep(loc.node, path === '/' ? '' : path, unpacked);
  }

  /** archive.UnpackLayer's handling of any other entry, on the merged tree. */
  #applyVfs(op: Exclude<LayerOp, { op: 'opaque' }>, index: number, unpacked: Set<string>): void {
    const tree = this.vfs;
    if (op.op === 'whiteout') {
      ensureDir(tree, dirnameOf(op.path));
      removeAll(tree, op.path);
      return;
    }
    const located = locate(tree, op.path);
    let loc = located.loc;
    if (!located.parentKnown) {
      ensureDir(tree, dirnameOf(op.path));
      loc = walk(tree, op.path, false);
    }
    if (!loc.ok || loc.node === tree.root) return;
    this.#land('vfs', index, op, loc);
    create(tree, loc, op, index);
    remember(tree, op.path, loc);
    unpacked.add(op.path);
  }

  *#sweep(dir: Node, path: string, unpacked: ReadonlySet<string>): Generator<void, void> {
    for (const [name, child] of dir.children ?? []) {
      this.steps.count += 1;
      if (this.due()) yield;
      const p = `${path}/${name}`;
      if (!unpacked.has(p)) detach(this.vfs, dir, name);
      else if (child.kind === 'dir') yield* this.#sweep(child, p, unpacked);
    }
  }

  /** archive.Unpack with the overlay whiteout converter: one entry, on the layer's own tree. */
  #applyOverlay(diff: Tree, op: LayerOp, index: number): void {
    if (op.op === 'opaque') {
      ensureDir(diff, op.path);
      // setxattr follows a symlinked directory.
      const loc = walk(diff, op.path, true);
      if (loc.ok && loc.node?.kind === 'dir') loc.node.opaque = true;
      return;
    }
    const located = locate(diff, op.path);
    let loc = located.loc;
    if (!located.parentKnown) {
      ensureDir(diff, dirnameOf(op.path));
      loc = walk(diff, op.path, false);
    }
    if (!loc.ok || loc.node === diff.root) return;
    if (op.op === 'whiteout') {
      // mknod: a path the layer already wrote cannot be whited out (EEXIST: overlay refuses the layer).
      if (!loc.node) attach(diff, loc.dir, loc.name, { kind: 'whiteout' });
      return;
    }
    this.#land('overlay', index, op, loc);
    create(diff, loc, op, index, false);
    remember(diff, op.path, loc);
  }

  /** Stacks an overlay layer's tree onto the lower ones, as overlayfs shows them (a layer's root is never opaque). */
  *#stack(lower: Node, upper: Node): Generator<void, void> {
    for (const [name, child] of upper.children ?? []) {
      this.steps.count += 1;
      if (this.due()) yield;
      const below = lower.children?.get(name);
      if (child.kind === 'whiteout') {
        detach(this.overlay, lower, name);
      } else if (child.kind === 'dir' && child.opaque !== true && below?.kind === 'dir') {
        yield* this.#stack(below, child);
      } else {
        stripWhiteouts(child);
        attach(this.overlay, lower, name, child);
      }
    }
  }
}

/** Removes whiteout devices below `node`: with nothing below it, they hide nothing. */
function stripWhiteouts(node: Node): void {
  if (node.kind !== 'dir') return;
  node.opaque = false;
  for (const [name, child] of node.children ?? []) {
    if (child.kind === 'whiteout') node.children?.delete(name);
    else stripWhiteouts(child);
  }
}

function attach(tree: Tree, dir: Node, name: string, fields: Omit<Node, 'name' | 'parent'> & Partial<Pick<Node, 'name' | 'parent'>>): Node {
  const node = fields as Node;
  node.name = name;
  node.parent = dir;
  dir.children ??= new Map();
  if (dir.children.has(name)) tree.epoch += 1;
  dir.children.set(name, node);
  tree.created += 1;
  return node;
}

/** UnpackLayer / Unpack: when the parent `dir` of an entry does not exist (lstat: ENOENT), MkdirAll creates it. */
function ensureDir(tree: Tree, dir: string): void {
  if (dir === '/') return;
  const loc = walk(tree, dir, false);
  if (loc.ok ? loc.node !== undefined : loc.error !== 'missing') return;
  mkdirAll(tree, dir);
}

/** Go's os.MkdirAll: stat (following links); if missing, the parent first, then mkdir. */
function mkdirAll(tree: Tree, path: string): boolean {
  const st = walk(tree, path, true);
  if (st.ok && st.node) return st.node.kind === 'dir';
  if (!st.ok && st.error !== 'missing') return false;
  const cut = path.lastIndexOf('/');
  if (cut > 0 && !mkdirAll(tree, path.slice(0, cut))) return false;
  const loc = walk(tree, path, false);
  if (!loc.ok) return false;
  if (loc.node) return loc.node.kind === 'dir';
  attach(tree, loc.dir, loc.name, { kind: 'dir' });
  return true;
}

/** os.RemoveAll of a path: the parents followed, the last component removed as it is. */
function removeAll(tree: Tree, path: string): void {
  const loc = walk(tree, path, false);
  if (loc.ok && loc.node && loc.node !== tree.root) detach(tree, loc.node.parent, loc.node.name);
}

/** createTarFile at `loc`, after removing what was there unless both are directories. */
function create(tree: Tree, loc: Located & { ok: true }, op: LayerOp, layer: number, createsTarget = true): void {
  const { dir, name } = loc;
  const existing = loc.node;
  if (existing && !(existing.kind === 'dir' && op.op === 'dir')) detach(tree, dir, name);
  switch (op.op) {
    case 'dir':
      if (existing?.kind !== 'dir') attach(tree, dir, name, { kind: 'dir' });
      return;
    case 'file':
      attach(tree, dir, name, {
        kind: 'file',
        inode: { mode: op.mode, uid: op.uid, gid: op.gid, capability: op.capability, file: op.content, origin: op.path, layer },
      });
      return;
    case 'symlink':
      attach(tree, dir, name, { kind: 'symlink', target: op.target });
      return;
    case 'hardlink': {
      // linkat without AT_SYMLINK_FOLLOW: the target's parents are followed, not the target.
      const to = walk(tree, op.target, false);
      const target = to.ok ? to.node : undefined;
      if (target?.kind === 'dir') return; // EPERM: the layer would not apply
      if (target?.kind === 'symlink') {
        attach(tree, dir, name, { kind: 'symlink', target: target.target ?? '' });
        return;
      }
      if (target && target.kind !== 'file') {
        attach(tree, dir, name, { kind: target.kind });
        return;
      }
      // A target the facts did not keep is a plain file (or missing, and the layer would not
      // apply): the link header's mode makes it what the header says either way. On an
      // overlay layer's own tree a missing target may be a lower layer's file, which overlay
      // cannot link to (it refuses the layer): the target is left as it is there.
      const inode = target?.inode ?? {
        mode: op.mode,
        uid: op.uid,
        gid: op.gid,
        capability: undefined,
        file: undefined,
        origin: op.target,
        layer,
      };
      // lchown (a change of owner clears the capability xattr), chmod, then the header's own xattrs.
      if (inode.uid !== op.uid || inode.gid !== op.gid) inode.capability = undefined;
      inode.mode = op.mode;
      inode.uid = op.uid;
      inode.gid = op.gid;
      if (op.capability !== undefined) inode.capability = op.capability;
      if (!target && to.ok && createsTarget) attach(tree, to.dir, to.name, { kind: 'file', inode });
      attach(tree, dir, name, { kind: 'file', inode });
      return;
    }
    default:
      attach(tree, dir, name, { kind: 'other' });
  }
}

/** Why `r` may differ between drivers, as a phrase. */
function describeRead(r: FileRead): string {
  switch (r.status) {
    case 'ok':
      return `${r.path} (${r.size} bytes)`;
    case 'missing':
      return `nothing at ${r.path}`;
    default:
      return r.reason;
  }
}

function sameRead(a: FileRead, b: FileRead): boolean {
  if (a.status !== b.status) return false;
  if (a.status === 'ok' && b.status === 'ok') return a.content === b.content && a.size === b.size && a.truncated === b.truncated;
  if (a.status === 'unreadable' && b.status === 'unreadable') return a.reason === b.reason;
  return true;
}

/** Applies `layers` in order; `watchPaths`, when given, lets `read` tell "absent" from "never inspected". */
export function mergeLayers(layers: readonly LayerFacts[], watchPaths?: ReadonlySet<string>): FinalFs {
  const steps = merging(layers, watchPaths);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * `mergeLayers`, letting timers and signal handlers run while it works (docs/security.md: the
 * run gets 3 s to stop); throws `signal`'s reason once it is aborted.
 */
export async function mergeLayersAsync(
  layers: readonly LayerFacts[],
  watchPaths: ReadonlySet<string> | undefined,
  signal?: AbortSignal,
): Promise<FinalFs> {
  return new Pacer(signal).drive(merging(layers, watchPaths));
}

function* merging(layers: readonly LayerFacts[], watchPaths: ReadonlySet<string> | undefined): Generator<void, FinalFs> {
  const merger = new Merger();
  yield* merger.apply(layers);
  return new MergedFs(merger, layers, watchPaths);
}

/** The final filesystem of merged layers: the overlay and vfs trees `Merger` built, looked up and read. */
class MergedFs implements FinalFs {
  readonly views: readonly FsView[];
  readonly executablesTruncated: readonly number[];
  readonly #merger: Merger;
  readonly #watchPaths: ReadonlySet<string> | undefined;
  readonly #trees: ReadonlyArray<readonly [Driver, Tree]>;

  constructor(merger: Merger, layers: readonly LayerFacts[], watchPaths: ReadonlySet<string> | undefined) {
    this.#merger = merger;
    this.#watchPaths = watchPaths;
    this.#trees = [
      ['overlay', merger.overlay],
      ['vfs', merger.vfs],
    ];
    this.executablesTruncated = layers.flatMap((l, i) => (l.executablesTruncated ? [i] : []));
    this.views = this.#trees.map(([driver, tree]) => ({
      driver,
      lookup: (path, options) => lookupIn(tree, path, options?.followLast ?? true, options?.hops ?? 0),
      list: () => listTree(tree),
    }));
  }

  lookup(path: string, options?: { readonly followLast?: boolean; readonly hops?: number }): Resolution {
    return lookupIn(this.#merger.overlay, path, options?.followLast ?? true, options?.hops ?? 0);
  }

  read(path: string): FileRead {
    const overlay = this.#readIn(this.#merger.overlay, path);
    const vfs = this.#readIn(this.#merger.vfs, path);
    if (sameRead(overlay, vfs)) return overlay;
    return {
      status: 'unreadable',
      path,
      reason: `${path} differs between storage drivers: ${describeRead(overlay)} with overlay, ${describeRead(vfs)} with vfs`,
    };
  }

  resolve(path: string): string | undefined {
    return resolveIn(this.#merger.overlay, path);
  }

  pendingWatches(paths: ReadonlySet<string>): string[] {
    const out = new Set<string>();
    for (const p of paths) {
      for (const [, tree] of this.#trees) {
        const r = resolveIn(tree, p);
        if (r !== undefined && !paths.has(r)) out.add(r);
      }
    }
    return [...out].sort();
  }

  landings(layer: number, path: string): readonly Landing[] {
    return this.#merger.landings.get(`${layer}\0${path}`) ?? [];
  }

  #inspected(path: string): boolean {
    return this.#watchPaths === undefined || this.#watchPaths.has(path);
  }

  #readIn(tree: Tree, path: string): FileRead {
    const r = lookupIn(tree, path, true, 0);
    if (r.status === 'loop')
      return { status: 'unreadable', path: r.path, reason: `more than ${MAX_SYMLINK_HOPS} symlinks (a loop) from ${path}` };
    if (r.status === 'absent') {
      if (this.#inspected(r.path)) return { status: 'missing', path: r.path };
      return {
        status: 'unreadable',
        path: r.path,
        reason: r.path === path ? `${path} was not inspected` : `${path} leads to ${r.path}, which was not inspected`,
      };
    }
    const node = r.node;
    switch (node.type) {
      case 'file': {
        const { file, origin } = node.inode;
        if (file) {
          // Watched files keep one character per byte (latin1): the exact bytes, and their UTF-8 reading.
          const bytes = Buffer.from(file.content, 'latin1');
          return { status: 'ok', path: r.path, content: bytes.toString('utf8'), bytes, size: file.size, truncated: file.truncated };
        }
        if (origin === r.path)
          return {
            status: 'unreadable',
            path: r.path,
            reason: r.path === path ? `${path} was not inspected` : `${path} leads to ${r.path}, which was not inspected`,
          };
        if (this.#inspected(origin))
          return { status: 'unreadable', path: r.path, reason: `${r.path} is a hard link to ${origin}, which is not in the image` };
        return { status: 'unreadable', path: r.path, reason: `${r.path} is a hard link to ${origin}, which was not inspected` };
      }
      case 'dir':
        return { status: 'unreadable', path: r.path, reason: `${r.path} is a directory` };
      default:
        return { status: 'unreadable', path: r.path, reason: `${r.path} is not a regular file` };
    }
  }
}

/** The path whose recorded content `path` shows in `tree` (a hard link: its origin), or undefined for a loop. */
function resolveIn(tree: Tree, path: string): string | undefined {
  const r = lookupIn(tree, path, true, 0);
  if (r.status === 'loop') return undefined;
  if (r.status === 'found' && r.node.type === 'file') return r.node.inode.origin;
  return r.path;
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
