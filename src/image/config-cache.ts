/**
 * Image configs kept by digest between runs (docs/architecture.md, "The persistent cache"). A
 * config is named by its digest, so unlike a tag's manifest it never changes: a re-scan or a
 * nightly re-audit reads it from disk instead of asking the registry again. An entry is served
 * only when its bytes hash to the digest and have the descriptor's size — an entry cannot make
 * a config say anything its digest does not.
 */
import type { Descriptor } from './manifest.js';

/** Where configs are kept (the disk cache's `configs`, src/store/disk.ts). */
export interface ConfigCache {
  /** The bytes of the config `descriptor` names, if kept and verified; undefined otherwise. */
  get(descriptor: Pick<Descriptor, 'digest' | 'size'>): Buffer | undefined;
  /** Keeps `bytes`, already verified against `digest` by whoever read them. Never throws. */
  put(digest: string, bytes: Buffer): Promise<void>;
}
