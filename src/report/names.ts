/**
 * Report file names (docs/reports.md, "Report file names"): `<repository>_<tag>[_<platform>]-compliance.json`.
 * Every part but the fixed suffix may come from the image (an archive's annotations and
 * RepoTags, an index's platform strings), so each is reduced to a safe character set and a
 * bounded length, and names are made unique within a run: whatever an image says, its report
 * lands inside the reports directory, in a file of its own, under a name the file system takes.
 */
import { createHash } from 'node:crypto';
import { formatPlatform } from '../image/platform.js';
import type { Image } from '../image/types.js';

/** The longest report file name (bytes): leaves room under NAME_MAX (255) for the temp-file prefix and suffix. */
export const MAX_FILE_NAME_BYTES = 200;

const SUFFIX = '-compliance.json';
/** Byte budgets of the parts; with separators, SUFFIX and a uniqueness suffix they stay ≤ MAX_FILE_NAME_BYTES. */
const BUDGET = { repository: 88, tag: 48, platform: 24 } as const;
const HASH_CHARS = 12;

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_CHARS);
}

/**
 * A file-name-safe part: letters, digits, `.`, `_` and `-` (anything else becomes `-`), no
 * leading dot (no hidden files, no `..`), never empty, at most `max` bytes — a longer part is
 * cut and ends in a hash of the whole, so that two long names that share a prefix stay apart.
 */
export function safePart(text: string, max: number): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^\.+/, '_') || '_';
  if (cleaned.length <= max) return cleaned;
  return `${cleaned.slice(0, max - HASH_CHARS - 1)}-${shortHash(text)}`;
}

/** The tag part: the tag, else `sha256-<12 hex>` of the pinned (or manifest) digest. */
function tagPart(image: Image): string {
  if (image.name.tag !== undefined) return image.name.tag;
  const digest = image.name.digest ?? image.manifestDigest ?? image.configDigest;
  const [algorithm = 'sha256', hex = ''] = digest.split(':');
  return `${algorithm}-${hex.slice(0, 12)}`;
}

/** The file name of one image's report, before run-level de-duplication; `withPlatform` when its IMAGE was scanned for several platforms. */
export function reportFileName(image: Image, withPlatform: boolean): string {
  const repository = safePart(image.name.repository.replace(/\//g, '_'), BUDGET.repository);
  const tag = safePart(tagPart(image), BUDGET.tag);
  const platform = withPlatform
    ? `_${image.platform ? safePart(formatPlatform(image.platform).replace(/\//g, '-'), BUDGET.platform) : 'unknown-platform'}`
    : '';
  return `${repository}_${tag}${platform}${SUFFIX}`;
}

/** Everything that tells one image of a run from another, unsanitised. */
function identity(image: Image): string {
  const p = image.platform;
  return JSON.stringify([image.name.display, p?.os, p?.architecture, p?.variant, image.manifestDigest ?? null, image.configDigest]);
}

/**
 * File names for the images of one run, `groups` holding the images of each IMAGE in argument
 * order; returned flat, in the same order. The platform is part of a name when one IMAGE was
 * scanned for several platforms. Names that would coincide (compared without case, for
 * case-insensitive file systems) all get `_<12 hex>` of the image's full, unsanitised identity
 * (reference, platform, digests) before the suffix; identical images get `-2`, `-3`.
 * Deterministic: the same run always gives the same names.
 */
export function reportFileNames(groups: readonly (readonly Image[])[]): string[] {
  const images = groups.flat();
  const bases = groups.flatMap((group) => group.map((image) => reportFileName(image, group.length > 1)));
  const counts = new Map<string, number>();
  for (const b of bases) counts.set(b.toLowerCase(), (counts.get(b.toLowerCase()) ?? 0) + 1);
  const used = new Set<string>();
  return bases.map((base, i) => {
    const stem = base.slice(0, -SUFFIX.length);
    let name = (counts.get(base.toLowerCase()) ?? 0) > 1 ? `${stem}_${shortHash(identity(images[i] as Image))}${SUFFIX}` : base;
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${stem}_${shortHash(identity(images[i] as Image))}-${n}${SUFFIX}`;
    used.add(name.toLowerCase());
    return name;
  });
}
