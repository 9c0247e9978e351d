/**
 * One error class for everything oci-scan reports to a user. Each error carries a stable
 * string `code`; the CLI maps codes to exit codes (src/cli/exit-codes.ts, docs/errors.md) and
 * prints `message` as one line. Messages say what failed and what to do next, never contain
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
