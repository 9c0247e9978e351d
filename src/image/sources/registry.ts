/**
 * The registry source: references like `ghcr.io/org/app:1.2` resolved through the
 * Distribution API (docs/registry.md) into the same `Image` every other source returns.
 *
 * reference → (mirror) → credentials → client → manifest or index → platform(s) →
 * per platform: manifest, config, layers (opened lazily as verified streams).
 */
import type { Readable } from 'node:stream';
import { findCredential, type HelperRunner } from '../../auth/credentials.js';
import { SecretScrubber } from '../../auth/scrub.js';
import type { HostResolver } from '../../auth/token.js';
import { OciScanError } from '../../errors.js';
import { apiHost, normaliseRegistry, parseReference, type Reference } from '../../reference/reference.js';
import { RegistryClient } from '../../registry/client.js';
import type { Clock } from '../../registry/retry.js';
import { AddressPins, createDispatcher, proxyOf, transportSettings, usesPlainHttp } from '../../registry/transport.js';
import { parseConfig, platformOfConfig, type ImageConfig } from '../config.js';
import { parseManifestDocument, layerKind, type Descriptor, type ImageManifest } from '../manifest.js';
import { formatPlatform, indexCandidates, noMatchingPlatform, platformRank, type Platform } from '../platform.js';
import type { Image, ImageName, Layer } from '../types.js';
import { MAX_CONFIG_BYTES } from '../wire.js';
import type { RegistryOptions, SourceOptions } from './options.js';
import { repositoryPath } from './repository-path.js';

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
    throw new OciScanError('USAGE', `--registry-mirror for ${named} has user info (user:password@) in its URL: refused; put the mirror's credentials in DOCKER_AUTH_CONFIG or ~/.docker/config.json under its host`);
  }
  const host = authority.toLowerCase();
  if (!/^([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(:\d{1,5})?$/.test(host)) {
    throw new OciScanError('USAGE', `--registry-mirror for ${named} is not HOST[:PORT], http://HOST[:PORT] or https://HOST[:PORT] (e.g. docker.io=mirror.local:5000)`);
  }
  return scheme ? { scheme, host } : { host };
}

/** Test seams (the CLI sets none of them). */
export interface RegistrySourceHooks {
  /** Runs credential helpers. */
  readonly runHelper?: HelperRunner;
  /** Resolves host names for the token-realm check (the connection is pinned to its answer). */
  readonly resolve?: HostResolver;
  /** Time, sleeps and jitter of the retries. */
  readonly clock?: Clock;
}

function imageName(ref: Reference): ImageName {
  return { display: ref.display, name: ref.name, repository: repositoryPath(`${ref.registry}/${ref.repository}`), tagOrigin: 'reference', ...(ref.tag !== undefined ? { tag: ref.tag } : {}), ...(ref.digest !== undefined ? { digest: ref.digest } : {}) };
}

/**
 * Resolves a registry reference to the image(s) to scan (several with `--platform all`).
 * Every error and log record is scrubbed of the scan's secrets (docs/security.md).
 */
export async function openRegistryImages(input: string, options: SourceOptions, hooks: RegistrySourceHooks = {}): Promise<Image[]> {
  const scrubber = new SecretScrubber();
  try {
    return await openWith(input, options, hooks, scrubber);
  } catch (err) {
    throw scrubber.scrubError(err);
  }
}

async function openWith(input: string, options: SourceOptions, hooks: RegistrySourceHooks, scrubber: SecretScrubber): Promise<Image[]> {
  const ref = parseReference(input);
  const registryOptions = options.registry;
  const endpoint = resolveEndpoint(ref.registry, registryOptions);
  const settings = transportSettings(registryOptions);
  const logger = options.logger.child({ component: 'registry' }, { formatters: { log: (record) => scrubber.scrubRecord(record) } });
  const credential = await findCredential({
    registry: endpoint.mirrorOf ? endpoint.host : ref.registry,
    repository: ref.repository,
    env: registryOptions.env,
    ...(hooks.runHelper ? { runHelper: hooks.runHelper } : {}),
  });
  if (credential) scrubber.addCredential(credential);
  logger.debug({ registry: ref.registry, host: endpoint.host, repository: ref.repository, plainHttp: endpoint.plainHttp, credential: credential?.toJSON() }, 'opening registry image');
  const pins = new AddressPins();
  const client = new RegistryClient({
    registry: ref.registry,
    host: endpoint.host,
    repository: ref.repository,
    plainHttp: endpoint.plainHttp,
    ...(endpoint.mirrorOf ? { mirrorOf: endpoint.mirrorOf } : {}),
    ...(credential ? { credential } : {}),
    dispatcher: createDispatcher(registryOptions, settings, pins),
    settings,
    logger,
    ...(options.signal ? { signal: options.signal } : {}),
    scrubber,
    pins,
    viaProxy: proxyOf(registryOptions.env) !== undefined,
    ...(hooks.resolve ? { resolve: hooks.resolve } : {}),
    ...(hooks.clock ? { clock: hooks.clock } : {}),
  });

  const name = imageName(ref);
  const where = `${endpoint.host}/${ref.repository}`;
  const top = await client.getManifest(ref.digest ?? ref.tag ?? 'latest');
  const doc = parseManifestDocument(top.bytes, top.contentType, `manifest of ${where}:${ref.tag ?? ref.digest ?? 'latest'}`);
  if (doc.kind === 'manifest') {
    return [await loadImage(client, name, where, doc.manifest, top.digest, undefined, false)];
  }
  const wanted = options.platform;
  const images: Image[] = [];
  for (const candidate of indexCandidates(doc.index.manifests, wanted)) {
    const entry = candidate.descriptor;
    const child = await client.getManifest(entry.digest);
    const what = `manifest of ${where}@${entry.digest}${candidate.platform ? ` (${formatPlatform(candidate.platform)})` : ''}`;
    const childDoc = parseManifestDocument(child.bytes, child.contentType ?? entry.mediaType, what);
    if (childDoc.kind !== 'manifest') throw new OciScanError('INVALID_MANIFEST', `${what} is an index inside an index, which oci-scan does not follow: scan the inner index by digest`);
    const image: Image = { ...(await loadImage(client, name, where, childDoc.manifest, child.digest, candidate.platform, true)), indexDigest: top.digest };
    if (wanted === 'all') {
      images.push(image);
      continue;
    }
    // An entry without a platform is chosen by its config's platform, as containerd does.
    if (candidate.platform || (image.platform && platformRank(wanted, image.platform) !== undefined)) return [image];
  }
  if (images.length === 0) throw noMatchingPlatform(doc.index.manifests, wanted, `image index ${where}@${top.digest}`);
  return images;
}

/** Reads the config and builds the Layer list of one image manifest. */
async function loadImage(client: RegistryClient, name: ImageName, where: string, manifest: ImageManifest, manifestDigest: string, platform: Platform | undefined, fromIndex: boolean): Promise<Image> {
  const configWhat = `config ${manifest.config.digest} of ${where}`;
  const configBytes = await client.readBlob(manifest.config.digest, manifest.config.size, MAX_CONFIG_BYTES, configWhat, () => new OciScanError('INVALID_CONFIG', `${configWhat} is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB: refusing it`));
  const config: ImageConfig = parseConfig(configBytes, configWhat);
  const layers: Layer[] = [];
  for (const d of manifest.layers) layers.push(await makeLayer(client, d, where));
  const scanned = platform ?? platformOfConfig(config);
  return {
    name,
    manifestDigest,
    configDigest: manifest.config.digest,
    ...(scanned ? { platform: scanned } : {}),
    ...(fromIndex ? { fromIndex: true } : {}),
    config,
    layers,
  };
}

/**
 * A Layer over a blob of the registry. Foreign (non-distributable) layers are fetched from
 * the registry when it serves them (`hasBlob`: HEAD, then a one-byte GET); otherwise they are
 * marked `notScanned`. They are never fetched from their `urls`: those point outside the
 * registry, to hosts the user never named and credentials were never meant for
 * (docs/registry.md "Foreign layers").
 */
async function makeLayer(client: RegistryClient, d: Descriptor, where: string): Promise<Layer> {
  const kind = layerKind(d.mediaType);
  if (kind === 'unknown') {
    throw new OciScanError('UNSUPPORTED_MEDIA_TYPE', `layer ${d.digest} of ${where} has media type ${d.mediaType}, which is not a container filesystem layer (tar, tar+gzip, tar+zstd): this is not a container image oci-scan can scan`);
  }
  const what = `layer ${d.digest} of ${where}`;
  const base = { digest: d.digest, mediaType: d.mediaType, size: d.size, ...(d.urls ? { urls: d.urls } : {}) };
  if (kind === 'foreign' && !(await client.hasBlob(d.digest))) {
    const reason = `foreign (non-distributable) layer not held by registry ${client.label} (HEAD and GET answered 404); oci-scan never downloads layers from their external URLs`;
    return {
      ...base,
      notScanned: reason,
      open: (): Promise<Readable> => Promise.reject(new OciScanError('IMAGE_NOT_FOUND', `${what}: ${reason}`)),
    };
  }
  return { ...base, open: (signal?: AbortSignal): Promise<Readable> => Promise.resolve(client.openBlob(d.digest, d.size, what, signal)) };
}
