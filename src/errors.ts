/**
 * One error class for everything oci-scan reports to a user. Each error carries a stable
 * string `code`, which `exitCodeFor` maps to the CLI's exit code (docs/errors.md; the library
 * exports it too), and the CLI prints `message` as one line (`oneLine` keeps server text so). Messages say what failed and what to do next, never contain
 * credentials, and never name a command-line flag or environment variable: an error that a
 * setting can get past names that setting in `setting`, and the CLI adds its flag.
 */

/** Stable error codes, grouped by the exit code the CLI gives them (docs/errors.md). */
export type ErrorCode =
  // exit 2: the command line or a policy file is wrong
  | 'USAGE'
  // exit 20: the image could not be pulled / opened
  | 'INVALID_REFERENCE'
  | 'SOURCE_NOT_FOUND'
  | 'SOURCE_UNREADABLE'
  | 'IMAGE_NOT_FOUND'
  | 'AUTH_FAILED'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'REGISTRY_ERROR'
  | 'DIGEST_MISMATCH'
  | 'LAYER_CORRUPT'
  | 'LAYER_TOO_LARGE'
  // exit 21: image metadata could not be read or is invalid
  | 'INVALID_MANIFEST'
  | 'INVALID_CONFIG'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NO_MATCHING_PLATFORM'
  // exit 22: no image given
  | 'NO_IMAGE'
  // exit 23: the report could not be written
  | 'REPORT_WRITE'
  // exit 24: the scan's verdict could not be attached to its image (docs/attest.md)
  | 'ATTACH_FAILED'
  // exit 25: `verify` found no valid attestation (none, bad signature, another image, policy or version, too old)
  | 'NO_VALID_ATTESTATION'
  // exit 130 / 143: stopped by a signal
  | 'INTERRUPTED'
  // exit 1: a bug in oci-scan (e.g. a report that does not validate)
  | 'INTERNAL';

/**
 * A setting of a scan that gets past an error (`ScanOptions` and the CLI both have it, under
 * their own names): the image to scan, the platform, the layer size limit, the registry
 * CA file, insecure registries, registry mirrors, the reports directory.
 */
export type ErrorSetting = 'image' | 'platform' | 'maxLayerBytes' | 'caFile' | 'insecureRegistries' | 'registryMirrors' | 'reportsDir';

/** The error every oci-scan module throws for a condition a user can act on. */
export class OciScanError extends Error {
  /** Stable machine-readable code; never changes meaning between releases. */
  readonly code: ErrorCode;
  /** The setting to change to get past this error, when there is one (the CLI names its flag). */
  readonly setting?: ErrorSetting;
  /** The HTTP status of a registry's refusal (429: rate-limited), when the error is one. */
  readonly status?: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; setting?: ErrorSetting; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OciScanError';
    this.code = code;
    if (options?.setting !== undefined) this.setting = options.setting;
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** True when `err` is an OciScanError (optionally with one of the given codes). */
export function isOciScanError(err: unknown, ...codes: ErrorCode[]): err is OciScanError {
  return err instanceof OciScanError && (codes.length === 0 || codes.includes(err.code));
}

/** The exit status of a failure that is a bug in oci-scan (not an OciScanError). */
export const INTERNAL_ERROR_EXIT = 1;

/** The process exit code for an error code. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
      return 2;
    case 'INVALID_REFERENCE':
    case 'SOURCE_NOT_FOUND':
    case 'SOURCE_UNREADABLE':
    case 'IMAGE_NOT_FOUND':
    case 'AUTH_FAILED':
    case 'NETWORK':
    case 'TIMEOUT':
    case 'REGISTRY_ERROR':
    case 'DIGEST_MISMATCH':
    case 'LAYER_CORRUPT':
    case 'LAYER_TOO_LARGE':
      return 20;
    case 'INVALID_MANIFEST':
    case 'INVALID_CONFIG':
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'NO_MATCHING_PLATFORM':
      return 21;
    case 'NO_IMAGE':
      return 22;
    case 'REPORT_WRITE':
      return 23;
    case 'ATTACH_FAILED':
      return 24;
    case 'NO_VALID_ATTESTATION':
      return 25;
    case 'INTERRUPTED':
      return 130;
    case 'INTERNAL':
      return INTERNAL_ERROR_EXIT;
  }
}

/** One line of at most `max` characters: server text is never trusted to be short or single-line. */
export function oneLine(text: string, max = 200): string {
  const flat = text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e\u00a0-\uffff]/g, '')
    .trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
