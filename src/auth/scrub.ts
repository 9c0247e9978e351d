/**
 * Removing secrets from text a server chose. A registry, a token server or a proxy may echo
 * what it was sent — the `Authorization` header, a form body, a query string — in an error
 * body, a header or a redirect; anything oci-scan shows or logs from a server passes through
 * `SecretScrubber.scrub` first (docs/security.md "Leaked credentials").
 */
import { OciScanError } from '../errors.js';
import type { Credential } from './credentials.js';

/** What a secret is replaced with. */
export const SCRUBBED = '***';

/** Every form in which `text` can come back from a server. */
function encodings(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  return [
    text,
    encodeURIComponent(text),
    // application/x-www-form-urlencoded (the refresh-token grant's body): spaces as '+'
    new URLSearchParams({ s: text }).toString().slice(2),
    JSON.stringify(text).slice(1, -1),
    // Padding dropped so that a padded and an unpadded echo both contain it.
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
  ];
}

/**
 * The secrets of one scan, and every encoding of them a server could echo: a password, the
 * `user:password` pair and its base64 (the Basic header), identity and registry tokens, and
 * the bearer tokens token servers hand out. Holds them in a private field.
 */
export class SecretScrubber {
  readonly #forms = new Set<string>();
  /** Longest first, so that a form containing another is replaced whole. */
  #sorted: string[] = [];

  /** Adds a secret (password, token) in every encoding. */
  addSecret(secret: string): void {
    if (secret === '') return;
    for (const form of encodings(secret)) if (form !== '') this.#forms.add(form);
    this.#sorted = [...this.#forms].sort((a, b) => b.length - a.length);
  }

  /** Adds the secrets of a credential: for a user and password, the password and the `user:password` pair. */
  addCredential(credential: Credential): void {
    const secret = credential.revealSecret();
    this.addSecret(secret);
    if (credential.kind === 'basic') this.addSecret(`${credential.username ?? ''}:${secret}`);
  }

  /** `text` with every known secret replaced by `***`. */
  scrub(text: string): string {
    let out = text;
    for (const form of this.#sorted) if (out.includes(form)) out = out.split(form).join(SCRUBBED);
    return out;
  }

  /** A copy of a log record (plain objects, arrays, strings) with every string scrubbed. */
  scrubRecord<T>(value: T, depth = 0): T {
    if (typeof value === 'string') return this.scrub(value) as T;
    if (depth > 8 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v: unknown) => this.scrubRecord(v, depth + 1)) as T;
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.scrubRecord(v, depth + 1);
    return out as T;
  }

  /** `err` with a scrubbed message when it is an OciScanError quoting a secret; other errors as they are. */
  scrubError(err: unknown): unknown {
    if (!(err instanceof OciScanError)) return err;
    const message = this.scrub(err.message);
    // The cause may hold the secret too and is dropped; the setting and status hold none.
    return message === err.message
      ? err
      : new OciScanError(err.code, message, {
          ...(err.setting !== undefined ? { setting: err.setting } : {}),
          ...(err.status !== undefined ? { status: err.status } : {}),
        });
  }
}
