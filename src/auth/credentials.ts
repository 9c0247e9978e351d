/**
 * Credentials for a registry, from the sources docs/registry.md lists, first match wins:
 *   1. `DOCKER_AUTH_CONFIG` (a config.json document, as GitLab CI provides it, or the path of a
 *      file holding one, as a GitLab file-type variable provides it),
 *   2. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`,
 *   3. `$REGISTRY_AUTH_FILE` (podman / skopeo),
 *   4. `$XDG_RUNTIME_DIR/containers/auth.json` (podman's default).
 * Within one document: `credHelpers[host]`, then a matching `auths` entry, then `credsStore`.
 *
 * Hosts match exactly (after dropping a scheme and a `/v1/`-style path), never by suffix or
 * prefix: a credential for `registry.example.com` must not be sent to
 * `registry.example.com.evil.net` (sigstore-js `credentials.ts` makes the same choice). Docker
 * Hub's names are aliases of one another. A key without a scheme but with a path
 * (`quay.io/org`) is podman's per-namespace form and matches that namespace only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OciScanError } from '../errors.js';
import { DOCKER_HUB, DOCKER_HUB_ALIASES, DOCKER_HUB_CREDENTIALS_KEY, normaliseRegistry } from '../reference/reference.js';

/** What kind of secret a credential holds. */
export type CredentialKind = 'basic' | 'identity-token' | 'registry-token';

/**
 * A credential. The secret lives in a private field: it is not enumerable, not in
 * `JSON.stringify` and not in `util.inspect` output, so it cannot leak through a log line.
 */
export class Credential {
  /** `basic` (user + password), `identity-token` (OAuth2 refresh token), `registry-token` (bearer token). */
  readonly kind: CredentialKind;
  /** User name, when there is one (for messages: never secret). */
  readonly username: string | undefined;
  /** Where the credential came from, for messages ("DOCKER_AUTH_CONFIG", a file path, a helper). */
  readonly source: string;
  readonly #secret: string;

  constructor(kind: CredentialKind, username: string | undefined, secret: string, source: string) {
    this.kind = kind;
    this.username = username;
    this.source = source;
    this.#secret = secret;
  }

  /** The password, refresh token or registry token. Only the auth code calls this. */
  revealSecret(): string {
    return this.#secret;
  }

  /** `Basic base64(user:password)`, for `basic` credentials. */
  basicAuthorization(): string | undefined {
    if (this.kind !== 'basic') return undefined;
    return `Basic ${Buffer.from(`${this.username ?? ''}:${this.#secret}`).toString('base64')}`;
  }

  /** Shown by logs and messages: never the secret. */
  toJSON(): object {
    return { kind: this.kind, username: this.username, source: this.source };
  }

  /** What to call it in a message: `user ci (from DOCKER_AUTH_CONFIG)`. */
  describe(): string {
    const who =
      this.kind === 'basic'
        ? `user ${this.username ?? '(empty)'}`
        : this.kind === 'identity-token'
          ? 'the identity token'
          : 'the registry token';
    return `${who} from ${this.source}`;
  }
}

/** Runs `docker-credential-NAME get`, giving `serverUrl` on stdin; resolves stdout. Replaceable in tests. */
export type HelperRunner = (
  name: string,
  serverUrl: string,
  env: Readonly<Record<string, string | undefined>>,
) => Promise<{ ok: true; stdout: string } | { ok: false; notFound: boolean; exitCode: number | null }>;

/** Options for `findCredential`. */
export interface CredentialLookup {
  /** Registry as the reference names it (`docker.io`, `127.0.0.1:5000`); Hub aliases accepted. */
  readonly registry: string;
  /** Repository path (for podman's per-namespace keys). */
  readonly repository: string;
  /** Environment to read the sources from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Runs credential helpers (default: the real `docker-credential-NAME`). */
  readonly runHelper?: HelperRunner;
}

/** The subset of config.json / auth.json that carries credentials. */
interface ConfigDocument {
  auths?: Record<string, AuthEntry | null>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** Splits a config key into its host (lower-case) and, for scheme-less keys, a namespace path. */
export function parseCredentialKey(key: string): { host: string; namespace?: string } {
  let rest = key.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  const host = (slash >= 0 ? rest.slice(0, slash) : rest).toLowerCase();
  const path = slash >= 0 ? rest.slice(slash + 1).replace(/\/+$/, '') : '';
  // `https://host/v1/` style keys name the host; a path without a scheme is podman's namespace scope.
  if (scheme || path === '') return { host };
  return { host, namespace: path };
}

/** The hosts a registry's credentials may be filed under (Hub: all its aliases). */
export function credentialHosts(registry: string): string[] {
  const r = normaliseRegistry(registry);
  return r === DOCKER_HUB ? [...DOCKER_HUB_ALIASES] : [r];
}

/**
 * The key of `keys` that holds the credentials for `registry`/`repository`, or undefined.
 * Namespace keys win over host keys (most specific first); exact host match only.
 */
export function matchCredentialKey(keys: readonly string[], registry: string, repository: string): string | undefined {
  const hosts = credentialHosts(registry);
  let best: { key: string; rank: number } | undefined;
  for (const key of keys) {
    const { host, namespace } = parseCredentialKey(key);
    if (!hosts.includes(host)) continue;
    let rank: number;
    if (namespace !== undefined) {
      if (repository !== namespace && !repository.startsWith(`${namespace}/`)) continue;
      rank = 1000 + namespace.length;
    } else {
      // prefer the canonical Hub key, then the order of the aliases
      rank = key === DOCKER_HUB_CREDENTIALS_KEY ? 100 : 50 - hosts.indexOf(host);
    }
    if (!best || rank > best.rank) best = { key, rank };
  }
  return best?.key;
}

/** True for a credential helper name that is a plain name (no path, no `..`), so that a config cannot run an arbitrary program. */
export function isPlainHelperName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) && !name.includes('..') && name.length <= 100;
}

function decodeEntry(entry: AuthEntry, source: string, where: string): Credential | undefined {
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return new Credential(
      'identity-token',
      typeof entry.username === 'string' && entry.username !== '' ? entry.username : undefined,
      entry.identitytoken,
      source,
    );
  }
  if (typeof entry.registrytoken === 'string' && entry.registrytoken !== '') {
    return new Credential('registry-token', undefined, entry.registrytoken, source);
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new OciScanError(
        'AUTH_FAILED',
        `the "auth" value for ${where} in ${source} is not base64 of user:password: fix it or run docker login again`,
      );
    return new Credential('basic', decoded.slice(0, colon), decoded.slice(colon + 1), source);
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username !== '') {
    return new Credential('basic', entry.username, entry.password, source);
  }
  return undefined;
}

/** The real helper runner: `docker-credential-NAME get`, found on the PATH of `env`. */
export const runCredentialHelper: HelperRunner = (name, serverUrl, env) =>
  new Promise((resolve) => {
    const child = process
      .getBuiltinModule('node:child_process')
      .execFile(
        `docker-credential-${name}`,
        ['get'],
        { env: { ...env } as NodeJS.ProcessEnv, timeout: 30_000, maxBuffer: 64 * 1024, windowsHide: true },
        (err, stdout, stderr) => {
          if (!err) {
            resolve({ ok: true, stdout: String(stdout) });
            return;
          }
          const out = `${String(stdout)}\n${String(stderr)}`.toLowerCase();
          const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
          resolve({ ok: false, notFound: out.includes('credentials not found'), exitCode: code });
        },
      );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(serverUrl);
  });

/** Runs a helper for a registry, at most once per store (see CredentialStore). */
async function fromHelper(name: string, registry: string, source: string, store: CredentialStore): Promise<Credential | undefined> {
  if (!isPlainHelperName(name)) {
    throw new OciScanError(
      'AUTH_FAILED',
      `credential helper name ${JSON.stringify(name.slice(0, 60))} in ${source} is not a plain name (no "/" or ".."): fix the credHelpers/credsStore entry`,
    );
  }
  const serverUrl = normaliseRegistry(registry) === DOCKER_HUB ? DOCKER_HUB_CREDENTIALS_KEY : normaliseRegistry(registry);
  return store.memo(`helper\0${name}\0${serverUrl}`, () => runHelperFor(name, serverUrl, store));
}

async function runHelperFor(name: string, serverUrl: string, store: CredentialStore): Promise<Credential | undefined> {
  const result = await store.runHelper(name, serverUrl, store.env);
  if (!result.ok) {
    if (result.notFound) return undefined;
    throw new OciScanError(
      'AUTH_FAILED',
      `credential helper docker-credential-${name} failed for ${serverUrl} (exit ${result.exitCode ?? 'unknown'}): check that it is on PATH and that "echo ${serverUrl} | docker-credential-${name} get" works`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(result.stdout);
  } catch {
    throw new OciScanError(
      'AUTH_FAILED',
      `credential helper docker-credential-${name} printed something that is not JSON for ${serverUrl}: check the helper`,
    );
  }
  const { Username: user, Secret: secret } = (typeof doc === 'object' && doc !== null ? doc : {}) as {
    Username?: unknown;
    Secret?: unknown;
  };
  if (typeof secret !== 'string' || secret === '') return undefined;
  const helperSource = `credential helper docker-credential-${name}`;
  // Docker's convention: user "<token>" means the secret is an identity (refresh) token.
  if (user === '<token>') return new Credential('identity-token', undefined, secret, helperSource);
  return new Credential('basic', typeof user === 'string' ? user : '', secret, helperSource);
}

/** Looks for the registry's credentials in one config document. */
async function fromDocument(
  doc: ConfigDocument,
  source: string,
  lookup: Pick<CredentialLookup, 'registry' | 'repository'>,
  store: CredentialStore,
): Promise<Credential | undefined> {
  const helpers = doc.credHelpers && typeof doc.credHelpers === 'object' ? doc.credHelpers : {};
  const helperKey = matchCredentialKey(Object.keys(helpers), lookup.registry, lookup.repository);
  const helper = helperKey !== undefined ? helpers[helperKey] : undefined;
  if (typeof helper === 'string' && helper !== '') {
    const c = await fromHelper(helper, lookup.registry, source, store);
    if (c) return c;
  }
  const auths = doc.auths && typeof doc.auths === 'object' ? doc.auths : {};
  const key = matchCredentialKey(Object.keys(auths), lookup.registry, lookup.repository);
  const entry = key !== undefined ? auths[key] : undefined;
  if (entry && typeof entry === 'object') {
    // One Credential per entry and store, so that its users can share what they derive from it (tokens).
    const c = await store.memo(`entry\0${source}\0${key ?? ''}`, async () => decodeEntry(entry, source, key ?? lookup.registry));
    if (c) return c;
  }
  if (typeof doc.credsStore === 'string' && doc.credsStore !== '') {
    return fromHelper(doc.credsStore, lookup.registry, source, store);
  }
  return undefined;
}

function parseDocument(text: string, source: string): ConfigDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // never echo the text: it holds secrets
    throw new OciScanError('AUTH_FAILED', `${source} is not valid JSON: fix it (it must be a Docker config.json document)`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new OciScanError(
      'AUTH_FAILED',
      `${source} is not a JSON object: it must be a Docker config.json document like {"auths":{"host":{"auth":"…"}}}`,
    );
  }
  return doc as ConfigDocument;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new OciScanError(
      'AUTH_FAILED',
      `cannot read credentials file ${path} (${String(code ?? 'error')}): fix its permissions or remove it`,
      { cause: err },
    );
  }
}

/** The credential sources to consult, in order (docs/registry.md "Credentials"). Each yields its document text lazily. */
export function credentialSources(
  env: Readonly<Record<string, string | undefined>>,
): Array<{ source: string; load: () => Promise<string | undefined> }> {
  const sources: Array<{ source: string; load: () => Promise<string | undefined> }> = [];
  const inline = env.DOCKER_AUTH_CONFIG?.trim();
  if (inline !== undefined && inline !== '') {
    if (inline.startsWith('{')) sources.push({ source: 'DOCKER_AUTH_CONFIG', load: () => Promise.resolve(inline) });
    else {
      // Not a document: a file-type CI variable holds the path of a file with the document.
      // A path that names no file is a mistake in the job, not "no credentials".
      const source = `DOCKER_AUTH_CONFIG (file ${inline})`;
      sources.push({
        source,
        load: async () => {
          const text = await readOptional(inline);
          if (text === undefined)
            throw new OciScanError(
              'AUTH_FAILED',
              `DOCKER_AUTH_CONFIG is neither a config.json document nor the path of a file (${inline} does not exist): set it to the document or to an existing file`,
            );
          return text;
        },
      });
    }
  }
  const dockerDir = env.DOCKER_CONFIG ?? (env.HOME ? join(env.HOME, '.docker') : undefined);
  if (dockerDir) {
    const path = join(dockerDir, 'config.json');
    sources.push({ source: path, load: () => readOptional(path) });
  }
  if (env.REGISTRY_AUTH_FILE) {
    const path = env.REGISTRY_AUTH_FILE;
    sources.push({ source: path, load: () => readOptional(path) });
  }
  if (env.XDG_RUNTIME_DIR) {
    const path = join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
    sources.push({ source: path, load: () => readOptional(path) });
  }
  return sources;
}

/**
 * The credential lookups of one run (docs/registry.md "Sessions"): each config document is read
 * and parsed once, and each credential helper runs at most once per registry, however many
 * repositories and images the run opens.
 */
export class CredentialStore {
  /** The environment the sources are read from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Runs credential helpers. */
  readonly runHelper: HelperRunner;
  readonly #sources: ReturnType<typeof credentialSources>;
  readonly #documents = new Map<string, Promise<ConfigDocument | undefined>>();
  readonly #memo = new Map<string, Promise<Credential | undefined>>();

  constructor(env: Readonly<Record<string, string | undefined>>, runHelper: HelperRunner = runCredentialHelper) {
    this.env = env;
    this.runHelper = runHelper;
    this.#sources = credentialSources(env);
  }

  /** The credential for `registry`/`repository` (first source that has one wins), or undefined for anonymous access. */
  async find(registry: string, repository: string): Promise<Credential | undefined> {
    for (const { source, load } of this.#sources) {
      let doc = this.#documents.get(source);
      if (!doc) {
        doc = load().then((text) => (text === undefined ? undefined : parseDocument(text, source)));
        this.#documents.set(source, doc);
      }
      const parsed = await doc;
      if (parsed === undefined) continue;
      const credential = await fromDocument(parsed, source, { registry, repository }, this);
      if (credential) return credential;
    }
    return undefined;
  }

  /** The result of `compute` under `key`, computed once per store (failures included). */
  memo(key: string, compute: () => Promise<Credential | undefined>): Promise<Credential | undefined> {
    let result = this.#memo.get(key);
    if (!result) {
      result = compute();
      this.#memo.set(key, result);
    }
    return result;
  }
}

/** Finds the credential for a registry (first source that has one wins), or undefined for anonymous access. */
export function findCredential(lookup: CredentialLookup): Promise<Credential | undefined> {
  return new CredentialStore(lookup.env, lookup.runHelper).find(lookup.registry, lookup.repository);
}
