/**
 * What `secrets-env` takes for a credential (docs/checks.md, "Extended checks" and "Tunable
 * data"). Data, not code: a policy adds and removes key words (`data.secretEnv`).
 */

/**
 * Key words: a variable whose name holds one of these as whole `_`-separated parts
 * (`DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`), or, for a one-part word of five letters or more, a
 * part ending in it (`DBPASSWORD`), names a credential. Upper case; camelCase names are split
 * (`dbPassword`), `-` and `.` separate parts as `_` does.
 */
export const SECRET_KEY_WORDS: readonly string[] = [
  'PASSWORD',
  'PASSWD',
  'PASSPHRASE',
  'SECRET',
  'TOKEN',
  'API_KEY',
  'APIKEY',
  'ACCESS_KEY',
  'PRIVATE_KEY',
  'SECRET_KEY',
  'CLIENT_SECRET',
  'CREDENTIAL',
  'CREDENTIALS',
  'AUTH_KEY',
  'ENCRYPTION_KEY',
  'SIGNING_KEY',
  'MASTER_KEY',
  'DB_PASS',
];

/**
 * Last name parts that make a variable hold something about a credential, not the credential:
 * a version, a checksum, a location (`*_URL` with credentials in it is still found by its value).
 */
export const NON_SECRET_SUFFIXES: readonly string[] = [
  'VERSION',
  'SHA',
  'SHA1',
  'SHA256',
  'SHA512',
  'MD5',
  'CHECKSUM',
  'HASH_ALGORITHM',
  'URL',
  'URI',
  'HOST',
  'PORT',
  'ENDPOINT',
  'FILE',
  'PATH',
  'DIR',
  'LENGTH',
  'EXPIRY',
  'TTL',
  'TIMEOUT',
  'ENABLED',
  'MODE',
  'TYPE',
  'HEADER',
  'NAME',
  'USER',
  'USERNAME',
];

/** Values that are never credentials: flags and placeholders. */
export const NON_SECRET_VALUES: readonly string[] = [
  'true',
  'false',
  'yes',
  'no',
  'on',
  'off',
  '0',
  '1',
  'none',
  'null',
  'nil',
  'disabled',
  'enabled',
  'required',
  'optional',
];

/** Credentials recognised by their shape, whatever the variable is called. */
export const SECRET_SHAPES: ReadonlyArray<{ readonly kind: string; readonly pattern: RegExp }> = [
  { kind: 'AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { kind: 'GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g },
  { kind: 'GitHub token', pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g },
  { kind: 'GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}/g },
  { kind: 'Slack token', pattern: /\bxox[baprs]-[A-Za-z0-9-]{10,}/g },
  { kind: 'npm token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { kind: 'PyPI token', pattern: /\bpypi-[A-Za-z0-9_-]{16,}/g },
  { kind: 'private key', pattern: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----/g },
];
