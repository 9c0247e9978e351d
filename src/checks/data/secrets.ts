/**
 * The rules of the `secret-files` check (docs/checks.md, "Extended checks: the filesystem"). Data,
 * not code: a policy adds and removes names and rules (`data.secretFiles`), the scanner
 * (../secret-scan.ts) only runs them. High-signal rules only: each names a credential by a
 * format its issuer documents (a fixed prefix, a fixed length, a PEM armour) or a file whose
 * purpose is to hold one; no entropy guesses.
 */

/** A token found in a file: where, and the value (hashed before it leaves the scanner). */
export interface Hit {
  /** 0-based character offset in the text (the scanner turns it into a line number). */
  readonly index: number;
  readonly secret: string;
}

/** A rule over a text file's content. */
export interface ContentRule {
  readonly id: string;
  /** Global regex; the secret is capture group `group` (default 1; the whole match when there is no such group). */
  readonly regex: RegExp;
  readonly group?: number;
  /** Literals one of which the text must contain before the regex runs (cheap prefilter); none: always run. */
  readonly anchors?: readonly string[];
  /** A value that is a documented example, not a credential (AWS's `…EXAMPLE` keys). */
  readonly ignore?: (secret: string) => boolean;
  /** The text must match this too (a service-account key is JSON with `"type": "service_account"`). */
  readonly requires?: RegExp;
}

/** A rule over a file's name, optionally with a condition on its content. */
export interface NameRule {
  readonly id: string;
  /** Exact base names. */
  readonly names?: readonly string[];
  /** Base name endings (`.p12`). */
  readonly suffixes?: readonly string[];
  /** Path endings, a `/` first (`/.aws/credentials`). */
  readonly pathSuffixes?: readonly string[];
  /** Base names that start with one of these (`.env.`) but do not end with an `exceptSuffixes` entry. */
  readonly prefixes?: readonly string[];
  readonly exceptSuffixes?: readonly string[];
  /**
   * The credentials the text holds; absent: the name alone is the finding (the file's purpose is
   * to hold one). A binary file (or one too large to read) never passes a content condition.
   */
  readonly content?: (text: string) => readonly Hit[];
}

/** Every match of `regex` in `text` as hits, the secret being group `group`. */
export function hitsOf(text: string, regex: RegExp, group = 1): Hit[] {
  const out: Hit[] = [];
  for (const m of text.matchAll(regex)) {
    const secret = m[group] ?? m[0];
    if (secret !== '') out.push({ index: (m.index ?? 0) + m[0].indexOf(secret), secret });
  }
  return out;
}

/** A value that only names where the real one comes from: `${NPM_TOKEN}`, `<token>`, empty. */
export function isPlaceholder(value: string): boolean {
  return /^(?:\$|<|%|\{\{|changeme$|change_me$|xxx+$|\*+$|your[_-]|example|placeholder|dummy|redacted)/i.test(value);
}

/** Keys of `KEY=value` lines in a dotenv file that name a credential. */
const SECRET_KEY = /(?:TOKEN|SECRET|PASSW(?:OR)?D|(?:^|_)PWD|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH)/i;

/** Credentials in a dotenv file: `NAME=value` lines whose name says credential and whose value is not a placeholder. */
function dotenvHits(text: string): Hit[] {
  const out: Hit[] = [];
  for (const m of text.matchAll(/^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#]+))/gm)) {
    const value = m[2] ?? m[3] ?? m[4] ?? '';
    if (!SECRET_KEY.test(m[1] ?? '') || value.length < 8 || isPlaceholder(value)) continue;
    out.push({ index: (m.index ?? 0) + m[0].lastIndexOf(value), secret: value });
  }
  return out;
}

/** Values of an assignment (`key = value` / `key=value`) whose key matches, placeholders left out. */
function assignmentHits(text: string, regex: RegExp): Hit[] {
  return hitsOf(text, regex).filter((h) => !isPlaceholder(h.secret));
}

/** Credentials in a Docker `config.json`: `auths.*.auth`, `identitytoken`, `registrytoken`, `password` (a `credsStore` holds none). */
function dockerConfigHits(text: string): Hit[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (auths === null || typeof auths !== 'object') return [];
  const out: Hit[] = [];
  for (const entry of Object.values(auths as Record<string, unknown>)) {
    if (entry === null || typeof entry !== 'object') continue;
    for (const key of ['auth', 'identitytoken', 'registrytoken', 'password']) {
      const value = (entry as Record<string, unknown>)[key];
      if (typeof value !== 'string' || value === '') continue;
      const at = text.indexOf(JSON.stringify(value));
      out.push({ index: at < 0 ? 0 : at + 1, secret: value });
    }
  }
  return out;
}

/** The built-in content rules. */
export const CONTENT_RULES: readonly ContentRule[] = [
  {
    id: 'private-key',
    // The armour, optional headers (`Proc-Type:` of an encrypted PEM, `Version:` of PGP), and a body: a public key or a certificate has another armour.
    regex: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY(?: BLOCK)?-----[ \t]*\r?\n(?:[A-Za-z-]+:[^\n]*\r?\n)*(?:[ \t]*\r?\n)?([A-Za-z0-9+/=]{40,})/g,
    group: 2,
    anchors: ['PRIVATE KEY'],
  },
  {
    id: 'aws-access-key-id',
    regex: /\b(AKIA[0-9A-Z]{16})\b/g,
    anchors: ['AKIA'],
    ignore: (s) => s.endsWith('EXAMPLE'),
  },
  {
    id: 'aws-secret-access-key',
    regex: /(?:aws_?)?secret_?access_?key["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    anchors: ['ecret_access_key', 'ECRET_ACCESS_KEY', 'ecretAccessKey', 'ecretaccesskey'],
    ignore: (s) => s.includes('EXAMPLE'),
  },
  { id: 'github-token', regex: /\b(gh[pousr]_[A-Za-z0-9]{36,255})\b/g, anchors: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'] },
  { id: 'github-fine-grained-token', regex: /\b(github_pat_[A-Za-z0-9_]{50,255})\b/g, anchors: ['github_pat_'] },
  { id: 'gitlab-token', regex: /\b(glpat-[0-9A-Za-z_-]{20,})/g, anchors: ['glpat-'] },
  { id: 'slack-token', regex: /\b(xox[baprs]-(?:[0-9]+-){1,3}[0-9A-Za-z]{8,})/g, anchors: ['xox'] },
  { id: 'npm-token', regex: /\b(npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])/g, anchors: ['npm_'] },
  { id: 'pypi-token', regex: /(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})/g, anchors: ['pypi-AgEIcHlwaS5vcmc'] },
  {
    id: 'gcp-service-account-key',
    regex: /"private_key"\s*:\s*"(-----BEGIN [A-Z ]*PRIVATE KEY-----[^"]{40,})"/g,
    anchors: ['service_account'],
    requires: /"type"\s*:\s*"service_account"/,
  },
];

/** The built-in name rules. */
export const NAME_RULES: readonly NameRule[] = [
  { id: 'ssh-private-key-file', names: ['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'id_ecdsa_sk', 'id_ed25519_sk'] },
  { id: 'keystore', suffixes: ['.p12', '.pfx', '.jks', '.keystore'] },
  { id: 'credentials-json', names: ['credentials.json'] },
  { id: 'aws-credentials-file', pathSuffixes: ['/.aws/credentials'] },
  {
    id: 'gcloud-credentials',
    names: ['application_default_credentials.json'],
    pathSuffixes: ['/gcloud/credentials.db', '/gcloud/access_tokens.db'],
  },
  { id: 'azure-credentials', pathSuffixes: ['/.azure/accessTokens.json', '/.azure/msal_token_cache.json'] },
  {
    id: 'dotenv-secret',
    names: ['.env'],
    prefixes: ['.env.'],
    exceptSuffixes: ['.example', '.sample', '.template', '.dist', '.defaults', '.default', '.schema', '.tmpl'],
    content: dotenvHits,
  },
  {
    id: 'npmrc-token',
    names: ['.npmrc'],
    content: (t) => assignmentHits(t, /^[ \t]*(?:\S*:)?(?:_authToken|_auth|_password)[ \t]*=[ \t]*"?([^\s"]+)/gm),
  },
  { id: 'pypirc-password', names: ['.pypirc'], content: (t) => assignmentHits(t, /^[ \t]*password[ \t]*[=:][ \t]*(\S+)/gm) },
  { id: 'git-credentials', names: ['.git-credentials'], content: (t) => assignmentHits(t, /\bhttps?:\/\/[^:\s/@]+:([^@\s]+)@/g) },
  { id: 'docker-config-auth', pathSuffixes: ['/.docker/config.json'], content: dockerConfigHits },
];

/**
 * Extensions of text files the content rules read (besides the name rules' files and the
 * dotfiles of home directories): configuration, scripts, keys.
 */
export const CONTENT_EXTENSIONS: readonly string[] = [
  '.env',
  '.json',
  '.yml',
  '.yaml',
  '.toml',
  '.conf',
  '.cfg',
  '.ini',
  '.properties',
  '.txt',
  '.sh',
  '.bash',
  '.zsh',
  '.py',
  '.js',
  '.mjs',
  '.cjs',
  '.ts',
  '.rb',
  '.php',
  '.go',
  '.java',
  '.xml',
  '.pem',
  '.key',
  '.tf',
  '.tfvars',
  '.npmrc',
  '.netrc',
];

/**
 * Trees the content rules do not read: what package managers install (a credential there is a
 * vendor's bug, not the image builder's; they are most of an image's text), and the runtime's
 * mounts. The name rules still apply there.
 */
export const CONTENT_SKIPPED_TREES: readonly string[] = [
  '/usr/share/',
  '/usr/lib/',
  '/usr/lib64/',
  '/usr/include/',
  '/lib/',
  '/lib64/',
  '/proc/',
  '/sys/',
  '/dev/',
];

/** Directory names below which the content rules do not read (installed packages, version control objects). */
export const CONTENT_SKIPPED_DIRS: readonly string[] = ['node_modules', 'site-packages', 'dist-packages', '.git'];

/** Largest file the content rules read (docs/checks.md): a credential file is small. */
export const MAX_SCANNED_FILE_BYTES = 1024 * 1024;

/** Bytes of a file looked at for a NUL: one means binary, and only the name rules apply. */
export const TEXT_SNIFF_BYTES = 8192;
