/**
 * Socket, TLS and timeout failures → one-line OciScanErrors with a hint of what to do, and
 * which of them are worth another attempt (the connection failed, not the request).
 */
import { OciScanError } from '../../errors.js';
import type { TransportSettings } from '../options.js';
import { splitHostPort } from '../endpoint.js';

/** Error codes of socket-level failures worth retrying (the connection, not the request, failed). */
const RETRYABLE_NETWORK = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  // ./retry.ts: a document past its deadline, a blob below the minimum rate
  'OCI_SCAN_DEADLINE',
  'OCI_SCAN_TOO_SLOW',
]);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when a request that failed with `err` may be tried again. */
export function isRetryableNetworkError(err: unknown): boolean {
  if (err instanceof OciScanError) return false;
  const code = errorCode(err);
  return code !== undefined && RETRYABLE_NETWORK.has(code);
}

/** `16 KiB/s`, `512 B/s`. */
function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond >= 1024 ? `${Math.round((bytesPerSecond / 1024) * 10) / 10} KiB/s` : `${bytesPerSecond} B/s`;
}

/** Certificate chains that do not lead to a trusted root: a private CA, or a self-signed certificate. */
const CERT_TRUST_CODES =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_UNTRUSTED)$/;
/** Certificates that are trusted but wrong: expired, not yet valid, for another name. */
const CERT_OTHER_CODES = /^(CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|CERT_REVOKED)$/;
const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|ERR_OSSL_|HOSTNAME_MISMATCH)/;

/** What was being done, and with whom, when a connection failed. */
export interface FailedConnection {
  /** `host[:port]` of the peer (for the certificate hint). */
  readonly host: string;
  /** How messages name the peer (default `registry HOST`; a token server is named as such). */
  readonly subject?: string;
  /** What was being done ("fetching the manifest 1.0 of team/app"). */
  readonly what: string;
  readonly settings: TransportSettings;
  /** Attempts made, the failed one included. */
  readonly attempts: number;
}

/** An OciScanError for a failed connection, with a hint of what to do. */
export function networkError(err: unknown, failed: FailedConnection): OciScanError {
  if (err instanceof OciScanError) return err;
  const { host, what, settings, attempts } = failed;
  const subject = failed.subject ?? `registry ${host}`;
  const code = errorCode(err) ?? 'unknown error';
  const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new OciScanError(
        'NETWORK',
        `${subject} could not be resolved (${code}) while ${what}: check the registry name, DNS, or HTTPS_PROXY`,
        { cause: err },
      );
    case 'ECONNREFUSED':
      return new OciScanError(
        'NETWORK',
        `${subject} refused the connection while ${what}: check that it is running and the port is right`,
        { cause: err },
      );
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new OciScanError(
        'TIMEOUT',
        `could not connect to ${subject} within ${settings.connectTimeoutMs / 1000}s while ${what}${tries}: check the network, firewall or HTTPS_PROXY`,
        { cause: err },
      );
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new OciScanError(
        'TIMEOUT',
        `${subject} sent no response for ${settings.stallTimeoutMs / 1000}s while ${what}${tries}: the registry or a proxy is stuck; try again later`,
        { cause: err },
      );
    case 'UND_ERR_BODY_TIMEOUT':
      return new OciScanError(
        'TIMEOUT',
        `${subject} stopped sending data for ${settings.stallTimeoutMs / 1000}s while ${what}${tries}: the registry or a proxy is stuck; try again later`,
        { cause: err },
      );
    case 'OCI_SCAN_DEADLINE':
      return new OciScanError(
        'TIMEOUT',
        `${subject} did not send a complete answer within ${settings.requestDeadlineMs / 1000}s while ${what}${tries}: the registry or a proxy is stuck or trickling; try again later`,
        { cause: err },
      );
    case 'OCI_SCAN_TOO_SLOW':
      return new OciScanError(
        'TIMEOUT',
        `${subject} sent less than ${formatRate(settings.minBytesPerSecond)} for ${settings.throughputWindowMs / 1000}s while ${what}${tries}: the registry, a proxy or the network is too slow; try again later`,
        { cause: err },
      );
    case 'OCI_SCAN_RETRY_WINDOW':
      return new OciScanError(
        'TIMEOUT',
        `${subject} gave no answer within ${settings.retryWindowMs / 1000}s of retrying while ${what}${tries}: it is down or unreachable; try again later`,
        { cause: err },
      );
    default:
      break;
  }
  if (CERT_TRUST_CODES.test(code)) {
    return new OciScanError(
      'NETWORK',
      `the TLS certificate of ${subject} is not trusted (${code}) while ${what}: if it is signed by a private CA, trust that CA with a CA file or NODE_EXTRA_CA_CERTS=ca.pem`,
      { cause: err, setting: 'caFile' },
    );
  }
  if (CERT_OTHER_CODES.test(code)) {
    return new OciScanError(
      'NETWORK',
      `the TLS certificate of ${subject} was rejected (${code}) while ${what}: check that it is valid and names ${splitHostPort(host).hostname}`,
      { cause: err },
    );
  }
  if (TLS_CODES.test(code)) {
    return new OciScanError(
      'NETWORK',
      `TLS connection to ${subject} failed (${code}) while ${what}: if it speaks plain HTTP, declare ${host} an insecure registry; else trust its CA with a CA file or NODE_EXTRA_CA_CERTS`,
      { cause: err, setting: 'caFile' },
    );
  }
  return new OciScanError('NETWORK', `connection to ${subject} failed (${code}) while ${what}${tries}: check the network and try again`, {
    cause: err,
  });
}
