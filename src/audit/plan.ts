/**
 * Planning an audit (docs/audit.md, "How an audit runs"): list what the target holds — a
 * registry's catalog under a prefix, the repositories of a `--repos` file, or the tagged
 * images of an OCI layout — then filter repositories (`--include`/`--exclude` globs) and tags
 * (`--tags`, `--latest-tags`), give each reference its report file name, and keep this
 * shard's part. Resolving tags to digests and scanning is ./run.ts's.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { OciScanError } from '../errors.js';
import type { Image } from '../image/types.js';
import { parseReference } from '../reference/reference.js';
import { repositoryPath } from '../reference/repository-path.js';
import { matchesAny } from '../policy/glob.js';
import type { Session } from '../registry/session.js';
import { reportFileNames } from '../report/names.js';
import { directoryStore } from '../sources/store.js';
import { readLayoutIndex, REF_NAME } from '../sources/oci-layout.js';
import { inShard, type Shard } from './shard.js';
import type { AuditError } from './summary.js';
import { latestTags } from './tags.js';
import { mapLimit } from '../concurrency.js';

/** What an audit covers. */
export type AuditTarget =
  /** Every repository of `registry` under `prefix` ('' for all), from its catalog. */
  | { readonly kind: 'registry'; readonly registry: string; readonly prefix: string }
  /** The repositories a `--repos` file names (`HOST/REPOSITORY[:TAG]`, one a line). */
  | { readonly kind: 'repos'; readonly file: string }
  /** Every tagged image of the OCI layout `dir`. */
  | { readonly kind: 'layout'; readonly dir: string };

/** Repositories whose tags are listed at once. */
const LIST_CONCURRENCY = 8;

/**
 * Bounds on what a listing may hold in memory (docs/security.md "Limits"): a registry's catalog
 * and tag lists are paged without end in principle, and every name is kept until the plan is made.
 */
export const LISTING_LIMITS = {
  /** Repositories of a catalog under the prefix. */
  repositories: 1_000_000,
  /** Tags of one repository's list. */
  tags: 100_000,
  /** References an audit plans, after the filters. */
  references: 1_000_000,
} as const;

/** The listing limits (tests lower them). */
export type ListingLimits = { readonly [K in keyof typeof LISTING_LIMITS]: number };

/** How the listing is filtered and split. */
export interface PlanFilters {
  /** Repository globs (docs/ci.md "Policy" glob syntax): a repository must match one, when any is given. */
  readonly include: readonly string[];
  /** Repository globs: a repository that matches one is left out. */
  readonly exclude: readonly string[];
  /** Tags must match it (searched, not anchored: anchor it yourself with ^…$). */
  readonly tags?: RegExp;
  /** Only the N newest tags of each repository (./tags.ts). */
  readonly latestTags?: number;
  readonly shard?: Shard;
  /** Entries per catalog and tag-list page (`n`). */
  readonly pageSize?: number;
}

/** One reference to audit. */
export interface PlannedRef {
  /** What the shard hash is taken of: `repository:tag` (the layout's tag annotation for a layout). */
  readonly key: string;
  /** `HOST/REPOSITORY:TAG`, or `oci:DIR:TAG`. */
  readonly reference: string;
  /** `HOST/REPOSITORY`, or `oci:DIR`. */
  readonly repository: string;
  readonly tag: string;
  /** Its legacy report's file name: unique over the whole listing, the same in every shard. */
  readonly report: string;
}

/** A repository whose tags could not be listed (recorded, the audit goes on). */
export interface RepositoryFailure {
  readonly key: string;
  readonly repository: string;
  readonly error: AuditError;
}

/** The plan of this run: its references, and the repositories that failed to list (both this shard's). */
export interface Plan {
  readonly refs: readonly PlannedRef[];
  readonly failures: readonly RepositoryFailure[];
  /** References listed by the whole audit (every shard). */
  readonly listed: number;
}

/** What listing needs. */
export interface ListContext {
  readonly session: Session;
  readonly signal?: AbortSignal | undefined;
  /** Turns a failure into the one-line error the summary records. */
  readonly describe: (err: unknown) => AuditError;
  /** Default: LISTING_LIMITS. */
  readonly limits?: ListingLimits;
}

/** The largest `--repos` file read (some 150,000 names of 100 characters). */
const MAX_REPOS_BYTES = 16 * 1024 * 1024;

/** What a target is called in the summary. */
export function targetLabel(target: AuditTarget): string {
  switch (target.kind) {
    case 'registry':
      return target.prefix === '' ? target.registry : `${target.registry}/${target.prefix}`;
    case 'repos':
      return `--repos ${target.file}`;
    case 'layout':
      return `oci:${target.dir}`;
  }
}

/** True when `repository` (a path without host) passes the globs. */
function repositoryWanted(repository: string, filters: PlanFilters): boolean {
  if (filters.include.length > 0 && !matchesAny(filters.include, repository)) return false;
  return !matchesAny(filters.exclude, repository);
}

/** `tags` filtered by `--tags` and cut to `--latest-tags`. */
/** A tag of the referrers tag schema (`sha256-HEX`): an index of the artifacts attached to a manifest (docs/attest.md), no image. */
const REFERRERS_TAG = /^sha256-[0-9a-f]{64}$/;

function wantedTags(tags: readonly string[], filters: PlanFilters): string[] {
  const images = tags.filter((t) => !REFERRERS_TAG.test(t));
  const matching = filters.tags ? images.filter((t) => filters.tags?.test(t)) : images;
  return filters.latestTags === undefined ? matching : latestTags(matching, filters.latestTags);
}

/** A stand-in image for naming a report before the image is read. */
function namingImage(ref: Omit<PlannedRef, 'report'>, repository: string): Image {
  return {
    name: { display: ref.reference, name: basename(repository) || repository, repository, tag: ref.tag, tagOrigin: 'reference' },
    configDigest: '',
    config: {},
    layers: [],
  };
}

/** Report names for `refs` (in order), made unique over all of them. */
function named(refs: ReadonlyArray<{ readonly ref: Omit<PlannedRef, 'report'>; readonly path: string }>): PlannedRef[] {
  const names = reportFileNames(refs.map(({ ref, path }) => [namingImage(ref, path)]));
  return refs.map(({ ref }, i) => ({ ...ref, report: names[i] ?? '' }));
}

/** The repositories of a `--repos` file: `HOST/REPOSITORY[:TAG]` lines, `#` comments and blank lines skipped. */
export async function readReposFile(file: string): Promise<Array<{ registry: string; repository: string; tag?: string }>> {
  let text: string;
  try {
    const st = await stat(file);
    if (!st.isFile() || st.size > MAX_REPOS_BYTES) throw new Error(st.isFile() ? 'larger than 16 MiB' : 'not a file');
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new OciScanError(
      'USAGE',
      `the repository list ${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a file naming one HOST/REPOSITORY a line`,
    );
  }
  return text.split('\n').flatMap((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return [];
    if (!line.includes('/'))
      throw new OciScanError(
        'USAGE',
        `the repository list ${file}, line ${i + 1}: ${JSON.stringify(line.slice(0, 200))} is not HOST/REPOSITORY`,
      );
    let ref;
    try {
      ref = parseReference(line);
    } catch (err) {
      throw new OciScanError('USAGE', `the repository list ${file}, line ${i + 1}: ${(err as Error).message}`);
    }
    if (ref.digest !== undefined)
      throw new OciScanError('USAGE', `the repository list ${file}, line ${i + 1}: name a repository (optionally with :TAG), not a digest`);
    return [{ registry: ref.registry, repository: ref.repository, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) }];
  });
}

/** The registry repositories of the target (catalog under the prefix, or the file), before the globs. Throws when the listing fails. */
async function registryRepositories(
  target: Exclude<AuditTarget, { kind: 'layout' }>,
  filters: PlanFilters,
  context: ListContext,
): Promise<Array<{ registry: string; repository: string; tag?: string }>> {
  if (target.kind === 'repos') return readReposFile(target.file);
  const limits = context.limits ?? LISTING_LIMITS;
  const out: Array<{ registry: string; repository: string }> = [];
  const listing = context.session
    .registry(target.registry)
    .catalog({ ...(filters.pageSize ? { pageSize: filters.pageSize } : {}), signal: context.signal });
  for await (const repository of listing) {
    if (target.prefix === '' || repository === target.prefix || repository.startsWith(`${target.prefix}/`))
      out.push({ registry: target.registry, repository });
    if (out.length > limits.repositories) {
      throw new OciScanError(
        'REGISTRY_ERROR',
        `registry ${target.registry} lists more than ${limits.repositories} repositories${target.prefix === '' ? '' : ` under ${target.prefix}`}: refusing to plan an audit that large; audit a narrower prefix or a repository list`,
      );
    }
  }
  return out;
}

/** Lists and filters a registry target (the catalog's failure is the listing's: it throws). */
async function planRegistry(target: Exclude<AuditTarget, { kind: 'layout' }>, filters: PlanFilters, context: ListContext): Promise<Plan> {
  const limits = context.limits ?? LISTING_LIMITS;
  const repositories = (await registryRepositories(target, filters, context)).filter((r) => repositoryWanted(r.repository, filters));
  // Tags are listed for several repositories at once (a remote registry's round trips add
  // up over hundreds of repositories); the plan keeps the catalog's order.
  let planned = 0;
  const listed = await mapLimit(
    repositories,
    LIST_CONCURRENCY,
    async ({ registry, repository, tag }): Promise<{ readonly tags: readonly string[] } | { readonly failure: RepositoryFailure }> => {
      if (tag !== undefined) return { tags: wantedTags([tag], filters) };
      let wanted: string[];
      try {
        const repo = await context.session.registry(registry).repository(repository, { signal: context.signal });
        const tags: string[] = [];
        for await (const t of repo.tags({ ...(filters.pageSize ? { pageSize: filters.pageSize } : {}), signal: context.signal })) {
          tags.push(t);
          if (tags.length > limits.tags)
            throw new OciScanError(
              'REGISTRY_ERROR',
              `registry ${registry} lists more than ${limits.tags} tags for ${repository}: refusing to audit them all; filter its tags or leave the repository out`,
            );
        }
        // Only the wanted tags are kept, so memory follows what is audited.
        wanted = wantedTags(tags, filters);
      } catch (err) {
        context.signal?.throwIfAborted();
        return { failure: { key: `${repository}:`, repository: `${registry}/${repository}`, error: context.describe(err) } };
      }
      planned += wanted.length;
      if (planned > limits.references) {
        throw new OciScanError(
          'REGISTRY_ERROR',
          `the audit of ${targetLabel(target)} would cover more than ${limits.references} references: narrow it (repository globs, a tag pattern, or only the newest tags)`,
        );
      }
      return { tags: wanted };
    },
    { signal: context.signal },
  );
  context.signal?.throwIfAborted();
  const refs: Array<{ ref: Omit<PlannedRef, 'report'>; path: string }> = [];
  const failures: RepositoryFailure[] = [];
  for (const [i, { registry, repository }] of repositories.entries()) {
    const display = `${registry}/${repository}`;
    const result = listed[i];
    if (result === undefined) continue;
    if ('failure' in result) {
      failures.push(result.failure);
      continue;
    }
    for (const t of wantedTags(result.tags, filters))
      refs.push({
        ref: { key: `${repository}:${t}`, reference: `${display}:${t}`, repository: display, tag: t },
        path: repositoryPath(display),
      });
  }
  const all = named(refs);
  return {
    refs: all.filter((r) => inShard(r.key, filters.shard)),
    failures: failures.filter((f) => inShard(f.key, filters.shard)),
    listed: all.length,
  };
}

/** Lists and filters a layout's tagged images (the globs and `--tags` match the tag annotation). */
async function planLayout(dir: string, filters: PlanFilters): Promise<Plan> {
  const what = `OCI layout ${dir}`;
  let index;
  try {
    index = await readLayoutIndex(directoryStore(dir, what));
  } catch (err) {
    if (err instanceof OciScanError) throw err;
    throw new OciScanError(
      'SOURCE_UNREADABLE',
      `${what} could not be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): check the path given to oci:`,
    );
  }
  if (!index)
    throw new OciScanError('SOURCE_UNREADABLE', `${what} is not an OCI image layout (no index.json): check the path given to oci:`);
  // A tag names one image, or the platforms of one image (several entries with one tag).
  const names = [
    ...new Set(
      index.manifests.flatMap((e) => {
        const n = e.annotations?.[REF_NAME];
        return n ? [n] : [];
      }),
    ),
  ];
  const repository = `oci:${dir}`;
  const wanted = names.filter((n) => repositoryWanted(n, filters));
  const refs = wantedTags(wanted, filters).map((tag) => ({
    ref: { key: tag, reference: `${repository}:${tag}`, repository, tag },
    path: basename(dir.replace(/\/+$/, '')) || 'layout',
  }));
  const all = named(refs);
  return { refs: all.filter((r) => inShard(r.key, filters.shard)), failures: [], listed: all.length };
}

/** Lists, filters and splits the target; throws (exit 20) only when the listing itself fails. */
export function planAudit(target: AuditTarget, filters: PlanFilters, context: ListContext): Promise<Plan> {
  return target.kind === 'layout' ? planLayout(target.dir, filters) : planRegistry(target, filters, context);
}
