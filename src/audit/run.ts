/**
 * Running an audit (docs/audit.md, "How an audit runs"): plan (./plan.ts), resolve every
 * reference to a manifest digest, then scan each distinct digest of a repository once — its
 * tags share the resolution, every image shares the layer facts, and only the checks run per
 * reference (the Tag check and a policy's rules depend on the name) — with at most `concurrency`
 * references resolved or digests scanned at once, and per registry at most `rate` of them
 * started per second, a rate that halves on a 429. Each reference's legacy report and its
 * resume record (./records.ts) are in place as soon as it is scanned, so a run that is killed
 * loses only the references in flight, and a stopped run still returns its partial summary.
 */
import { createHash } from 'node:crypto';
import { getMaxListeners, setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { OciScanError } from '../errors.js';
import { formatPlatform } from '../image/platform.js';
import type { Image, ImageName } from '../image/types.js';
import { tagOfImageName } from '../reference/ref-name.js';
import { parseReference } from '../reference/reference.js';
import { repositoryPath } from '../reference/repository-path.js';
import type { Session } from '../registry/session.js';
import type { ImageOutcome, ScanFailure } from '../report/model.js';
import { ReportBatch } from '../report/write.js';
import { mapLimit, scanImage, type ImageScan, type ScanOptions } from '../scan.js';
import { openImages } from '../sources/index.js';
import type { ContentSource, FetchedDocument } from '../sources/content.js';
import { registryContent } from '../sources/registry.js';
import { resolveImages } from '../sources/resolve.js';
import { directoryStore } from '../sources/store.js';
import { readLayoutIndex, REF_NAME } from '../sources/oci-layout.js';
import type { LayerFacts } from '../layer/inspect.js';
import type { FactsStore } from '../store/facts-store.js';
import { planAudit, targetLabel, type AuditTarget, type PlanFilters, type PlannedRef } from './plan.js';
import { ALL_CHECKS } from '../checks/index.js';
import { makeRecord, RecordIndex, RecordJournal, recordedScan, RECORDS_DIR, verdictKey, type RecordedImage } from './records.js';
import { buildSummary, type AuditError, type AuditSummary, type SummaryImage } from './summary.js';
import type { ToolInfo } from '../report/formats/json.js';
import { ensureReportsDir } from '../report/write.js';

/** What an audit runs with. */
export interface AuditOptions {
  readonly target: AuditTarget;
  readonly filters: PlanFilters;
  /** The scan options of every image: one store, one session, the policy, the platform. */
  readonly scan: ScanOptions & { readonly store: FactsStore; readonly session: Session };
  readonly reportsDir: string;
  /** References resolved, or digests scanned, at once. */
  readonly concurrency: number;
  /** Per registry, at most this many references or digests started per second (0: no limit until a 429). */
  readonly rate: number;
  /** Scan everything again, whatever a previous run left. */
  readonly fresh: boolean;
  readonly tool: ToolInfo;
  /** The one-line form of a failure, as the CLI shows it. */
  readonly describe: (err: unknown) => ScanFailure;
  /** Keep every image's results for the whole-audit documents (json, sarif, junit); false keeps the summary entries only, so memory does not grow with the checks' results. */
  readonly keepResults: boolean;
    /** Called as each reference is done (progress). */
  readonly onReference?: (event: { readonly reference: string; readonly done: number; readonly total: number; readonly resumed: boolean; readonly error?: AuditError }) => void;
}

/** What an audit leaves: its summary, and (with `keepResults`) every reference's outcome in summary order for the whole-audit formats. */
export interface AuditOutcome {
  readonly summary: AuditSummary;
  readonly outcomes: readonly ImageOutcome[];
  /** References the listing and filters gave before sharding (0 when the listing failed): 0 with no failure is an audit that matched nothing. */
  readonly listed: number;
}

/**
 * Bytes of manifests kept between resolving tags and scanning their digests (a manifest is a
 * few KiB; past the budget, a digest's manifest is fetched again when it is scanned).
 */
const PRIMED_BYTES = 32 * 1024 * 1024;

/** How many times a reference refused with 429 is tried again (after the rate halved). */
const RATE_LIMITED_TRIES = 3;

/**
 * A per-registry start rate (docs/audit.md, "Rate"): `acquire` waits for the next slot. A
 * registry that answers 429 after the HTTP layer's own retries (which honour `Retry-After`)
 * halves its rate, down to one start every 10 s.
 */
class RateGate {
  #perSecond: number;
  #next = 0;

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
  }

  async acquire(signal: AbortSignal | undefined): Promise<void> {
    if (this.#perSecond <= 0) return;
    const now = Date.now();
    const at = Math.max(now, this.#next);
    this.#next = at + 1000 / this.#perSecond;
    if (at > now) await new Promise<void>((resolve) => setTimeout(resolve, at - now));
    signal?.throwIfAborted();
  }

  /** Halves the rate (a rate of 0, unlimited, becomes `fallback` first). */
  slowDown(fallback: number): void {
    this.#perSecond = Math.max(0.1, (this.#perSecond > 0 ? this.#perSecond : fallback) / 2);
  }
}

/** True for a registry's 429 that survived the HTTP layer's retries. */
function isRateLimited(err: unknown): boolean {
  return err instanceof OciScanError && err.status === 429;
}

/** A reference resolved to what it points at. */
interface Resolved {
  readonly ref: PlannedRef;
  readonly digest: string;
}

/** The registry host of a planned reference (undefined for a layout). */
function registryOf(ref: PlannedRef): string | undefined {
  return ref.reference.startsWith('oci:') ? undefined : parseReference(ref.reference).registry;
}

/** The name a registry reference's image gets (as the scan command names `HOST/REPO:TAG`). */
function registryName(reference: string): ImageName {
  const ref = parseReference(reference);
  return { display: ref.display, name: ref.name, repository: repositoryPath(`${ref.registry}/${ref.repository}`), tagOrigin: 'reference', ...(ref.tag !== undefined ? { tag: ref.tag } : {}) };
}

/**
 * The name `ref`'s image is reported under: a digest's images were resolved through another
 * reference of the group. A layout's tag is its ref.name read as the runtimes read it
 * (docs/checks.md, check 1); the name resolved through this very reference is kept whole (it
 * also read the entry's containerd name annotation).
 */
function nameOf(ref: PlannedRef, resolved: ImageName): ImageName {
  if (!ref.reference.startsWith('oci:')) return registryName(ref.reference);
  if (resolved.display === ref.reference) return resolved;
  const base = { display: ref.reference, name: resolved.name, repository: resolved.repository, tagOrigin: 'reference' } as const;
  const t = tagOfImageName(ref.tag);
  return t.digest !== undefined ? { ...base, digest: t.digest } : { ...base, tag: t.tag };
}

/** The summary entry of a reference that could not be resolved or scanned. */
function failedEntry(ref: Pick<PlannedRef, 'reference' | 'repository'> & { readonly tag: string | null }, digest: string | null, error: AuditError): SummaryImage {
  return { reference: ref.reference, repository: ref.repository, tag: ref.tag, digest, platform: null, highest: null, failedChecks: [], layers: [], report: null, error };
}

/** `base` with `_<platform>` before its suffix, for a reference scanned for several platforms. */
function platformReport(base: string, image: Image): string {
  const platform = image.platform ? formatPlatform(image.platform).replace(/[^A-Za-z0-9._-]/g, '-') : 'unknown-platform';
  return base.replace(/-compliance\.json$/, `_${platform}-compliance.json`);
}

/**
 * The verdict key of an audit's scans (./records.ts): its tool version, policy, checks, platform
 * choice, `--allow-unscanned-layers`, and which acceptances have expired by today (UTC).
 */
export function auditVerdictKey(options: Pick<AuditOptions, 'scan' | 'tool'>, now: Date = new Date()): string {
  const { scan } = options;
  const day = now.toISOString().slice(0, 10);
  const accept = scan.policy?.accept ?? [];
  return verdictKey({
    toolVersion: options.tool.version,
    policy: scan.policy,
    checks: (scan.checks ?? ALL_CHECKS).map((c) => ({ id: c.id, severity: c.severity })),
    platform: scan.platform === 'all' ? 'all' : formatPlatform(scan.platform),
    allowUnscannedLayers: scan.allowUnscannedLayers ?? false,
    expiredAcceptances: accept.flatMap((rule, i) => (rule.expires !== undefined && rule.expires < day ? [i] : [])),
  });
}

/** Runs the audit; never throws for one image's or one repository's failure, nor when stopped (the summary is then incomplete). */
export async function runAudit(options: AuditOptions): Promise<AuditOutcome> {
  const { scan: scanOptions, reportsDir } = options;
  const signal = scanOptions.signal;
  // Each image in flight listens on the run's signal (its scan, its requests): Node's default of
  // 10 listeners would warn of a leak that is only the concurrency.
  if (signal) setMaxListeners(Math.max(getMaxListeners(signal), 16 * options.concurrency), signal);
  const header = { tool: options.tool, source: targetLabel(options.target), shard: options.filters.shard ?? null };
  const describe = (err: unknown): AuditError => {
    const { code, message } = options.describe(err);
    return { code, message };
  };
  let plan;
  try {
    plan = await planAudit(options.target, options.filters, { session: scanOptions.session, signal, describe });
  } catch (err) {
    // A --repos file that does not read is the command line's fault, not the listing's.
    if (err instanceof OciScanError && err.code === 'USAGE') throw err;
    if (signal?.aborted) return { summary: buildSummary({ ...header, complete: false, pending: 0, run: { scanned: 0, resumed: 0 } }, []), outcomes: [], listed: 0 };
    const listingError = describe(err);
    return { summary: buildSummary({ ...header, complete: false, pending: 0, listingError, run: { scanned: 0, resumed: 0 } }, []), outcomes: [], listed: 0 };
  }
  await ensureReportsDir(join(reportsDir, RECORDS_DIR));
  // What earlier runs into this directory recorded (nothing with --fresh), and this run's journal.
  const previous = options.fresh ? undefined : RecordIndex.load(reportsDir);
  const journal = new RecordJournal(reportsDir);
  const verdict = auditVerdictKey(options);
  const entries: SummaryImage[] = plan.failures.map((f) => failedEntry({ reference: f.repository, repository: f.repository, tag: null }, null, f.error));
  const outcomes: ImageOutcome[] = plan.failures.map((f) => ({ input: f.repository, failure: f.error }));
  const gates = new Map<string, RateGate>();
  const gate = (ref: PlannedRef): RateGate => {
    const key = registryOf(ref) ?? '';
    let g = gates.get(key);
    if (!g) gates.set(key, (g = new RateGate(options.rate)));
    return g;
  };
  /** Runs `fn` through `ref`'s registry gate, trying again (slower) after a 429. */
  const gated = async <T>(ref: PlannedRef, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      await gate(ref).acquire(signal);
      try {
        return await fn();
      } catch (err) {
        if (!isRateLimited(err) || attempt >= RATE_LIMITED_TRIES || signal?.aborted) throw err;
        gate(ref).slowDown(options.concurrency);
        scanOptions.logger.warn({ reference: ref.reference }, 'registry rate-limits the audit (429): halving its rate and trying again');
      }
    }
  };
  const total = plan.refs.length;
  let done = 0;
  let scanned = 0;
  let resumed = 0;
  const finish = (reference: string, wasResumed: boolean, error?: AuditError): void => {
    done += 1;
    options.onReference?.({ reference, done, total, resumed: wasResumed, ...(error ? { error } : {}) });
  };

  // The manifests fetched to resolve tags, kept (within a budget) for the scan of their digest.
  const primed = new PrimedManifests(PRIMED_BYTES);
  // 1. Resolve every reference to a digest; a complete record for it ends the reference here.
  const layoutDigests = options.target.kind === 'layout' ? await layoutTagDigests(options.target.dir) : undefined;
  const toScan: Resolved[] = [];
  await mapLimit(plan.refs, options.concurrency, async (ref) => {
    let digest: string;
    try {
      digest = layoutDigests ? (layoutDigests.get(ref.tag) ?? '') : await gated(ref, async () => {
        const repo = await scanOptions.session.registry(registryOf(ref) ?? '').repository(parseReference(ref.reference).repository, { logger: scanOptions.logger, signal });
        const fetched = await repo.manifest(ref.tag, signal);
        primed.keep(`${ref.repository}\n${fetched.digest}`, { bytes: fetched.bytes, digest: fetched.digest, ...(fetched.contentType !== undefined ? { mediaType: fetched.contentType } : {}) });
        return fetched.digest;
      });
    } catch (err) {
      if (signal?.aborted) return;
      const error = describe(err);
      entries.push(failedEntry(ref, null, error));
      outcomes.push({ input: ref.reference, failure: error });
      finish(ref.reference, false, error);
      return;
    }
    const record = previous?.complete(ref.reference, digest, verdict);
    if (!record) {
      toScan.push({ ref, digest });
      return;
    }
    primed.take(`${ref.repository}\n${digest}`);
    entries.push(...record.images.map((i) => i.entry));
    if (options.keepResults) outcomes.push({ input: ref.reference, scans: record.images.map(recordedScan) });
    resumed += 1;
    finish(ref.reference, true);
  }, { signal });

  // 2. Scan each distinct digest of a repository once: resolve its images through the first
  // reference, run the checks per reference. The same digest in another repository is resolved
  // again there (a manifest and a config), so that each repository's own blobs and access
  // rights are what its images are judged by; its layers come from the shared facts.
  const groups = new Map<string, Resolved[]>();
  for (const r of toScan) {
    const key = `${r.ref.repository}\n${r.digest}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  const facts = { store: scanOptions.store, inFlight: new Map<string, Promise<LayerFacts>>() };
  try {
    await mapLimit([...groups.values()], options.concurrency, async (group) => {
      const [first] = group;
      if (!first) return;
      let images: Image[];
      try {
        images = await gated(first.ref, () => openDigest(first, scanOptions, primed.take(`${first.ref.repository}\n${first.digest}`)));
      } catch (err) {
        if (signal?.aborted) return;
        const error = describe(err);
        for (const { ref, digest } of group) {
          entries.push(failedEntry(ref, digest, error));
          outcomes.push({ input: ref.reference, failure: error });
          finish(ref.reference, false, error);
        }
        return;
      }
      for (const { ref, digest } of group) {
        if (signal?.aborted) return;
        try {
          const named = images.map((image) => ({ ...image, name: nameOf(ref, image.name) }));
          const scans: ImageScan[] = [];
          for (const image of named) scans.push(await gated(ref, () => scanImage(image, scanOptions, facts)));
          const recorded = await writeReference(reportsDir, journal, ref, digest, verdict, scans, signal);
          entries.push(...recorded.map((i) => i.entry));
          if (options.keepResults) outcomes.push({ input: ref.reference, scans: recorded.map(recordedScan) });
          scanned += 1;
          finish(ref.reference, false);
        } catch (err) {
          if (signal?.aborted) return;
          // A report that cannot be written is the run's failure, not the image's.
          if (err instanceof OciScanError && err.code === 'REPORT_WRITE') throw err;
          const error = describe(err);
          entries.push(failedEntry(ref, digest, error));
          outcomes.push({ input: ref.reference, failure: error });
          finish(ref.reference, false, error);
        }
      }
    }, { signal });
  } finally {
    journal.close();
  }

  const complete = !signal?.aborted;
  const summary = buildSummary({ ...header, complete, pending: total - done, run: { scanned, resumed } }, entries);
  // Outcomes in summary order (reference, then platform), as the whole-audit documents list them.
  const order = new Map(summary.images.map((image, i) => [image.reference, i]));
  outcomes.sort((a, b) => (order.get(a.input) ?? 0) - (order.get(b.input) ?? 0));
  return { summary, outcomes, listed: plan.listed + plan.failures.length };
}

/** The digest of each tag of a layout: the entry's, or for the platforms of one image (several entries), a digest of theirs. */
async function layoutTagDigests(dir: string): Promise<Map<string, string>> {
  const index = await readLayoutIndex(directoryStore(dir, `OCI layout ${dir}`));
  const byTag = new Map<string, string[]>();
  for (const entry of index?.manifests ?? []) {
    const tag = entry.annotations?.[REF_NAME];
    if (tag) byTag.set(tag, [...(byTag.get(tag) ?? []), entry.digest]);
  }
  return new Map([...byTag].map(([tag, digests]) => [tag, digests.length === 1 ? (digests[0] ?? '') : `sha256:${createHash('sha256').update(digests.join('\n')).digest('hex')}`]));
}

/** The manifests kept for the scan phase: at most `budget` bytes, each given out once. */
class PrimedManifests {
  readonly #documents = new Map<string, FetchedDocument>();
  #bytes = 0;
  readonly #budget: number;

  constructor(budget: number) {
    this.#budget = budget;
  }

  /** Keeps `doc` under `key` unless one is kept there already or the budget is spent. */
  keep(key: string, doc: FetchedDocument): void {
    if (this.#documents.has(key) || this.#bytes + doc.bytes.length > this.#budget) return;
    this.#documents.set(key, doc);
    this.#bytes += doc.bytes.length;
  }

  /** The document kept under `key`, if any, forgotten from now on. */
  take(key: string): FetchedDocument | undefined {
    const doc = this.#documents.get(key);
    if (doc) {
      this.#documents.delete(key);
      this.#bytes -= doc.bytes.length;
    }
    return doc;
  }
}

/**
 * The images of a resolved reference: by digest from its registry, or by tag from its layout.
 * `primed` is the manifest its tag was resolved with: its digest is the sha256 of those bytes,
 * so it is the document a fetch by that digest would verify, and need not be fetched again.
 */
async function openDigest({ ref, digest }: Resolved, options: ScanOptions & { readonly session: Session }, primed?: FetchedDocument): Promise<Image[]> {
  if (ref.reference.startsWith('oci:')) return openImages(ref.reference, options);
  const parsed = parseReference(ref.reference);
  const repo = await options.session.registry(parsed.registry).repository(parsed.repository, { logger: options.logger, signal: options.signal });
  const content = registryContent(repo, options.configs);
  const source: ContentSource = primed?.digest === digest ? { ...content, fetchManifest: (reference, signal) => (reference === digest ? Promise.resolve(primed) : content.fetchManifest(reference, signal)) } : content;
  try {
    return await resolveImages(source, { kind: 'reference', reference: digest }, registryName(ref.reference), options);
  } catch (err) {
    throw options.session.scrubber.scrubError(err);
  }
}

/** Writes a reference's legacy report(s), then its record; returns what was recorded. */
async function writeReference(reportsDir: string, journal: RecordJournal, ref: PlannedRef, digest: string, verdict: string, scans: readonly ImageScan[], signal: AbortSignal | undefined): Promise<RecordedImage[]> {
  const batch = new ReportBatch(reportsDir);
  try {
    const recorded: RecordedImage[] = [];
    for (const s of scans) {
      const report = scans.length > 1 ? platformReport(ref.report, s.image) : ref.report;
      await batch.write(report, s.report, signal);
      const { image } = s;
      recorded.push({
        entry: {
          reference: ref.reference,
          repository: ref.repository,
          tag: ref.tag,
          digest,
          platform: image.platform ? formatPlatform(image.platform) : null,
          highest: s.highest,
          failedChecks: s.results.filter((r) => !r.Pass).map((r) => r.Id),
          layers: image.layers.map((l) => l.digest),
          report,
        },
        name: image.name,
        ...(image.manifestDigest !== undefined ? { manifestDigest: image.manifestDigest } : {}),
        ...(image.indexDigest !== undefined ? { indexDigest: image.indexDigest } : {}),
        configDigest: image.configDigest,
        ...(image.platform ? { platform: image.platform } : {}),
        results: s.results,
      });
    }
    batch.commit(signal);
    // The record goes last, once the reports are in place: it never names a report that is missing.
    journal.append(makeRecord(ref.reference, digest, verdict, recorded));
    return recorded;
  } finally {
    batch.discard();
  }
}
