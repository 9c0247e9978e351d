/**
 * Running an audit (docs/audit.md, "How an audit runs"): plan (./plan.ts), resolve every
 * reference to a manifest digest, then scan each distinct digest of a repository once — its
 * tags share the resolution, every image shares the layer facts, and only the checks run per
 * reference (the Tag check and a policy's rules depend on the name) — as soon as the
 * repository's references are resolved, so that scans overlap the resolving of other
 * repositories (./pool.ts). A reference whose verdict the cache kept for the same digest and
 * verdict key (./verdicts.ts) is not scanned: its report is written from it. At most
 * `concurrency` references are resolved or digests scanned at once, and per registry at most
 * `rate` of them started per second, a rate that halves on a 429. Each reference's legacy
 * report and its resume record (./records.ts) are in place as soon as it is scanned, so a run
 * that is killed loses only the references in flight, and a stopped run still returns its
 * partial summary.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createChecks, extendedIdsOf } from '../checks/index.js';
import { OciScanError } from '../errors.js';
import { formatPlatform } from '../image/platform.js';
import type { Image, ImageName } from '../image/types.js';
import type { LayerFacts } from '../layer/inspect.js';
import { tagOfImageName } from '../reference/ref-name.js';
import { parseReference } from '../reference/reference.js';
import type { Session } from '../registry/session.js';
import type { ImageOutcome, ScanFailure } from '../report/model.js';
import type { ToolInfo } from '../report/tool.js';
import { ensureReportsDir, ReportBatch } from '../report/write.js';
import { scanImage, type ImageScan, type ScanOptions } from '../scan.js';
import { directoryStore } from '../sources/store.js';
import type { FetchedDocument } from '../sources/content.js';
import { openImages } from '../sources/index.js';
import { layoutTagDigests } from '../sources/oci-layout.js';
import { openRegistryDigest, registryImageName } from '../sources/registry.js';
import type { FactsStore, VerdictStore } from '../store/facts-store.js';
import { planAudit, targetLabel, type AuditTarget, type PlanFilters, type PlannedRef } from './plan.js';
import {
  makeRecord,
  RecordIndex,
  RecordJournal,
  recordedImageScan,
  recordedScan,
  RECORDS_DIR,
  verdictKey,
  type RecordedImage,
} from './records.js';
import { cachedScans, keepVerdict } from './verdicts.js';
import { runPool, type Pool } from './pool.js';
import { buildSummary, type AuditError, type AuditSummary, type SummaryHeader, type SummaryImage } from './summary.js';
import { findAttestation, type Expectations } from '../attest/find.js';
import type { FetchedManifest, Repository } from '../registry/repository.js';

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
  /** `--reuse-attestations`: a reference whose image has a valid attestation of its verdict (docs/attest.md) is not scanned; its report is written from the attested results. */
  readonly reuse?: Omit<Expectations, 'digest' | 'now'>;
  /** Called with each reference's scans once its report is written (`--attach`). */
  readonly afterScan?: (scans: readonly ImageScan[]) => Promise<void>;
  /** Called as each reference is done (progress). */
  readonly onReference?: (event: {
    readonly reference: string;
    readonly done: number;
    readonly total: number;
    readonly resumed: boolean;
    readonly error?: AuditError;
  }) => void;
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
 * A per-registry start rate (docs/audit.md, "How an audit runs"): `acquire` waits for the next slot. A
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

/** The start rate of each registry of an audit, and the 429s it survives (docs/audit.md, "How an audit runs"). */
class RateGates {
  readonly #gates = new Map<string, RateGate>();
  readonly #rate: number;
  readonly #concurrency: number;
  readonly #logger: Logger;
  readonly #signal: AbortSignal | undefined;

  constructor(options: Pick<AuditOptions, 'rate' | 'concurrency' | 'scan'>) {
    this.#rate = options.rate;
    this.#concurrency = options.concurrency;
    this.#logger = options.scan.logger;
    this.#signal = options.scan.signal;
  }

  #gate(ref: PlannedRef): RateGate {
    const key = registryOf(ref) ?? '';
    let g = this.#gates.get(key);
    if (!g) this.#gates.set(key, (g = new RateGate(this.#rate)));
    return g;
  }

  /** Runs `fn` through `ref`'s registry gate, trying again (slower) after a 429. */
  async run<T>(ref: PlannedRef, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.#gate(ref).acquire(this.#signal);
      try {
        return await fn();
      } catch (err) {
        if (!isRateLimited(err) || attempt >= RATE_LIMITED_TRIES || this.#signal?.aborted) throw err;
        this.#gate(ref).slowDown(this.#concurrency);
        this.#logger.warn({ reference: ref.reference }, 'registry rate-limits the audit (429): halving its rate and trying again');
      }
    }
  }
}

/** The one-line form of a failure, as the summary records it. */
function auditError(options: Pick<AuditOptions, 'describe'>, err: unknown): AuditError {
  const { code, message } = options.describe(err);
  return { code, message };
}

/**
 * What became of every reference of an audit, kept in one place: its summary entries, its
 * outcomes for the whole-audit documents (a failure always; a scan's results with
 * `keepResults`), the counts of the run, and the progress event as each reference is done.
 */
class AuditLedger {
  readonly #entries: SummaryImage[] = [];
  readonly #outcomes: ImageOutcome[] = [];
  readonly #total: number;
  readonly #options: Pick<AuditOptions, 'describe' | 'keepResults' | 'onReference' | 'reuse'>;
  #done = 0;
  #scanned = 0;
  #resumed = 0;
  #attested = 0;

  /** A ledger of `total` planned references. */
  constructor(total: number, options: Pick<AuditOptions, 'describe' | 'keepResults' | 'onReference' | 'reuse'>) {
    this.#total = total;
    this.#options = options;
  }

  /** A repository whose tags could not be listed (no reference of it was planned). */
  unlisted(repository: string, error: AuditError): void {
    this.#entries.push(failedEntry({ reference: repository, repository, tag: null }, null, error));
    this.#outcomes.push({ input: repository, failure: error });
  }

  /** `ref` could not be resolved (`digest` null) or scanned. */
  failed(ref: PlannedRef, digest: string | null, err: unknown): void {
    const error = auditError(this.#options, err);
    this.#entries.push(failedEntry(ref, digest, error));
    this.#outcomes.push({ input: ref.reference, failure: error });
    this.#finish(ref.reference, false, error);
  }

  /** `ref` was scanned now, by an earlier run with the same verdict key (`resumed`), or by whoever signed its valid attestation (`attested`). */
  recorded(ref: PlannedRef, images: readonly RecordedImage[], how: 'scanned' | 'resumed' | 'attested'): void {
    this.#entries.push(...images.map((i) => i.entry));
    if (this.#options.keepResults) this.#outcomes.push({ input: ref.reference, scans: images.map(recordedScan) });
    if (how === 'resumed') this.#resumed += 1;
    else if (how === 'attested') this.#attested += 1;
    else this.#scanned += 1;
    this.#finish(ref.reference, how === 'resumed');
  }

  #finish(reference: string, resumed: boolean, error?: AuditError): void {
    this.#done += 1;
    this.#options.onReference?.({ reference, done: this.#done, total: this.#total, resumed, ...(error ? { error } : {}) });
  }

  /** The audit's outcome: the summary under `header`, and the outcomes in summary order (reference, then platform), as the whole-audit documents list them. */
  outcome(header: Omit<SummaryHeader, 'pending' | 'run'>, listed: number): AuditOutcome {
    const summary = buildSummary(
      {
        ...header,
        pending: this.#total - this.#done,
        run: { scanned: this.#scanned, resumed: this.#resumed, ...(this.#options.reuse ? { attested: this.#attested } : {}) },
      },
      this.#entries,
    );
    const order = new Map(summary.images.map((image, i) => [image.reference, i]));
    const outcomes = [...this.#outcomes].sort((a, b) => (order.get(a.input) ?? 0) - (order.get(b.input) ?? 0));
    return { summary, outcomes, listed };
  }
}

/** What the phases of one audit share. */
interface AuditRun {
  readonly options: AuditOptions;
  readonly ledger: AuditLedger;
  readonly gates: RateGates;
  /** The manifests fetched to resolve tags, kept (within a budget) for the scan of their digest. */
  readonly primed: PrimedManifests;
  /** What earlier runs into the reports directory recorded (none with `fresh`). */
  readonly previous: RecordIndex | undefined;
  readonly journal: RecordJournal;
  readonly verdict: string;
  /** The layer facts every scan of the run shares: the store, and the inspections in flight. */
  readonly facts: { readonly store: FactsStore; readonly inFlight: Map<string, Promise<LayerFacts>>; readonly keepOutcomes: false };
  /** The repository handles its references are resolved through. */
  readonly repositories: RepositoryHandles;
  /** Where scanned verdicts are kept (./verdicts.ts), and whether this run may take them from there. */
  readonly verdicts: { readonly store: VerdictStore; readonly read: boolean } | undefined;
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

/**
 * The name `ref`'s image is reported under: a digest's images were resolved through another
 * reference of the group. A layout's tag is its ref.name read as the runtimes read it
 * (docs/checks.md, check 1); the name resolved through this very reference is kept whole (it
 * also read the entry's containerd name annotation).
 */
function nameOf(ref: PlannedRef, resolved: ImageName): ImageName {
  if (!ref.reference.startsWith('oci:')) return registryImageName(ref.reference);
  if (resolved.display === ref.reference) return resolved;
  const base = { display: ref.reference, name: resolved.name, repository: resolved.repository, tagOrigin: 'reference' } as const;
  const t = tagOfImageName(ref.tag);
  return t.digest !== undefined ? { ...base, digest: t.digest } : { ...base, tag: t.tag };
}

/** The summary entry of a reference that could not be resolved or scanned. */
function failedEntry(
  ref: Pick<PlannedRef, 'reference' | 'repository'> & { readonly tag: string | null },
  digest: string | null,
  error: AuditError,
): SummaryImage {
  return {
    reference: ref.reference,
    repository: ref.repository,
    tag: ref.tag,
    digest,
    platform: null,
    highest: null,
    failedChecks: [],
    layers: [],
    report: null,
    error,
  };
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
  return verdictKey({
    toolVersion: options.tool.version,
    policy: scan.policy,
    checks: (scan.checks ?? createChecks({}, extendedIdsOf(scan.checkSet))).map((c) => ({ id: c.id, severity: c.severity })),
    platform: scan.platform === 'all' ? 'all' : formatPlatform(scan.platform),
    allowUnscannedLayers: scan.allowUnscannedLayers ?? false,
    expiredAcceptances: expiredAcceptances(scan, now),
  });
}

/** Indexes of the acceptances of `scan`'s policy that have expired by `now`'s day (UTC). */
function expiredAcceptances(scan: ScanOptions, now: Date): number[] {
  const day = now.toISOString().slice(0, 10);
  return (scan.policy?.accept ?? []).flatMap((rule, i) => (rule.expires !== undefined && rule.expires < day ? [i] : []));
}

/** The verdicts of the run's cache (./verdicts.ts says when they are read); undefined without a cache or for a layout. */
function verdictsOf(options: AuditOptions, now: Date): AuditRun['verdicts'] {
  const store = options.scan.store.verdicts;
  if (!store || options.target.kind === 'layout') return undefined;
  const read = !options.fresh && !options.afterScan && expiredAcceptances(options.scan, now).length === 0;
  return { store, read };
}

/** Runs the audit; never throws for one image's or one repository's failure, nor when stopped (the summary is then incomplete). */
export async function runAudit(options: AuditOptions): Promise<AuditOutcome> {
  const { scan: scanOptions, reportsDir } = options;
  const signal = scanOptions.signal;
  // Each image in flight listens on the run's signal (its scan, its requests): Node's default of
  // 10 listeners would warn of a leak that is only the concurrency.
  if (signal) setMaxListeners(Math.max(getMaxListeners(signal), 16 * options.concurrency), signal);
  const header = { tool: options.tool, source: targetLabel(options.target), shard: options.filters.shard ?? null };
  let plan;
  try {
    plan = await planAudit(options.target, options.filters, {
      session: scanOptions.session,
      signal,
      describe: (err) => auditError(options, err),
    });
  } catch (err) {
    // A --repos file that does not read is the command line's fault, not the listing's.
    if (err instanceof OciScanError && err.code === 'USAGE') throw err;
    return new AuditLedger(0, options).outcome(
      { ...header, complete: false, ...(signal?.aborted ? {} : { listingError: auditError(options, err) }) },
      0,
    );
  }
  await ensureReportsDir(join(reportsDir, RECORDS_DIR));
  // One date for the run's verdict key and for whether it may read kept verdicts.
  const now = new Date();
  const run: AuditRun = {
    options,
    ledger: new AuditLedger(plan.refs.length, options),
    gates: new RateGates(options),
    primed: new PrimedManifests(PRIMED_BYTES),
    previous: options.fresh ? undefined : RecordIndex.load(reportsDir),
    journal: new RecordJournal(reportsDir),
    verdict: auditVerdictKey(options, now),
    // The audit keeps its own verdicts (./verdicts.ts), per reference: not a scan's outcomes too.
    facts: { store: scanOptions.store, inFlight: new Map(), keepOutcomes: false },
    repositories: new RepositoryHandles(scanOptions),
    verdicts: verdictsOf(options, now),
  };
  for (const f of plan.failures) run.ledger.unlisted(f.repository, f.error);
  try {
    await auditReferences(run, plan.refs);
  } finally {
    run.journal.close();
  }
  return run.ledger.outcome({ ...header, complete: !signal?.aborted }, plan.listed + plan.failures.length);
}

/**
 * Resolves every reference, and scans each distinct digest of a repository once (`scanGroup`)
 * as soon as all the references of its repository are resolved — ahead of the references
 * still to resolve, so that the scans (CPU and disk) overlap the registry's answers to the
 * others. At most `concurrency` references resolved or digests scanned at once.
 */
async function auditReferences(run: AuditRun, refs: readonly PlannedRef[]): Promise<void> {
  const { options } = run;
  const layoutDigests =
    options.target.kind === 'layout'
      ? await layoutTagDigests(directoryStore(options.target.dir, `OCI layout ${options.target.dir}`))
      : undefined;
  // Per repository, its references not resolved yet and the resolved ones to scan.
  const repositories = new Map<string, { unresolved: number; readonly toScan: Resolved[] }>();
  for (const ref of refs) {
    const repository = repositories.get(ref.repository);
    if (repository) repository.unresolved += 1;
    else repositories.set(ref.repository, { unresolved: 1, toScan: [] });
  }
  await runPool(
    refs,
    options.concurrency,
    async (ref, pool) => {
      const resolved = await resolveReference(run, ref, layoutDigests);
      const repository = repositories.get(ref.repository);
      if (!repository) return;
      if (resolved) repository.toScan.push(resolved);
      repository.unresolved -= 1;
      if (repository.unresolved > 0) return;
      repositories.delete(ref.repository);
      scanRepository(run, repository.toScan, pool);
    },
    options.scan.signal,
  );
}

/**
 * Resolves `ref` to a digest; a complete record for it (or a valid attestation) ends the
 * reference here. Returns it resolved when it is to be scanned; undefined when it is done, or
 * failed (recorded in the ledger), or the run was stopped.
 */
async function resolveReference(
  run: AuditRun,
  ref: PlannedRef,
  layoutDigests: Map<string, string> | undefined,
): Promise<Resolved | undefined> {
  const { options, ledger, primed } = run;
  const { scan: scanOptions } = options;
  const signal = scanOptions.signal;
  let digest: string;
  let fetched: FetchedManifest | undefined;
  try {
    digest = layoutDigests
      ? (layoutDigests.get(ref.tag) ?? '')
      : await run.gates.run(ref, async () => {
          fetched = await (await run.repositories.of(ref)).manifest(ref.tag, signal);
          primed.keep(`${ref.repository}\n${fetched.digest}`, {
            bytes: fetched.bytes,
            digest: fetched.digest,
            ...(fetched.contentType !== undefined ? { mediaType: fetched.contentType } : {}),
          });
          return fetched.digest;
        });
  } catch (err) {
    if (signal?.aborted) return undefined;
    ledger.failed(ref, null, err);
    return undefined;
  }
  const record = run.previous?.complete(ref.reference, digest, run.verdict);
  if (record) {
    primed.take(`${ref.repository}\n${digest}`);
    ledger.recorded(ref, record.images, 'resumed');
    return undefined;
  }
  const reused =
    options.reuse && fetched
      ? await reuseAttestation(ref, digest, fetched, options.reuse, scanOptions).catch((err: unknown) => {
          if (signal?.aborted) throw err;
          scanOptions.logger.info({ reference: ref.reference, error: options.describe(err).message }, 'attestation not read; scanning');
          return undefined;
        })
      : undefined;
  // A verdict kept by an earlier run of the same reference, digest and verdict key is what a scan would find.
  const known = reused ? [reused] : run.verdicts?.read ? cachedScans(run.verdicts.store, ref.reference, digest, run.verdict) : undefined;
  if (!known) return { ref, digest };
  const recorded = await writeReference(options.reportsDir, run.journal, ref, digest, run.verdict, known, signal);
  primed.take(`${ref.repository}\n${digest}`);
  ledger.recorded(ref, recorded, reused ? 'attested' : 'scanned');
  return undefined;
}

/** Adds to `pool` the scan of each distinct digest among a repository's resolved references (in the order they were resolved). */
function scanRepository(run: AuditRun, resolved: readonly Resolved[], pool: Pool): void {
  const groups = new Map<string, Resolved[]>();
  for (const r of resolved) {
    const group = groups.get(r.digest);
    if (group) group.push(r);
    else groups.set(r.digest, [r]);
  }
  for (const group of groups.values()) pool.first(() => scanGroup(run, group));
}

/**
 * Scans one digest of one repository: resolves its images through the first reference, runs
 * the checks per reference. The same digest in another repository is resolved again there (a
 * manifest and a config), so that each repository's own blobs and access rights are what its
 * images are judged by; its layers come from the shared facts.
 */
async function scanGroup(run: AuditRun, group: readonly Resolved[]): Promise<void> {
  const { options, ledger } = run;
  const { scan: scanOptions, reportsDir } = options;
  const signal = scanOptions.signal;
  const [first] = group;
  if (!first) return;
  let images: Image[];
  try {
    images = await run.gates.run(first.ref, () =>
      openResolved(first, scanOptions, run.primed.take(`${first.ref.repository}\n${first.digest}`)),
    );
  } catch (err) {
    if (signal?.aborted) return;
    for (const { ref, digest } of group) ledger.failed(ref, digest, err);
    return;
  }
  for (const { ref, digest } of group) {
    if (signal?.aborted) return;
    try {
      const named = images.map((image) => ({ ...image, name: nameOf(ref, image.name) }));
      const scans: ImageScan[] = [];
      for (const image of named) scans.push(await run.gates.run(ref, () => scanImage(image, scanOptions, run.facts)));
      const recorded = await writeReference(reportsDir, run.journal, ref, digest, run.verdict, scans, signal);
      if (run.verdicts) await keepVerdict(run.verdicts.store, ref.reference, digest, run.verdict, scans, recorded);
      await options.afterScan?.(scans);
      ledger.recorded(ref, recorded, 'scanned');
    } catch (err) {
      if (signal?.aborted) return;
      // A report that cannot be written is the run's failure, not the image's.
      if (err instanceof OciScanError && err.code === 'REPORT_WRITE') throw err;
      ledger.failed(ref, digest, err);
    }
  }
}

/** The manifest digest of the platform scanned in `fetched` (itself, or the one entry of an index for the platform asked for); undefined when that is not one entry. */
function platformManifest(
  fetched: FetchedManifest,
  platform: ScanOptions['platform'],
): { readonly digest: string; readonly indexDigest?: string } | undefined {
  const doc = JSON.parse(fetched.bytes.toString('utf8')) as { manifests?: unknown };
  if (!Array.isArray(doc.manifests)) return { digest: fetched.digest };
  if (platform === 'all') return undefined;
  const matching = doc.manifests.filter(
    (m: { platform?: { os?: unknown; architecture?: unknown; variant?: unknown }; digest?: unknown }) =>
      m.platform?.os === platform.os &&
      m.platform.architecture === platform.architecture &&
      (platform.variant === undefined || m.platform.variant === platform.variant) &&
      typeof m.digest === 'string',
  ) as Array<{ digest: string }>;
  const [only, more] = matching;
  return only && !more ? { digest: only.digest, indexDigest: fetched.digest } : undefined;
}

/**
 * The scan of `ref` as its valid attestation states it (docs/attest.md, "Audits that reuse
 * them"), or undefined when it has none: signed with the key, about this manifest, by this
 * major.minor, under this policy, fresh enough, and made for this very reference (the Tag
 * check and a policy's rules depend on the name). No blob of the image is read.
 */
async function reuseAttestation(
  ref: PlannedRef,
  digest: string,
  fetched: FetchedManifest,
  reuse: NonNullable<AuditOptions['reuse']>,
  options: ScanOptions & { readonly session: Session },
): Promise<ImageScan | undefined> {
  const subject = platformManifest(fetched, options.platform);
  if (!subject) return undefined;
  const parsed = parseReference(ref.reference);
  const repo = await options.session
    .registry(parsed.registry)
    .repository(parsed.repository, { logger: options.logger, signal: options.signal });
  const found = await findAttestation(repo, { ...reuse, digest: subject.digest, now: new Date() }, options.signal);
  if (!('verified' in found)) {
    options.logger.info({ reference: ref.reference, reason: found.reason, problem: found.problem }, 'no valid attestation; scanning');
    return undefined;
  }
  const attested = found.verified.image;
  let made;
  try {
    made = parseReference(attested.reference);
  } catch {
    return undefined;
  }
  if (made.registry !== parsed.registry || made.repository !== parsed.repository || made.tag !== parsed.tag) {
    options.logger.info(
      { reference: ref.reference, attestedAs: attested.reference },
      'the attestation was made for another reference; scanning',
    );
    return undefined;
  }
  const name = registryImageName(ref.reference);
  const results = attested.results.map(({ CheckSeverity: _, ...r }) => r);
  const scan = recordedImageScan({
    entry: {
      reference: ref.reference,
      repository: ref.repository,
      tag: ref.tag,
      digest,
      platform: null,
      highest: attested.highest,
      failedChecks: [],
      layers: attested.layers,
      report: null,
    },
    name,
    manifestDigest: subject.digest,
    ...(subject.indexDigest !== undefined ? { indexDigest: subject.indexDigest } : {}),
    configDigest: attested.configDigest,
    ...(attested.platform ? { platform: attested.platform } : {}),
    results,
  });
  options.logger.info(
    { reference: ref.reference, artifact: found.verified.artifact, scannedAt: found.verified.statement.predicate.scannedAt },
    'verdict reused from its attestation',
  );
  return scan;
}

/** The images of a resolved reference: by digest from its registry (`primed`: the manifest its tag was resolved with), or by tag from its layout. */
function openResolved(
  { ref, digest }: Resolved,
  options: ScanOptions & { readonly session: Session },
  primed?: FetchedDocument,
): Promise<Image[]> {
  return ref.reference.startsWith('oci:') ? openImages(ref.reference, options) : openRegistryDigest(ref.reference, digest, options, primed);
}

/**
 * One repository handle per repository of the run, made on first use: a handle costs a
 * credential lookup and a logger of its own, and a repository's tags are resolved through one.
 */
class RepositoryHandles {
  readonly #handles = new Map<string, Promise<Repository>>();
  readonly #options: ScanOptions & { readonly session: Session };

  constructor(options: ScanOptions & { readonly session: Session }) {
    this.#options = options;
  }

  /** The handle of `ref`'s repository (a registry reference's). */
  of(ref: PlannedRef): Promise<Repository> {
    let handle = this.#handles.get(ref.repository);
    if (!handle) {
      const { registry, repository } = parseReference(ref.reference);
      const { session, logger, signal } = this.#options;
      const made = session.registry(registry).repository(repository, { logger, signal });
      // A handle that could not be made (credentials unreadable) is tried again by the next reference.
      made.catch(() => {
        if (this.#handles.get(ref.repository) === made) this.#handles.delete(ref.repository);
      });
      this.#handles.set(ref.repository, made);
      handle = made;
    }
    return handle;
  }
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

/** Writes a reference's legacy report(s), then its record; returns what was recorded. */
async function writeReference(
  reportsDir: string,
  journal: RecordJournal,
  ref: PlannedRef,
  digest: string,
  verdict: string,
  scans: readonly ImageScan[],
  signal: AbortSignal | undefined,
): Promise<RecordedImage[]> {
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
