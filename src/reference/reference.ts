/**
 * Image references in Docker's grammar (distribution/reference): `alpine`, `library/alpine:3.19`,
 * `host:5000/team/app:1.0`, `name@sha256:…`, `name:tag@sha256:…`, optionally prefixed with
 * `docker://`. Docker Hub names are normalised (`alpine` → `docker.io/library/alpine`).
 */
import { OciScanError } from '../errors.js';

/** The canonical name of Docker Hub in references. */
export const DOCKER_HUB = 'docker.io';
/** The host Docker Hub's Distribution API is served from. */
export const DOCKER_HUB_API = 'registry-1.docker.io';
/** The key Docker writes Hub credentials under in config.json. */
export const DOCKER_HUB_CREDENTIALS_KEY = 'https://index.docker.io/v1/';
/** Every name Docker Hub is known by (all normalise to `docker.io`). */
export const DOCKER_HUB_ALIASES: readonly string[] = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

/** A parsed registry reference. */
export interface Reference {
  /** Registry as named, normalised: `docker.io`, `ghcr.io`, `127.0.0.1:5000` (lower-case host). */
  readonly registry: string;
  /** Repository path inside the registry, `library/` added for Hub official images. */
  readonly repository: string;
  /** The tag, when given. */
  readonly tag?: string;
  /** The digest, when given (`sha256:…`). */
  readonly digest?: string;
  /** The reference as the user wrote it (minus `docker://`), `:latest` appended when neither tag nor digest was given. */
  readonly display: string;
  /** Last segment of the repository (`app` for `team/app`). */
  readonly name: string;
}

// The pieces of distribution/reference's regexp grammar (reference/regexp.go).
const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainRe = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})(?::[0-9]+)?$`);
const pathComponentRe = new RegExp(`^${pathComponent}$`);
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;
const SUPPORTED_DIGESTS: Record<string, number> = { sha256: 64, sha512: 128 };
/** Docker's limit on the length of a repository name (domain + path). */
const NAME_TOTAL_LENGTH_MAX = 255;

function invalid(input: string, why: string): OciScanError {
  const shown = JSON.stringify(input.length > 300 ? `${input.slice(0, 300)}…` : input);
  return new OciScanError(
    'INVALID_REFERENCE',
    `image reference ${shown} is invalid: ${why} (expected [registry[:port]/]repository[:tag][@sha256:digest], e.g. ghcr.io/org/app:1.2)`,
  );
}

/** True when the first component of a name is a registry host rather than a Hub namespace (Docker's rule). */
function looksLikeDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first;
}

/** Normalises a registry host name: lower-case, Hub aliases → `docker.io`. */
export function normaliseRegistry(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.includes(lower) ? DOCKER_HUB : lower;
}

/**
 * Parses a registry reference. Throws INVALID_REFERENCE (exit 20) with a message naming the
 * problem. `docker://` is accepted and dropped.
 */
export function parseReference(input: string): Reference {
  const text = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  if (text === '') throw invalid(input, 'it is empty');
  if (/\s/.test(text)) throw invalid(input, 'it contains white space');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    throw invalid(input, 'a URL scheme is not part of an image reference (use docker:// or nothing)');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw invalid(input, `digest ${JSON.stringify(digest)} is not algorithm:hex`);
    const [algorithm = '', hex = ''] = digest.split(':');
    const length = SUPPORTED_DIGESTS[algorithm];
    if (length === undefined) throw invalid(input, `digest algorithm ${algorithm} is not supported (use sha256)`);
    if (hex.length !== length || hex !== hex.toLowerCase())
      throw invalid(input, `a ${algorithm} digest is ${length} lower-case hex digits`);
  }

  // The tag is after the last ':' that comes after the last '/' (a ':' before it is a port).
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag))
      throw invalid(
        input,
        `tag ${JSON.stringify(tag)} is not valid (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')`,
      );
  }
  if (rest === '') throw invalid(input, 'the repository name is missing');

  let registry = DOCKER_HUB;
  let path = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash >= 0 && looksLikeDomain(rest.slice(0, firstSlash))) {
    const host = rest.slice(0, firstSlash);
    path = rest.slice(firstSlash + 1);
    if (!domainRe.test(host)) throw invalid(input, `registry ${JSON.stringify(host)} is not a valid host[:port]`);
    registry = normaliseRegistry(host);
  }
  const components = path.split('/');
  for (const c of components) {
    if (c === '') throw invalid(input, 'the repository path has an empty component');
    if (!pathComponentRe.test(c)) {
      throw invalid(
        input,
        c.toLowerCase() !== c
          ? 'repository names must be lower-case'
          : `repository component ${JSON.stringify(c)} is not valid (lower-case letters, digits and single separators . _ __ -)`,
      );
    }
  }
  if (registry === DOCKER_HUB && components.length === 1) path = `library/${path}`;
  if (rest.length > NAME_TOTAL_LENGTH_MAX) throw invalid(input, `the repository name is longer than ${NAME_TOTAL_LENGTH_MAX} characters`);

  const display = tag === undefined && digest === undefined ? `${text}:latest` : text;
  const name = components[components.length - 1] ?? path;
  return { registry, repository: path, display, name, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The canonical string `registry/repository[:tag][@digest]` (with `docker.io/library/…`). */
export function canonicalReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The host to connect to for a registry name (`docker.io` → `registry-1.docker.io`). */
export function apiHost(registry: string): string {
  return normaliseRegistry(registry) === DOCKER_HUB ? DOCKER_HUB_API : registry;
}
