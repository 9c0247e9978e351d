/**
 * The layer-facts cache on disk (docs/architecture.md, "The persistent cache"): one small JSON
 * file per key, named by the sha256 of the key (and one file per image config, by digest, and
 * per verdict an audit keeps, docs/audit.md "A nightly schedule"),
 * written to a temporary file and renamed into place, so that scans running at the same time
 * on one machine share the directory safely — a reader sees a whole entry or none. An entry is
 * untrusted input (docs/security.md): it is used only when its format, its full key and the
 * shape of its facts check out (a config: when it hashes to its digest); anything else is a
 * miss, and the next put replaces it. A directory that cannot be written turns the cache
 * off for the run with one warning: the cache never fails a scan.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, utimesSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LayerFacts, LayerOp, WatchedEntry } from '../layer/inspect.js';
import { matchesDigest } from '../image/verify.js';
import { MAX_CONFIG_BYTES } from '../image/wire.js';
import type { ConfigCache } from '../image/config-cache.js';
import type { FactsStore, VerdictStore } from './facts-store.js';

/** The format of an entry file; bump it with any change to what a file holds. */
export const DISK_FORMAT = 'oci-scan-facts/1';

/** Default budget of the cache directory. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;

/** An entry file larger than this is not read (facts are bounded by the recorder's limits). */
const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/** Entry files: `f-` layer facts, `c-` image configs (../image/config-cache.ts), `v-` an audit's verdicts (./facts-store.ts `VerdictStore`). */
const ENTRY = /^[fcv]-[0-9a-f]{64}\.json$/;
const TEMP = /^\.tmp-[fcv]-[0-9a-f]{64}\.json\.[0-9a-z.-]+$/;

/** Options of a disk store. */
export interface DiskStoreOptions {
  /** Bytes the entries may take in all; least recently used ones go beyond it. */
  readonly maxBytes?: number;
  readonly logger: Logger;
}

/** A disk store, with the maintenance the `cache` command needs. */
export interface DiskFactsStore extends FactsStore {
  readonly dir: string;
  /** Image configs by digest, in the same directory and budget. */
  readonly configs: ConfigCache;
  /** An audit's verdicts, in the same directory and budget. */
  readonly verdicts: VerdictStore;
  /** Removes least recently used entries until the entries fit `maxBytes`. */
  prune(): Promise<CacheStats>;
}

/** What a cache directory holds. */
export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
}

/** The file name of a key's entry. */
export function entryFileName(key: string): string {
  return `f-${createHash('sha256').update(key).digest('hex')}.json`;
}

/** The file name of the verdict kept under `key`. */
export function verdictFileName(key: string): string {
  return `v-${createHash('sha256').update(key).digest('hex')}.json`;
}

/** The file name of the entry of the config with digest `digest`. */
export function configFileName(digest: string): string {
  return `c-${createHash('sha256').update(digest).digest('hex')}.json`;
}

/** True when `name` is an entry file or a temporary one of this store (the only files `clear` removes). */
export function isCacheFile(name: string): boolean {
  return ENTRY.test(name) || TEMP.test(name);
}

function errnoOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'error';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const recordOf = (v: unknown, ok: (x: unknown) => boolean): boolean => isObject(v) && Object.values(v).every(ok);

function isWatched(v: unknown): v is WatchedEntry {
  if (!isObject(v)) return false;
  switch (v['type']) {
    case 'file':
      return typeof v['content'] === 'string' && isCount(v['size']) && typeof v['truncated'] === 'boolean';
    case 'symlink':
    case 'hardlink':
      return typeof v['target'] === 'string';
    case 'dir':
    case 'other':
      return true;
    default:
      return false;
  }
}

const isMode = (v: unknown): v is number => isCount(v) && v <= 0o7777;

function isOp(v: unknown): v is LayerOp {
  if (!isObject(v) || typeof v['path'] !== 'string' || !v['path'].startsWith('/')) return false;
  const optionalText = (k: string): boolean => v[k] === undefined || typeof v[k] === 'string';
  switch (v['op']) {
    case 'dir':
    case 'other':
    case 'whiteout':
    case 'opaque':
      return true;
    case 'symlink':
      return typeof v['target'] === 'string';
    case 'file':
      return (
        isMode(v['mode']) &&
        isCount(v['uid']) &&
        isCount(v['gid']) &&
        optionalText('capability') &&
        (v['content'] === undefined || (isWatched(v['content']) && v['content'].type === 'file'))
      );
    case 'hardlink':
      return typeof v['target'] === 'string' && isMode(v['mode']) && isCount(v['uid']) && isCount(v['gid']) && optionalText('capability');
    default:
      return false;
  }
}

/** True when `v` has the shape of LayerFacts (every field, every type): a cache entry is untrusted. */
export function isLayerFacts(v: unknown): v is LayerFacts {
  return (
    isObject(v) &&
    recordOf(v['matches'], isStrings) &&
    recordOf(v['matchCounts'], isCount) &&
    recordOf(v['matchBytes'], isCount) &&
    recordOf(v['details'], (d) => recordOf(d, isStrings)) &&
    isStrings(v['whiteouts']) &&
    isStrings(v['opaqueDirs']) &&
    recordOf(v['watched'], isWatched) &&
    recordOf(v['symlinks'], (s) => typeof s === 'string') &&
    Array.isArray(v['ops']) &&
    v['ops'].every(isOp) &&
    typeof v['executablesTruncated'] === 'boolean' &&
    recordOf(v['capabilities'], (s) => typeof s === 'string') &&
    ['gzip', 'zstd', 'bzip2', 'xz', 'none'].includes(v['compression'] as string) &&
    isCount(v['entries']) &&
    isCount(v['tarBytes'])
  );
}

/** Reads at most `limit` bytes of `path`; undefined when missing. */
function readEntry(path: string, limit = MAX_ENTRY_BYTES): Buffer | undefined {
  // Synchronous: an entry is small, and each asynchronous file operation is a round trip
  // through the thread pool that costs more than the read (a warm audit reads thousands).
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { size } = fstatSync(fd);
    if (size > limit) throw new Error(`entry of ${size} bytes is over ${limit}`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The entry files of `dir` with size and last use, oldest first (files that vanish meanwhile are skipped). */
async function listEntries(dir: string): Promise<{ name: string; size: number; used: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
  const found = await Promise.all(
    names
      .filter((n) => ENTRY.test(n))
      .map(async (name) => {
        try {
          const s = await stat(join(dir, name));
          return { name, size: s.size, used: s.mtimeMs };
        } catch {
          return undefined; // removed by a concurrent prune or clear
        }
      }),
  );
  return found.filter((e) => e !== undefined).sort((a, b) => a.used - b.used || a.name.localeCompare(b.name));
}

/** What `dir` holds: entries and their bytes. */
export async function cacheStats(dir: string): Promise<CacheStats> {
  const entries = await listEntries(dir);
  return { entries: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0) };
}

/** A temporary entry older than this was left by a writer that died (a write takes milliseconds). */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Removes temporary entries of `dir` left by writers that died. */
async function removeStaleTemps(dir: string): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => TEMP.test(n));
  const before = Date.now() - STALE_TEMP_MS;
  for (const name of names) {
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s && s.mtimeMs < before) await rm(join(dir, name), { force: true });
  }
}

/** Removes least recently used entries of `dir` until they fit `maxBytes` (and stale temporary entries); tolerates other processes doing the same. */
export async function pruneCache(dir: string, maxBytes: number): Promise<CacheStats> {
  await removeStaleTemps(dir);
  const entries = await listEntries(dir);
  let bytes = entries.reduce((n, e) => n + e.size, 0);
  let count = entries.length;
  for (const e of entries) {
    if (bytes <= maxBytes) break;
    // force: another process may have removed it first; the budget is met either way.
    await rm(join(dir, e.name), { force: true });
    bytes -= e.size;
    count -= 1;
  }
  return { entries: count, bytes };
}

/** Removes every entry (and leftover temporary entry) of `dir`, and no other file; returns how many entries went. */
export async function clearCache(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return 0;
    throw err;
  }
  const ours = names.filter(isCacheFile);
  await Promise.all(ours.map((n) => rm(join(dir, n), { force: true })));
  return ours.filter((n) => ENTRY.test(n)).length;
}

/** A facts store in `dir` (created on the first put). */
export function diskFactsStore(dir: string, options: DiskStoreOptions): DiskFactsStore {
  return new DiskStore(dir, options);
}

/** The facts (and configs) of a cache directory: one JSON file per key, written atomically, pruned to a budget. */
class DiskStore implements DiskFactsStore {
  readonly dir: string;
  /** Image configs by digest, in the same directory and budget. */
  readonly configs: ConfigCache = {
    get: (descriptor) => this.#getConfig(descriptor),
    put: (digest, bytes) => this.#putConfig(digest, bytes),
  };
  readonly verdicts: VerdictStore = {
    // The audit checks a verdict's shape (src/audit/verdicts.ts): here, that there is one.
    get: (key) => this.#readKeyed(verdictFileName(key), key, 'verdict', (verdict): verdict is unknown => verdict !== undefined),
    put: async (key, verdict) => {
      if (this.#disabled) return;
      const body = JSON.stringify({ format: DISK_FORMAT, key, verdict });
      if (await this.#write(verdictFileName(key), body)) await this.#pruneIfOver(Buffer.byteLength(body));
    },
  };
  readonly #maxBytes: number;
  readonly #logger: Logger;
  #disabled = false;
  #created = false;
  /** Bytes in the directory as this process believes (undefined until first measured). */
  #estimate: number | undefined;
  #pruning: Promise<unknown> | undefined;

  constructor(dir: string, options: DiskStoreOptions) {
    this.dir = dir;
    this.#maxBytes = options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
    this.#logger = options.logger;
  }

  async get(key: string): Promise<LayerFacts | undefined> {
    return this.#readKeyed(entryFileName(key), key, 'facts', isLayerFacts);
  }

  /** The `field` of entry `name` when the entry is of this format, names `key` and `valid(field)` holds (it is then marked as used), else undefined. */
  #readKeyed<T>(name: string, key: string, field: 'facts' | 'verdict', valid: (value: unknown) => value is T): T | undefined {
    if (this.#disabled) return undefined;
    const path = join(this.dir, name);
    let text: string | undefined;
    try {
      text = readEntry(path)?.toString('utf8');
    } catch (err) {
      this.#logger.debug({ dir: this.dir, key, code: errnoOf(err) }, 'cache entry unreadable: ignored');
      return undefined;
    }
    if (text === undefined) return undefined;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined;
    }
    if (!isObject(doc) || doc['format'] !== DISK_FORMAT || doc['key'] !== key || !valid(doc[field])) {
      this.#logger.debug(
        { dir: this.dir, key },
        'cache entry corrupt, truncated or of another key or format: ignored, it will be rewritten',
      );
      return undefined;
    }
    touch(path);
    return doc[field];
  }

  async put(key: string, facts: LayerFacts): Promise<void> {
    if (this.#disabled) return;
    const body = JSON.stringify({ format: DISK_FORMAT, key, facts });
    if (await this.#write(entryFileName(key), body)) await this.#pruneIfOver(Buffer.byteLength(body));
  }

  async prune(): Promise<CacheStats> {
    const stats = await pruneCache(this.dir, this.#maxBytes);
    this.#estimate = stats.bytes;
    return stats;
  }

  #getConfig(descriptor: Parameters<ConfigCache['get']>[0]): Buffer | undefined {
    if (this.#disabled) return undefined;
    const path = join(this.dir, configFileName(descriptor.digest));
    let bytes: Buffer | undefined;
    try {
      bytes = readEntry(path, MAX_CONFIG_BYTES);
    } catch (err) {
      this.#logger.debug({ dir: this.dir, digest: descriptor.digest, code: errnoOf(err) }, 'cached config unreadable: ignored');
      return undefined;
    }
    if (bytes === undefined) return undefined;
    let verified = false;
    try {
      verified = bytes.length === descriptor.size && matchesDigest(bytes, descriptor.digest);
    } catch {
      verified = false;
    }
    if (!verified) {
      this.#logger.debug(
        { dir: this.dir, digest: descriptor.digest },
        'cached config does not match its digest or size: ignored, it will be rewritten',
      );
      return undefined;
    }
    touch(path);
    return bytes;
  }

  async #putConfig(digest: string, bytes: Buffer): Promise<void> {
    if (this.#disabled || bytes.length > MAX_CONFIG_BYTES) return;
    try {
      if (await this.#write(configFileName(digest), bytes)) await this.#pruneIfOver(bytes.length);
    } catch (err) {
      // Measuring the directory failed: the config is kept all the same, and the scan goes on.
      this.#logger.debug({ dir: this.dir, code: errnoOf(err) }, 'cache size not measured after a config put');
    }
  }

  #disable(err: unknown): void {
    if (this.#disabled) return;
    this.#disabled = true;
    this.#logger.warn(
      { dir: this.dir, code: errnoOf(err) },
      'the layer-facts cache directory cannot be written: scanning without the cache (set --cache-dir or --no-cache)',
    );
  }

  /** Writes `body` as entry `name` (temporary file + rename); false when the directory cannot be written (the cache is then off). */
  async #write(name: string, body: string | Buffer): Promise<boolean> {
    const temp = join(this.dir, `.tmp-${name}.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      if (!this.#created) {
        // Private to the user: whoever can write an entry decides what a layer holds (docs/security.md).
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        this.#created = true;
      }
      await writeFile(temp, body, { flag: 'wx', mode: 0o644 });
      // rename() replaces atomically in one directory: a reader sees the old entry or the new one.
      await rename(temp, join(this.dir, name));
      return true;
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      this.#disable(err);
      return false;
    }
  }

  async #pruneIfOver(added: number): Promise<void> {
    // The first measure already holds the entry just written; an overwrite counts twice, which
    // at worst prunes early (and prune measures again).
    this.#estimate = this.#estimate === undefined ? (await cacheStats(this.dir)).bytes : this.#estimate + added;
    if (this.#estimate <= this.#maxBytes || this.#pruning) return;
    this.#pruning = this.prune()
      .catch((err: unknown) => this.#logger.debug({ dir: this.dir, code: errnoOf(err) }, 'cache prune failed'))
      .finally(() => (this.#pruning = undefined));
    await this.#pruning;
  }
}

/** Marks `path` as just used: pruning removes the least recently used entries first. */
function touch(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    // A read-only cache still serves its entries.
  }
}

/** `first` (fast, e.g. memory) in front of `second` (e.g. disk): a hit in `second` fills `first`; a put goes to both. */
export function tieredStore(first: FactsStore, second: FactsStore): FactsStore {
  return {
    async get(key) {
      const near = await first.get(key);
      if (near) return near;
      const far = await second.get(key);
      if (far) await first.put(key, far);
      return far;
    },
    async put(key, facts) {
      await first.put(key, facts);
      await second.put(key, facts);
    },
    ...((second.verdicts ?? first.verdicts) ? { verdicts: second.verdicts ?? first.verdicts } : {}),
  };
}
