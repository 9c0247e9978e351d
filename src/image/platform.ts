/**
 * Platforms (`os/arch[/variant]`) and the choice of one manifest from an index (SPEC §4):
 * `arm64/v8` ≡ `arm64`, `arm` ≡ `arm/v7`, BuildKit attestations (`unknown/unknown`) skipped.
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
    throw new OciScanError('USAGE', `--platform ${JSON.stringify(text)} is not os/arch[/variant] (e.g. linux/amd64, linux/arm64, linux/arm/v7) or "all"`);
  }
  const [os = '', architecture = '', variant] = parts;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** `linux/arm64`, `linux/arm/v7`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Normalises the variant so that equivalent spellings compare equal. */
function normalise(p: Platform): Platform {
  let variant = p.variant;
  if (p.architecture === 'arm64' && (variant === 'v8' || variant === undefined)) variant = undefined;
  if (p.architecture === 'arm' && variant === undefined) variant = 'v7';
  return variant ? { os: p.os, architecture: p.architecture, variant } : { os: p.os, architecture: p.architecture };
}

/** True when two platforms are the same after normalisation. */
export function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalise(a);
  const y = normalise(b);
  return x.os === y.os && x.architecture === y.architecture && x.variant === y.variant;
}

/** The index entries that are images (not attestations or other artifacts), with their platforms. */
export function imageEntries(manifests: readonly Descriptor[]): Array<Descriptor & { platform: Platform }> {
  return manifests.filter(
    (d): d is Descriptor & { platform: Platform } =>
      d.platform !== undefined &&
      d.platform.os !== 'unknown' &&
      d.platform.architecture !== 'unknown' &&
      d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest',
  );
}

/**
 * The entries of an index to scan for `wanted` (`'all'` or one platform).
 * Throws NO_MATCHING_PLATFORM listing the platforms the index has.
 */
export function choosePlatforms(manifests: readonly Descriptor[], wanted: Platform | 'all', what: string): Array<Descriptor & { platform: Platform }> {
  const entries = imageEntries(manifests);
  if (wanted === 'all') {
    if (entries.length > 0) return entries;
  } else {
    const match = entries.find((d) => samePlatform(d.platform, wanted));
    if (match) return [match];
  }
  const available = entries.map((d) => formatPlatform(d.platform)).join(', ') || 'none';
  const asked = wanted === 'all' ? 'any image platform' : formatPlatform(wanted);
  throw new OciScanError('NO_MATCHING_PLATFORM', `${what} has no image for ${asked}; available platforms: ${available} (choose one with --platform)`);
}
