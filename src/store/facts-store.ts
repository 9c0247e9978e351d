/**
 * The layer-facts store: what one layer's bytes say, kept by a key that names everything the
 * facts depend on, so that an image whose layers were seen before costs no layer download.
 * A layer's facts are a pure function of its bytes (the digest), of what is collected (the
 * matchers with their data, the watched paths) and of the recorder's code (FACTS_VERSION):
 * change any of them and the key changes, so a stale entry is never served
 * (docs/architecture.md, "Why a layer's facts can be cached").
 */
import { createHash } from 'node:crypto';
import type { EntryMatcher, LayerFacts } from '../layer/inspect.js';

/**
 * Version of what the recorder records and how. Bump it with any change to src/layer/ that
 * changes the facts of some layer (a new field, a different reading of an entry).
 */
export const FACTS_VERSION = 5;

/** What a layer inspection collects. */
export interface Collection {
  readonly matchers: readonly EntryMatcher[];
  readonly watchPaths: ReadonlySet<string>;
}

/** Where layer facts are kept between inspections: the run's memory (`memoryFactsStore`), the disk (src/store/disk.ts), or both. */
export interface FactsStore {
  get(key: string): Promise<LayerFacts | undefined>;
  put(key: string, facts: LayerFacts): Promise<void>;
  /** Verdicts kept beside the facts (the disk store's), for a warm re-audit (docs/audit.md, "A nightly schedule"). */
  readonly verdicts?: VerdictStore;
}

/**
 * What earlier runs concluded about an image, kept by a key that names everything the verdict
 * depends on (the audit builds it: src/audit/verdicts.ts). A value is untrusted JSON: the
 * caller checks its shape before using it.
 */
export interface VerdictStore {
  /** The value kept under `key` (its entry's key checked), or undefined. */
  get(key: string): unknown;
  put(key: string, value: unknown): Promise<void>;
}

/** JSON with object keys sorted and undefined members left out, so that two equal values give one key whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The store key of a layer's facts: `<digest>/v<FACTS_VERSION>/<sha256 of what is collected>`. */
export function factsKey(digest: string, collection: Collection): string {
  const what = JSON.stringify({
    matchers: collection.matchers.map((m) => [m.id, m.fingerprint]),
    watch: [...collection.watchPaths].sort(),
  });
  return `${digest}/v${FACTS_VERSION}/${createHash('sha256').update(what).digest('hex')}`;
}

/** A store in memory, for one run (or one library caller). */
export function memoryFactsStore(): FactsStore {
  const entries = new Map<string, LayerFacts>();
  return {
    get: (key) => Promise.resolve(entries.get(key)),
    put: (key, facts) => {
      entries.set(key, facts);
      return Promise.resolve();
    },
  };
}
