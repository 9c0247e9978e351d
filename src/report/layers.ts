/**
 * Why a layer is there (docs/reports.md, "Layers: history and base"): each layer's history
 * entry (the build step that made it) and whether it came from the base image (inherited) or
 * was added on top of it (introduced). Both are exact or unknown, never guessed:
 *
 * - history: the config's `history` entries that are not `empty_layer`, in order, are the
 *   layers, in order; when their count is not the layer count, every layer's history is
 *   unknown (a rewritten or hand-made config: no entry can be trusted to be its layer's).
 * - base: the base config's `rootfs.diff_ids` must be a prefix of the image's (diff_ids are the
 *   uncompressed layers' digests: the same whatever the compression, which blob digests are
 *   not); the first that many layers are inherited, the others introduced.
 */
import { parseCreatedBy } from '../checks/history.js';
import { fingerprint } from '../checks/redact.js';
import { notSecretBecause, secretNameRule, shapedSecrets, shellAssignments } from '../checks/secrets-env.js';
import type { ImageConfig, HistoryEntry } from '../image/config.js';
import type { Image } from '../image/types.js';
import type { BaseSplit, ReportResult, ScannedImage } from './model.js';

export type { BaseSplit };

/** Where a layer came from, relative to the base image. */
export type LayerOrigin = 'inherited' | 'introduced';

/** One layer with why it is there; null where that is not known. */
export interface LayerDetail {
  readonly digest: string;
  /** The uncompressed layer's digest (config `rootfs.diff_ids`), when the config lists one per layer. */
  readonly diffId: string | null;
  /** The build step (`created_by`) of the layer's history entry. */
  readonly createdBy: string | null;
  /** When the step ran (RFC 3339). */
  readonly created: string | null;
  readonly comment: string | null;
  /** Null without a base split that holds (no base, or a base that is not a prefix). */
  readonly origin: LayerOrigin | null;
}

/** Annotations that name an image's base (OCI image-spec, "Pre-defined annotation keys"). */
export const BASE_NAME_ANNOTATION = 'org.opencontainers.image.base.name';
/** The base image's manifest digest. */
export const BASE_DIGEST_ANNOTATION = 'org.opencontainers.image.base.digest';

/** The history entry of each of `layerCount` layers, or undefined when the non-empty entries are not one per layer. */
export function layerHistory(config: ImageConfig, layerCount: number): HistoryEntry[] | undefined {
  const entries = (config.history ?? []).filter((h) => h.empty_layer !== true);
  return entries.length === layerCount && layerCount > 0 ? entries : undefined;
}

/** The image's diff_ids when there is one per layer. */
function diffIdsOf(image: Image): readonly string[] | undefined {
  const ids = image.config.rootfs?.diff_ids;
  return ids && ids.length === image.layers.length ? ids : undefined;
}

/**
 * How `image` relates to a base whose config lists `baseDiffIds`: a prefix (its first N
 * layers are the base's) or not. Compared by diff_id, which survives recompression.
 */
export function splitByBase(
  image: Image,
  baseDiffIds: readonly string[],
  base: Pick<BaseSplit, 'reference' | 'source' | 'digest'>,
): BaseSplit {
  const ids = diffIdsOf(image);
  if (!ids)
    return {
      ...base,
      status: 'unresolved',
      note: `the image's config lists ${image.config.rootfs?.diff_ids?.length ?? 0} diff_ids for ${image.layers.length} layers: its layers cannot be matched with the base's`,
    };
  const prefix = baseDiffIds.length <= ids.length && baseDiffIds.every((id, i) => ids[i] === id);
  if (!prefix) {
    const common = baseDiffIds.findIndex((id, i) => ids[i] !== id);
    return {
      ...base,
      status: 'not-prefix',
      note: `the base's ${baseDiffIds.length} layers are not the image's first layers (they differ from layer ${common + 1} on): the image is not built on this base`,
    };
  }
  return {
    ...base,
    status: 'prefix',
    inheritedLayers: baseDiffIds.length,
    note: `${baseDiffIds.length} of ${ids.length} layers inherited from the base`,
  };
}

/** Empty strings (docker's zero values) as null. */
function orNull(text: string | null | undefined): string | null {
  return text === undefined || text === null || text === '' ? null : text;
}

const isSecretName = secretNameRule();

/**
 * `text` (a history step) with every credential the secrets-env check would report — a known
 * token shape, a URL password, the value of a build argument or assignment with a secret's
 * name — replaced by its fingerprint (`"AKIA…" (20 chars, sha256:…)`, src/checks/redact.ts):
 * a report never repeats a secret, whichever check is on.
 */
export function redactStep(text: string): string {
  const secrets = new Set(shapedSecrets(text).map((s) => s.secret));
  const { args, buildArgs } = parseCreatedBy(text);
  const pairs = [
    ...buildArgs.map((a) => ({ name: a.slice(0, a.indexOf('=')), value: a.slice(a.indexOf('=') + 1) })),
    ...shellAssignments(args),
  ];
  for (const p of pairs) {
    const value = p.value.trim();
    if (value !== '' && isSecretName(p.name) && notSecretBecause(p.name, value) === undefined) secrets.add(value);
  }
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(fingerprint(secret));
  return out;
}

/** Each layer of `scan` with its history entry and origin (nulls where unknown). */
export function layerDetails(scan: Pick<ScannedImage, 'image' | 'base'>): LayerDetail[] {
  const { image } = scan;
  const history = layerHistory(image.config, image.layers.length);
  const ids = diffIdsOf(image);
  const inherited = scan.base?.status === 'prefix' ? (scan.base.inheritedLayers ?? 0) : undefined;
  return image.layers.map((layer, i) => {
    const h = history?.[i];
    return {
      digest: layer.digest,
      diffId: ids?.[i] ?? null,
      createdBy: orNull(h?.created_by && redactStep(h.created_by)),
      created: orNull(h?.created),
      comment: orNull(h?.comment && redactStep(h.comment)),
      origin: inherited === undefined ? null : i < inherited ? 'inherited' : 'introduced',
    };
  });
}

/**
 * Layer digest → its detail. A blob the manifest names twice is listed once: introduced when
 * any of its places is (its files are then the image's own too), with the first place's history.
 */
export function detailsByDigest(details: readonly LayerDetail[]): Map<string, LayerDetail> {
  const out = new Map<string, LayerDetail>();
  for (const d of details) {
    const seen = out.get(d.digest);
    if (!seen) out.set(d.digest, d);
    else if (d.origin === 'introduced') out.set(d.digest, { ...seen, origin: 'introduced' });
  }
  return out;
}

/**
 * A build step as a short line: the shell prefix builders add (`/bin/sh -c #(nop) `,
 * `/bin/sh -c `) and buildah's/BuildKit's `|N ARG=…` build-argument prefix dropped, runs of
 * white space as one space. Not escaped: each format escapes as it writes.
 */
export function shortStep(createdBy: string): string {
  return createdBy
    .replace(/^\|\d+ (?:\S+=\S* )*/, '')
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** `text` cut to `max` characters with `…`. */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** How many findings (listed paths, or the layer's total when more matched) of `results` are inherited, introduced, or of unknown origin. */
export function originCounts(
  results: readonly ReportResult[],
  byDigest: ReadonlyMap<string, LayerDetail>,
): Record<LayerOrigin | 'unknown', number> {
  const counts = { inherited: 0, introduced: 0, unknown: 0 };
  const add = (digest: string, n: number): void => {
    counts[byDigest.get(digest)?.origin ?? 'unknown'] += n;
  };
  for (const r of results) {
    for (const [i, layer] of (r.Files ?? []).entries()) {
      for (const [digest, paths] of Object.entries(layer)) add(digest, Math.max(paths.length, r.FileCounts?.[i]?.[digest] ?? 0));
    }
    for (const a of r.Accepted ?? []) add(a.Layer, 1);
  }
  return counts;
}
