/**
 * Platforms (`os/arch[/variant]`) and the choice of manifests from an index, the way the
 * container runtimes choose them (containerd's `platforms` package, which Docker and
 * Kubernetes use): names are normalised (`aarch64` = `arm64`, `arm64/v8` = `arm64`, `arm` =
 * `arm/v7`, `x86_64` = `amd64`, case ignored), a platform also accepts the older ones it can
 * run (`arm64` runs `arm/v8`…`arm/v5`, `amd64` runs `386`), and among the entries that match,
 * the best one wins, the first in index order among equals. See docs/registry.md "Platforms".
 */
import { OciScanError } from '../errors.js';
import type { Descriptor } from './manifest.js';

/** A target platform. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** The platform scanned when the user names none. */
export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/** Parses `os/arch[/variant]`; throws USAGE on anything else. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new OciScanError(
      'USAGE',
      `platform ${JSON.stringify(text)} is not os/arch[/variant] (e.g. linux/amd64, linux/arm64, linux/arm/v7) or "all"`,
      { setting: 'platform' },
    );
  }
  const [os = '', architecture = '', variant] = parts;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** `linux/arm64`, `linux/arm/v7`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** A platform in canonical form: every field lower case, variant '' when it is the default one. */
interface Canonical {
  readonly os: string;
  readonly architecture: string;
  readonly variant: string;
}

/** containerd's `Normalize` (normalizeOS + normalizeArch); an empty OS is Linux, the only OS oci-scan scans. */
export function normalisePlatform(p: Platform): Canonical {
  let os = p.os.toLowerCase();
  if (os === '') os = 'linux';
  if (os === 'macos') os = 'darwin';
  let architecture = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (architecture) {
    case 'i386':
      architecture = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '8' || variant === 'v8') variant = '';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
    default:
      break;
  }
  return { os, architecture, variant };
}

/** The `vN` variant number, or NaN. */
function variantNumber(variant: string): number {
  const text = variant.replace(/^v/, '');
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

/**
 * containerd's `platformVector`: the platforms a machine of `p` (canonical) runs, best first.
 * amd64/vN runs amd64/vN-1…v1 and 386; arm/vN runs arm/vN-1…v5; arm64/v8.x and v9.x run the
 * lower arm64 minors and then arm/v8…v5.
 */
function platformVector(p: Canonical): Canonical[] {
  const vector: Canonical[] = [p];
  const same = (architecture: string, variant: string): Canonical => ({ os: p.os, architecture, variant });
  switch (p.architecture) {
    case 'amd64': {
      const version = variantNumber(p.variant);
      if (version > 1) for (let v = version - 1; v >= 1; v--) vector.push(same('amd64', `v${v}`));
      vector.push(same('386', ''));
      break;
    }
    case 'arm': {
      const version = variantNumber(p.variant);
      if (version > 5) for (let v = version - 1; v >= 5; v--) vector.push(same('arm', `v${v}`));
      break;
    }
    case 'arm64': {
      let variant = p.variant === '' ? 'v8' : p.variant;
      const [majorText = '', minorText] = variant.split('.', 2);
      let major = variantNumber(majorText);
      if (major >= 8) {
        // containerd reads a minor only from four-character variants ("v8.2").
        let minor = variant.length === 4 && minorText !== undefined && /^\d+$/.test(minorText) ? Number(minorText) : 0;
        const minors = (m: number, from: number): void => {
          for (let n = from - 1; n >= 0; n--) vector.push(same('arm64', n === 0 ? `v${m}` : `v${m}.${n}`));
        };
        if (major === 9) {
          minors(9, minor);
          // v9.x is compatible with v8.(x+5), up to v8.9.
          minor = Math.min(minor + 5, 9);
          major = 8;
          vector.push(same('arm64', `v8.${minor}`));
        }
        minors(major, minor);
      }
      // Every arm64 runs 32-bit arm up to v8.
      if (variant.startsWith('v8.') || variant.startsWith('v9.')) variant = 'v8';
      vector.push(...platformVector(same('arm', variant)));
      break;
    }
    default:
      break;
  }
  return vector;
}

/** containerd's default matcher: the normalised `m` equals the normalised candidate. */
function matchesExactly(matcher: Canonical, candidate: Platform): boolean {
  const m = normalisePlatform(matcher);
  const c = normalisePlatform(candidate);
  return m.os === c.os && m.architecture === c.architecture && m.variant === c.variant;
}

/**
 * How well `candidate` suits a machine of platform `wanted` (containerd's `Only` matcher and
 * its `Less` order): 0 is an exact match, higher is a fallback, undefined does not run.
 */
export function platformRank(wanted: Platform, candidate: Platform): number | undefined {
  const rank = platformVector(normalisePlatform(wanted)).findIndex((m) => matchesExactly(m, candidate));
  return rank < 0 ? undefined : rank;
}

/**
 * True for an entry no image runs on: `unknown/unknown`, the platform BuildKit gives its
 * attestation manifests (which also carry `vnd.docker.reference.type: attestation-manifest`).
 * An annotation alone never makes an entry an attestation: a real platform is a real image.
 */
export function isUnknownPlatform(d: Descriptor): boolean {
  return d.platform?.os === 'unknown' && d.platform.architecture === 'unknown';
}

/** An index entry that may be the image to scan, and its platform when the index names one. */
export interface IndexCandidate {
  readonly descriptor: Descriptor;
  /** The entry's platform as the index writes it; undefined when the index names none (the config decides). */
  readonly platform?: Platform;
}

function asPlatform(d: Descriptor): Platform | undefined {
  const p = d.platform;
  if (!p) return undefined;
  return p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
}

/**
 * The entries of an index worth opening for `wanted`, in the order to try them.
 * One platform: the entries whose platform matches, best rank first and index order among
 * equals, then the entries without a platform (their config decides, as containerd does).
 * `all`: every entry except `unknown/unknown` ones, in index order.
 */
export function indexCandidates(manifests: readonly Descriptor[], wanted: Platform | 'all'): IndexCandidate[] {
  if (wanted === 'all') {
    return manifests
      .filter((d) => !isUnknownPlatform(d))
      .map((d) => {
        const platform = asPlatform(d);
        return platform ? { descriptor: d, platform } : { descriptor: d };
      });
  }
  const ranked: Array<IndexCandidate & { platform: Platform; rank: number }> = [];
  const unplatformed: IndexCandidate[] = [];
  for (const d of manifests) {
    const platform = asPlatform(d);
    if (!platform) {
      unplatformed.push({ descriptor: d });
      continue;
    }
    const rank = platformRank(wanted, platform);
    if (rank !== undefined) ranked.push({ descriptor: d, platform, rank });
  }
  // Array.prototype.sort is stable: equal ranks keep their index order.
  ranked.sort((a, b) => a.rank - b.rank);
  return [...ranked.map(({ descriptor, platform }) => ({ descriptor, platform })), ...unplatformed];
}

/**
 * indexCandidates when the runtimes read an index's entries differently (ImageIndex.readings:
 * an entry without a platform, or whose `platform` ends `null`, has none for image-spec's
 * pointer — containerd lets its config decide — and an empty one for docker's and
 * containers/image's struct, which never match). `readings[0]` is the one oci-scan keeps; the
 * others are aligned with it. With `all`, an entry any reading keeps is kept. For one
 * platform, a reading with no candidate is a runtime that runs nothing; the others must agree
 * on the entry to run — the same candidates, or the same first candidate naming a platform in
 * each — else the index is refused: oci-scan cannot scan the image one runtime runs and pass
 * the one another runs (docs/architecture.md "Reading JSON as the runtimes do").
 */
export function candidatesAcrossReadings(
  readings: ReadonlyArray<readonly Descriptor[]>,
  wanted: Platform | 'all',
  what: string,
): IndexCandidate[] {
  const [primary = [], ...others] = readings;
  const mine = indexCandidates(primary, wanted);
  if (others.length === 0) return mine;
  const positions = (reading: readonly Descriptor[]): Array<{ at: number; platformed: boolean }> =>
    indexCandidates(reading, wanted).map((c) => ({ at: reading.indexOf(c.descriptor), platformed: c.platform !== undefined }));
  const all = readings.map(positions);
  if (wanted === 'all') {
    const kept = new Set(all.flatMap((p) => p.map((x) => x.at)));
    const extra = [...kept].filter((at) => !mine.some((c) => c.descriptor === primary[at])).sort((a, b) => a - b);
    return [...mine, ...extra.flatMap((at) => (primary[at] ? [{ descriptor: primary[at] }] : []))];
  }
  const running = all.filter((p) => p.length > 0);
  const key = (p: ReadonlyArray<{ at: number; platformed: boolean }>): string =>
    p.map((x) => `${x.at}${x.platformed ? 'p' : ''}`).join(',');
  const [first] = running;
  if (first === undefined || running.every((p) => key(p) === key(first)))
    return mine.length > 0 ? mine : candidatesAt(primary, first ?? []);
  const [head] = first;
  if (head !== undefined && running.every((p) => p[0]?.at === head.at && p[0].platformed)) return candidatesAt(primary, [head]);
  throw new OciScanError(
    'INVALID_MANIFEST',
    `${what} lists entries whose platform the container runtimes read differently (no platform, or "platform": null after one), so they would run different images for ${formatPlatform(wanted)}: refusing an ambiguous index`,
  );
}

/** The entries at `positions` of `primary`, with the platform each names there. */
function candidatesAt(primary: readonly Descriptor[], positions: ReadonlyArray<{ at: number }>): IndexCandidate[] {
  return positions.flatMap(({ at }) => {
    const d = primary[at];
    if (d === undefined) return [];
    const p = d.platform;
    return [
      p
        ? {
            descriptor: d,
            platform: p.variant
              ? { os: p.os, architecture: p.architecture, variant: p.variant }
              : { os: p.os, architecture: p.architecture },
          }
        : { descriptor: d },
    ];
  });
}
