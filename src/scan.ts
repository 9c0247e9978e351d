/**
 * The pipeline: reference → source → image(s) → layers (inspected, cached by digest) →
 * checks → report. No I/O of its own beyond what the sources do; the CLI writes the results.
 */
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { matchersOf, watchPathsOf, type CheckSet } from './checks/index.js';
import { mapLimit } from './concurrency.js';
import type { Check, CheckInput, CheckOutcome, LayerView, Severity } from './checks/types.js';
import { OciScanError } from './errors.js';
import type { Image, Layer } from './image/types.js';
import { MAX_SYMLINK_HOPS, mergeLayersAsync, type FinalFs } from './layer/final-fs.js';
import { inspectLayer, type InspectOptions, type LayerFacts } from './layer/inspect.js';
import { canonicalJson, FACTS_VERSION, factsKey, memoryFactsStore, type Collection, type FactsStore } from './store/facts-store.js';
import { toolInfo } from './report/tool.js';
import { legacyReport } from './report/formats/legacy.js';
import { highestSeverity, toResult, type Report, type ReportResult, type ScannedImage } from './report/model.js';
import { openSession } from './registry/session.js';
import { acceptFindings, acceptInherited, activeAcceptances, checkDataOf, scanChecks } from './policy/apply.js';
import { inspectLayerAnywhere, type LayerBlob } from './inspect/host.js';
import { endLayerWorkers, prepareLayerWorker } from './inspect/spare.js';
import {
  BASE_DIGEST_ANNOTATION,
  BASE_NAME_ANNOTATION,
  detailsByDigest,
  layerDetails,
  splitByBase,
  type BaseSplit,
} from './report/layers.js';
import { checkPolicy } from './policy/load.js';
import type { Policy } from './policy/types.js';
import { openImages, parseLocalReference } from './sources/index.js';
import type { SourceOptions } from './sources/options.js';

/** Limits applied to every layer. */
export type ScanLimits = Pick<InspectOptions, 'maxLayerBytes' | 'maxEntries' | 'maxWatchedFileBytes'>;

/** Options of a scan. */
export interface ScanOptions extends SourceOptions {
  readonly checks?: readonly Check[];
  /**
   * Which checks run when `checks` is not given (docs/checks.md, "Extended checks"): `default`
   * the 17, `extended` or `all` the extended checks too, after them. Overrides the policy's `profile`.
   */
  readonly checkSet?: CheckSet;
  readonly limits?: ScanLimits;
  /** How many layers are downloaded and inspected at once. */
  readonly layerConcurrency?: number;
  /** Where layer facts are kept: pass one store to several scans to share it (default: a new one in memory per call). */
  readonly store?: FactsStore;
  /** False (default): a layer that could not be scanned fails every file check; true: file checks judge the scanned layers and name the others. */
  readonly allowUnscannedLayers?: boolean;
  /**
   * A policy (docs/ci.md, "Policy"; the object form of `.oci-scan.yaml`): checks disabled or
   * given another severity, the checks' data, findings accepted. Validated when the scan starts.
   */
  readonly policy?: Policy;
  /**
   * The base image, in any form `scan()` takes (docs/reports.md, "Layers: history and base"):
   * its layers are the image's inherited ones. Without it, the manifest's
   * `org.opencontainers.image.base.*` annotations name it for a registry image.
   */
  readonly base?: string;
  /**
   * Called after each layer is inspected (progress display). Without `facts` when the image's
   * check outcomes came from the cache's verdicts: its layers' blobs were checked, their facts
   * not read (docs/cache.md "Verdicts").
   */
  readonly onLayer?: (event: {
    readonly image: Image;
    readonly layer: Layer;
    readonly done: number;
    readonly total: number;
    readonly facts?: LayerFacts;
  }) => void;
  /** Called as a layer's (compressed) bytes are read, for progress displays. */
  readonly onLayerBytes?: (event: { readonly image: Image; readonly layer: Layer; readonly bytes: number }) => void;
}

/** The outcome of scanning one image: the image (digests, platform, layers) and its results. */
export interface ImageScan extends ScannedImage {
  /** Results in check order. */
  readonly results: ReportResult[];
  /** The legacy report document `{ "<reference>": [results] }` (validated against its schema). */
  readonly report: Report;
  readonly highest: Severity;
}

/** Lets timers and signal handlers run; throws the abort reason once `signal` is aborted. */
async function yieldToEventLoop(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** `blob` as read through a counter that reports each chunk's size (or `blob` itself without `onBytes`). */
function countBytes(blob: Readable, onBytes: ((bytes: number) => void) | undefined): Readable {
  if (!onBytes) return blob;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
  // An error of either side reaches the other: the reader sees the source's error on `counted`.
  pipeline(blob, counted).catch(() => undefined);
  return counted;
}

/** Layer facts of one run: the store, plus the inspections in flight (two images sharing a layer wait for one download). */
interface FactsSource {
  readonly store: FactsStore;
  readonly inFlight: Map<string, Promise<LayerFacts>>;
  /** False: no check outcomes kept in the store's verdicts (an audit keeps verdicts of its own, per reference). */
  readonly keepOutcomes?: boolean;
}

/**
 * The facts of one layer: from the store, or inspected (once, however many images ask at the
 * same time) and stored. Facts another image's scan found stand for a local layer only if
 * this image's store holds its blob, with its size (docs/architecture.md, "The persistent cache").
 */
async function layerFacts(
  image: Image,
  layer: Layer,
  collection: Collection,
  source: FactsSource,
  options: ScanOptions,
  signal: AbortSignal,
): Promise<LayerFacts> {
  const [facts] = await Promise.all([sharedFacts(image, layer, collection, source, options, signal), layer.check?.(signal)]);
  return facts;
}

function sharedFacts(
  image: Image,
  layer: Layer,
  collection: Collection,
  source: FactsSource,
  options: ScanOptions,
  signal: AbortSignal,
): Promise<LayerFacts> {
  const key = factsKey(layer.digest, collection);
  const pending = source.inFlight.get(key);
  if (pending) return pending;
  const what = `layer ${layer.digest} of ${image.name.display}`;
  const work = (async () => {
    const stored = await source.store.get(key);
    if (stored) return stored;
    const started = Date.now();
    const onBytes = options.onLayerBytes && ((bytes: number): void => options.onLayerBytes?.({ image, layer, bytes }));
    const blob: LayerBlob = {
      open: async () => countBytes(await layer.open(signal), onBytes),
      digest: layer.digest,
      size: layer.size,
      ...(layer.file ? { file: layer.file } : {}),
      ...(onBytes ? { onBytes } : {}),
    };
    // A worker rebuilds the matchers from the policy's data; a caller's own checks stay on the main thread.
    const data = options.checks === undefined ? checkDataOf(options.policy) : undefined;
    const facts = await inspectLayerAnywhere(blob, { ...options.limits, ...collection, what, signal }, data);
    options.logger.debug(
      { layer: layer.digest, compression: facts.compression, entries: facts.entries, tarBytes: facts.tarBytes, ms: Date.now() - started },
      'layer inspected',
    );
    await source.store.put(key, facts);
    return facts;
  })();
  source.inFlight.set(key, work);
  // Settled work is in the store (or failed, and may be retried by a later scan).
  work.then(
    () => source.inFlight.delete(key),
    () => source.inFlight.delete(key),
  );
  return work;
}

/** Scans one resolved image; `base`: its base split (`scan()` finds it), which the report shows and the policy's `inherited: accept` reads. */
export async function scanImage(
  image: Image,
  options: ScanOptions,
  source: FactsSource = { store: options.store ?? memoryFactsStore(), inFlight: new Map() },
  base?: BaseSplit,
): Promise<ImageScan> {
  const checks = checksFor(options, image.name.display);
  const matchers = matchersOf(checks);
  // A zstd layer is decoded on a worker (src/inspect/host.ts), which takes a while to start:
  // start one now, while the cache is looked up and the blobs are opened. Not for a caller's own
  // checks, which a worker cannot rebuild.
  if (options.checks === undefined && image.layers.some((l) => l.mediaType.includes('zstd'))) prepareLayerWorker();
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const scannable = image.layers.filter((l) => l.notScanned === undefined);
    // A manifest may name one blob many times (empty layers do): each distinct blob is
    // downloaded and inspected once per pass, whatever the cache.
    const distinct = [...new Map(scannable.map((l) => [l.digest, l])).values()];
    const inspectAll = async (watchPaths: ReadonlySet<string>): Promise<LayerView[]> => {
      let done = 0;
      // The largest layer is the critical path: start it first (docs/architecture.md, "Memory and speed").
      const largestFirst = distinct.map((_, i) => i).sort((a, b) => (distinct[b]?.size ?? 0) - (distinct[a]?.size ?? 0));
      const facts = await mapLimit(
        distinct,
        options.layerConcurrency ?? 3,
        async (layer) => {
          try {
            const f = await layerFacts(image, layer, { matchers, watchPaths }, source, options, stop.signal);
            options.onLayer?.({ image, layer, done: ++done, total: distinct.length, facts: f });
            return f;
          } catch (err) {
            // One failed layer stops the others' downloads at once.
            stop.abort(err);
            throw err;
          }
        },
        { order: largestFirst },
      );
      const byDigest = new Map(distinct.map((l, i) => [l.digest, facts[i] as LayerFacts]));
      return scannable.map((l) => ({ digest: l.digest, facts: byDigest.get(l.digest) as LayerFacts }));
    };
    // What the checks found, before the policy's acceptances: kept in the cache's verdicts by a
    // key naming all it depends on, so that a re-scan of the same image reads no layer facts,
    // builds no filesystem and runs no check (docs/cache.md, "Verdicts").
    const cacheKey = source.store.verdicts && source.keepOutcomes !== false ? outcomesKey(image, checks, options) : undefined;
    const outcomes = await cachedOutcomes(source, cacheKey, checks.length, async () => {
      // Each blob is checked as a scan from the layer facts checks it (a local layout's must still
      // be there, at its size); a progress display hears of each layer, its facts not read.
      let done = 0;
      await Promise.all(
        distinct.map(async (layer) => {
          await layer.check?.(stop.signal);
          options.onLayer?.({ image, layer, done: ++done, total: distinct.length });
        }),
      );
    });
    const notScanned = image.layers.flatMap((l) => (l.notScanned === undefined ? [] : [{ digest: l.digest, reason: l.notScanned }]));
    const input: Pick<CheckInput, 'notScanned' | 'allowUnscannedLayers'> = {
      notScanned,
      allowUnscannedLayers: options.allowUnscannedLayers === true,
    };
    const found =
      outcomes ??
      (await (async (): Promise<CheckOutcome[]> => {
        let watchPaths = watchPathsOf(checks);
        let layers = await inspectAll(watchPaths);
        // Merging and following links are CPU work over possibly huge fact sets: they yield to the
        // event loop as they go, so that a timeout or a signal stops them (docs/security.md).
        const merge = async (): Promise<FinalFs> => {
          options.logger.debug({ layers: layers.length }, 'final filesystem: merging the layers');
          return mergeLayersAsync(
            layers.map((l) => l.facts),
            watchPaths,
            options.signal,
          );
        };
        let fs = await merge();
        // A symlinked directory or a hard link on the way to a watched path (`/etc` →
        // `/private/etc`) moves the content the checks read to a path nobody watched: inspect again
        // watching it too, or a hostile image could hide its /etc/passwd (and a uid-0 user). Every
        // link is known after the first pass, so one more pass normally reaches a fixed point; the
        // bound is the kernel's link limit (docs/architecture.md).
        for (let round = 0; round < MAX_SYMLINK_HOPS; round++) {
          const moved = fs.pendingWatches(watchPaths);
          if (moved.length === 0) break;
          options.logger.debug({ paths: moved }, 'watched paths behind links: inspecting again');
          watchPaths = new Set([...watchPaths, ...moved]);
          layers = await inspectAll(watchPaths);
          fs = await merge();
        }
        const checkInput: CheckInput = {
          name: image.name,
          config: image.config,
          layers,
          notScanned,
          fs,
          allowUnscannedLayers: options.allowUnscannedLayers === true,
          ...(image.fromIndex && image.platform ? { platform: image.platform } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        };
        options.logger.debug({ checks: checks.length }, 'running the checks');
        const ran: CheckOutcome[] = [];
        for (const check of checks) {
          await yieldToEventLoop(options.signal);
          ran.push(await check.run(checkInput));
        }
        // A layer left unscanned (a foreign layer) may be served later under the same digest: not kept.
        if (cacheKey !== undefined && notScanned.length === 0)
          await source.store.verdicts?.put(cacheKey, { format: OUTCOMES_FORMAT, outcomes: ran });
        return ran;
      })());
    const accepts = activeAcceptances(options.policy, image.name.display, new Date(), (rule) =>
      options.logger.warn(
        { check: rule.check, paths: rule.paths, expires: rule.expires },
        'policy: acceptance expired, ignored (renew its expires date or remove it)',
      ),
    );
    // Accepting findings comes after the checks ran (or their outcomes were read from the cache).
    const inherited = options.policy?.inherited === 'accept' && base ? inheritedDigests(image, base) : new Set<string>();
    const results: ReportResult[] = checks.map((check, i) => {
      const outcome = acceptFindings(check, found[i] as CheckOutcome, input, accepts);
      return toResult(check, base ? acceptInherited(outcome, input, inherited, base.reference) : outcome);
    });
    const highest = highestSeverity(results);
    return {
      image,
      results,
      report: legacyReport({ image, results, highest }),
      highest,
      checkSeverities: Object.fromEntries(checks.map((c) => [c.id, c.severity])),
      ...(base ? { base } : {}),
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The format of the check outcomes kept in a cache's verdicts. */
const OUTCOMES_FORMAT = 'oci-scan-outcomes/1';

/**
 * The key of what `checks` find in `image` (docs/cache.md, "Verdicts"): everything the outcomes
 * depend on — oci-scan's version and its facts version, the image's name (the Tag check and a
 * policy's rules read it), its config and layers by digest, the platform it was chosen for, the
 * checks with their severities and what they collect, the policy, the check set, the limits and
 * `allowUnscannedLayers`. Undefined when the caller gave checks of its own: their code is not
 * named by anything here.
 */
function outcomesKey(image: Image, checks: readonly Check[], options: ScanOptions): string | undefined {
  if (options.checks !== undefined) return undefined;
  return `scan-outcomes/facts-v${FACTS_VERSION}/${canonicalJson({
    tool: toolInfo().version,
    name: image.name.display,
    config: image.configDigest,
    layers: image.layers.map((l) => [l.digest, l.notScanned ?? null]),
    platform: image.fromIndex && image.platform ? image.platform : null,
    checks: checks.map((c) => ({
      id: c.id,
      severity: c.severity,
      collects: [c.matcher, ...(c.matchers ?? [])].flatMap((m) => (m ? [[m.id, m.fingerprint]] : [])),
      watch: c.watchPaths ?? [],
    })),
    policy: options.policy ?? null,
    checkSet: options.checkSet ?? null,
    limits: options.limits ?? null,
    allowUnscannedLayers: options.allowUnscannedLayers === true,
  })}`;
}

/**
 * The outcomes kept under `key` — after `onHit` ran (the hit still checks what a scan from
 * cached facts checks) — or undefined: no key, nothing kept, or a value that is not `count`
 * outcomes (a kept value is untrusted input, like any cache file).
 */
async function cachedOutcomes(
  source: FactsSource,
  key: string | undefined,
  count: number,
  onHit: () => Promise<void>,
): Promise<CheckOutcome[] | undefined> {
  if (key === undefined) return undefined;
  const kept = source.store.verdicts?.get(key);
  if (typeof kept !== 'object' || kept === null || (kept as { format?: unknown }).format !== OUTCOMES_FORMAT) return undefined;
  const outcomes = (kept as { outcomes?: unknown }).outcomes;
  if (!Array.isArray(outcomes) || outcomes.length !== count || !outcomes.every(isCheckOutcome)) return undefined;
  await onHit();
  return outcomes;
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A check's outcome as `run` returns it (no accepted findings: those come after). */
function isCheckOutcome(v: unknown): v is CheckOutcome {
  if (!isRecord(v) || typeof v['pass'] !== 'boolean' || typeof v['description'] !== 'string' || v['accepted'] !== undefined) return false;
  const { files, counts } = v;
  if (files !== undefined && !(Array.isArray(files) && files.every((f) => isRecord(f) && Object.values(f).every(isStrings)))) return false;
  return counts === undefined || (isRecord(counts) && Object.values(counts).every((n) => typeof n === 'number'));
}

/** The digests of the layers of `image` that `base` says are inherited (none unless it is a prefix). */
function inheritedDigests(image: Image, base: BaseSplit): Set<string> {
  return new Set([...detailsByDigest(layerDetails({ image, base })).values()].filter((d) => d.origin === 'inherited').map((d) => d.digest));
}

/**
 * The base of `image` (docs/reports.md, "Layers: history and base"): `options.base`, else the
 * manifest's base annotations — read only for a registry image, through the run's session
 * (a local image's annotation names a registry the user did not ask to reach). Only the base's
 * manifest and config are read. A base that cannot be read is reported as unresolved, never
 * guessed and never an error; undefined when nothing names a base.
 */
async function baseOf(image: Image, input: string, options: ScanOptions): Promise<BaseSplit | undefined> {
  const named = options.base ?? annotatedBase(image);
  if (named === undefined) return undefined;
  const from =
    options.base !== undefined
      ? { reference: options.base, source: 'option' as const }
      : { reference: named, source: 'annotation' as const };
  if (from.source === 'annotation' && parseLocalReference(input) !== undefined) {
    return {
      ...from,
      status: 'unresolved',
      note: 'the image was read from a local source: its base annotation names a registry image that was not fetched (give --base to compare)',
    };
  }
  if (from.reference === '')
    return {
      ...from,
      status: 'unresolved',
      note: `the manifest gives ${BASE_DIGEST_ANNOTATION} without ${BASE_NAME_ANNOTATION}: the base's repository is not known (give --base)`,
    };
  try {
    // The base's manifest and config only: no layer is opened.
    const platform = image.platform ?? (options.platform === 'all' ? undefined : options.platform);
    const { consumeLayer: _consume, ...rest } = options;
    const [found] = await openImages(from.reference, { ...rest, ...(platform ? { platform } : {}) });
    if (!found) return { ...from, status: 'unresolved', note: 'the base resolved to no image' };
    return splitByBase(image, found.config.rootfs?.diff_ids ?? [], {
      ...from,
      ...(found.manifestDigest !== undefined ? { digest: found.manifestDigest } : {}),
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const message = err instanceof OciScanError ? err.message : String(err);
    options.logger.warn(
      { base: from.reference, error: message },
      'base image not read: inherited and introduced layers are not told apart',
    );
    return { ...from, status: 'unresolved', note: `the base could not be read: ${message}` };
  }
}

/** `name@digest` (or `name`) from the base annotations; '' for a digest without a name; undefined without either. */
function annotatedBase(image: Image): string | undefined {
  const name = image.annotations?.[BASE_NAME_ANNOTATION];
  const digest = image.annotations?.[BASE_DIGEST_ANNOTATION];
  if (!name) return digest ? '' : undefined;
  // A digest pins the base the image was built on; the tag may have moved since.
  return digest ? `${name.replace(/@.*$/, '').replace(/:[^/:]*$/, '')}@${digest}` : name;
}

/** The checks of the image `reference`: the caller's or the default ones, with the policy applied. */
function checksFor(options: ScanOptions, reference: string): readonly Check[] {
  return scanChecks(options.policy, reference, options.checks, options.checkSet);
}

/**
 * The images of a run: `inputs` without blank entries and without repeats, in order. Throws
 * NO_IMAGE when none is left — the one place that checks that an image was given.
 */
export function imagesToScan(inputs: readonly string[]): string[] {
  const images = [...new Set(inputs.filter((input) => input.trim() !== ''))];
  if (images.length === 0) throw new OciScanError('NO_IMAGE', 'no image given', { setting: 'image' });
  return images;
}

/**
 * Opens `input` (any supported transport) and scans every image it resolves to (one, or one
 * per platform when `options.platform` is 'all'). To scan several inputs in one run, call it
 * once per input with the same `options`: the facts store (`options.store`) is then shared.
 */
export async function scan(input: string, options: ScanOptions): Promise<ImageScan[]> {
  imagesToScan([input]);
  if (options.policy) checkPolicy(options.policy);
  // A compressed archive is read in one streaming pass: its layers are inspected as they
  // stream past (with the first round's matchers and watched paths), and the facts of those
  // that belong to the image seed the facts store (docs/architecture.md, "Compressed archives").
  const checks = checksFor(options, input);
  const watchPaths = watchPathsOf(checks);
  const consumed = new Map<string, Promise<LayerFacts>>();
  const consumeLayer = async (tar: Readable, id: string, signal?: AbortSignal): Promise<void> => {
    const facts = inspectLayer(tar, {
      ...options.limits,
      matchers: matchersOf(checks),
      watchPaths,
      what: `layer ${id} of ${input}`,
      ...(signal ? { signal } : {}),
    });
    consumed.set(id, facts);
    await facts;
  };
  // The run's registry connections: the caller's session, else one for this call, closed at its end.
  const session = options.session ?? openSession({ registry: options.registry, logger: options.logger });
  try {
    const images = await openImages(input, { ...options, session, consumeLayer });
    const source: FactsSource = { store: options.store ?? memoryFactsStore(), inFlight: new Map() };
    const matchers = matchersOf(checks);
    for (const layer of images.flatMap((i) => i.layers)) {
      // A layer the pass could not inspect is inspected (and fails) again on its own.
      const facts = layer.consumedAs === undefined ? undefined : await consumed.get(layer.consumedAs)?.catch(() => undefined);
      if (facts) await source.store.put(factsKey(layer.digest, { matchers, watchPaths }), facts);
    }
    const scans: ImageScan[] = [];
    for (const image of images) scans.push(await scanImage(image, options, source, await baseOf(image, input, { ...options, session })));
    return scans;
  } finally {
    endLayerWorkers();
    if (!options.session) await session.close();
  }
}
