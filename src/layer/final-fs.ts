/**
 * The final filesystem, for the few paths checks read whole (`/etc/os-release`, `/etc/passwd`,
 * `/etc/group`, …): layers applied in order with their whiteouts (OCI image spec,
 * "Representing Changes"), symlinks followed with a hop limit so that a loop terminates.
 */
import type { LayerFacts, WatchedEntry } from './inspect.js';
import { isUnder, resolveLinkTarget } from './paths.js';

/** Symlink hops followed before giving up (Linux's MAXSYMLINKS is 40). */
const MAX_HOPS = 40;

/** Read access to the watched paths of the merged image filesystem. */
export interface FinalFs {
  /** The text of a regular file at `path` after following symlinks, or undefined. */
  readFile(path: string): string | undefined;
  /** True when something exists at `path` (after following symlinks). */
  exists(path: string): boolean;
  /**
   * The path `path` leads to after following the symlinks this view knows (undefined for a
   * loop). When it differs from `path`, the content lives elsewhere (`/etc` → `/private/etc`).
   */
  resolve(path: string): string | undefined;
}

/** Applies layers in order: opaque dirs and whiteouts first (they hide lower layers), then entries. */
export function mergeLayers(layers: readonly LayerFacts[]): FinalFs {
  const state = new Map<string, WatchedEntry>();
  for (const layer of layers) {
    for (const dir of layer.opaqueDirs) {
      for (const path of [...state.keys()]) if (path !== dir && isUnder(path, dir)) state.delete(path);
    }
    for (const gone of layer.whiteouts) {
      for (const path of [...state.keys()]) if (isUnder(path, gone)) state.delete(path);
    }
    for (const [path, entry] of Object.entries(layer.watched)) state.set(path, entry);
  }

  /** Follows symlinks (and a final hard link) to the path that holds the content. */
  const resolvePath = (path: string, hops: number): string | undefined => {
    const parts = path.split('/').filter(Boolean);
    let current = '';
    for (let i = 0; i < parts.length; i++) {
      current += '/' + (parts[i] ?? '');
      const entry = state.get(current);
      const last = i === parts.length - 1;
      if (entry?.type === 'symlink' || (last && entry?.type === 'hardlink')) {
        if (hops >= MAX_HOPS) return undefined;
        const target = entry.type === 'symlink' ? resolveLinkTarget(current, entry.target) : entry.target;
        const rest = parts.slice(i + 1).join('/');
        return resolvePath(rest ? `${target}/${rest}` : target, hops + 1);
      }
    }
    return current || '/';
  };
  const lookup = (path: string): WatchedEntry | undefined => {
    const resolved = resolvePath(path, 0);
    return resolved === undefined ? undefined : state.get(resolved);
  };

  return {
    readFile(path) {
      const entry = lookup(path);
      return entry?.type === 'file' && !entry.truncated ? entry.content : undefined;
    },
    exists(path) {
      return lookup(path) !== undefined;
    },
    resolve(path) {
      return resolvePath(path, 0);
    },
  };
}

/** True when a later layer (index > `layerIndex`) removes `path` with a whiteout or an opaque dir. */
export function removedLater(layers: readonly LayerFacts[], layerIndex: number, path: string): boolean {
  for (let i = layerIndex + 1; i < layers.length; i++) {
    const later = layers[i];
    if (!later) continue;
    if (later.whiteouts.some((w) => isUnder(path, w))) return true;
    if (later.opaqueDirs.some((d) => path !== d && isUnder(path, d))) return true;
  }
  return false;
}
