/**
 * One error class for everything oci-scan reports to a user. Each error carries a stable
 * string `code`; the CLI maps codes to exit codes (docs/errors.md) and prints `message` as one line.
 * Messages say what failed and what to do next, and never contain credentials.
 */

/** Stable error codes. Grouped by the exit code the CLI gives them (see `exitCodeFor`). */
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
  // exit 130 / 143: stopped by a signal
  | 'INTERRUPTED'
  // exit 1: a bug in oci-scan (e.g. a report that does not validate)
  | 'INTERNAL';

/** The error every oci-scan module throws for a condition a user can act on. */
export class OciScanError extends Error {
  /** Stable machine-readable code; never changes meaning between releases. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OciScanError';
    this.code = code;
  }
}

/** True when `err` is an OciScanError (optionally with one of the given codes). */
export function isOciScanError(err: unknown, ...codes: ErrorCode[]): err is OciScanError {
  return err instanceof OciScanError && (codes.length === 0 || codes.includes(err.code));
}

/** The process exit code for an error code (docs/errors.md). */
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
    case 'INTERRUPTED':
      return 130;
    case 'INTERNAL':
      return 1;
  }
}
