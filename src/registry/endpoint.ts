/**
 * Where a registry's requests go: its API host or its mirror, over HTTPS or plain HTTP
 * (Docker's rule: the local machine and --insecure-registry hosts), and `host[:port]` parsing.
 */
import { OciScanError } from '../errors.js';
import { apiHost, normaliseRegistry } from '../reference/reference.js';
import type { RegistryOptions } from './options.js';

/** Splits `host[:port]` / `[v6]:port` into hostname (no brackets) and port text. */
export function splitHostPort(host: string): { hostname: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (v6) return v6[2] ? { hostname: v6[1] ?? '', port: v6[2] } : { hostname: v6[1] ?? '' };
  const colon = host.lastIndexOf(':');
  if (colon > 0 && host.indexOf(':') === colon) return { hostname: host.slice(0, colon), port: host.slice(colon + 1) };
  return { hostname: host };
}

/** Hosts always spoken to over plain HTTP (Docker's rule for the local machine). */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

/**
 * True when `host` (`host[:port]`) is spoken to over plain HTTP: the local machine, or a host
 * named by --insecure-registry (`host:port` exactly, or `host` for any port).
 */
export function usesPlainHttp(host: string, insecureRegistries: readonly string[]): boolean {
  const { hostname } = splitHostPort(host.toLowerCase());
  if (LOCAL_HOSTS.has(hostname)) return true;
  return insecureRegistries.some((entry) => {
    const e = entry
      .toLowerCase()
      .replace(/^https?:\/\//, '')
      .replace(/\/+$/, '');
    return e === host.toLowerCase() || e === hostname;
  });
}

/** Where a registry's requests go: the registry itself or its mirror. */
export interface RegistryEndpoint {
  /** `host[:port]` to connect to. */
  readonly host: string;
  /** Plain HTTP instead of HTTPS. */
  readonly plainHttp: boolean;
  /** The registry this endpoint mirrors, when it is a mirror. */
  readonly mirrorOf?: string;
}

/**
 * The endpoint for a registry: its mirror when `mirrors` names one (keys and values may be
 * any Hub alias / carry `http://` or `https://`), else its API host (`registry-1.docker.io`
 * for Docker Hub). Plain HTTP for localhost and --insecure-registry hosts, or an `http://` mirror.
 */
export function resolveEndpoint(registry: string, options: Pick<RegistryOptions, 'mirrors' | 'insecureRegistries'>): RegistryEndpoint {
  const wanted = normaliseRegistry(registry);
  for (const [source, target] of Object.entries(options.mirrors)) {
    const { scheme, host } = parseMirror(source, target);
    const from = normaliseRegistry(source.replace(/^https?:\/\//i, '').replace(/\/.*$/, ''));
    if (from !== wanted) continue;
    const plainHttp = scheme === 'http' || (scheme === undefined && usesPlainHttp(host, options.insecureRegistries));
    return { host, plainHttp, mirrorOf: wanted };
  }
  const host = apiHost(wanted);
  return { host, plainHttp: usesPlainHttp(host, options.insecureRegistries) || usesPlainHttp(wanted, options.insecureRegistries) };
}

/**
 * A mirror target (`host[:port]`, optionally `http://` / `https://` and a path) split into
 * scheme and host. User info (`https://user:password@mirror`) is refused: credentials belong
 * in DOCKER_AUTH_CONFIG or a config file, where they are matched to the mirror's host, and a
 * URL is echoed by shells, CI logs and process lists. The target is never quoted in the error.
 */
export function parseMirror(source: string, target: string): { scheme?: 'http' | 'https'; host: string } {
  const given = /^(https?):\/\//i.exec(target)?.[1]?.toLowerCase();
  const scheme = given === 'http' || given === 'https' ? given : undefined;
  const authority = target.replace(/^https?:\/\//i, '').replace(/\/.*$/, '');
  const named = source.replace(/^.*@/, '').slice(0, 100);
  if (authority.includes('@')) {
    throw new OciScanError(
      'USAGE',
      `the mirror for ${named} has user info (user:password@) in its URL: refused; put the mirror's credentials in DOCKER_AUTH_CONFIG or ~/.docker/config.json under its host`,
      { setting: 'registryMirrors' },
    );
  }
  const host = authority.toLowerCase();
  if (!/^([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(:\d{1,5})?$/.test(host)) {
    throw new OciScanError(
      'USAGE',
      `the mirror for ${named} is not HOST[:PORT], http://HOST[:PORT] or https://HOST[:PORT] (e.g. mirror.local:5000)`,
      { setting: 'registryMirrors' },
    );
  }
  return scheme ? { scheme, host } : { host };
}
