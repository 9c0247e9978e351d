/**
 * The registry source: references like `ghcr.io/org/app:1.2` served by a repository of the
 * run's registry session (../registry/), resolved by ./resolve.ts into the same `Image` every
 * other source returns. Every error is scrubbed of the run's secrets (docs/security.md).
 */
import type { Descriptor } from '../image/manifest.js';
import { matchesDigest } from '../image/verify.js';
import type { Image, ImageName } from '../image/types.js';
import { MAX_CONFIG_BYTES } from '../image/wire.js';
import { parseReference, type Reference } from '../reference/reference.js';
import { repositoryPath } from '../reference/repository-path.js';
import type { Repository } from '../registry/repository.js';
import type { ConfigCache } from '../image/config-cache.js';
import { openSession, type RegistryHooks, type Session } from '../registry/session.js';
import { configTooLarge, type ContentSource, type FetchedDocument } from './content.js';
import type { SourceOptions } from './options.js';
import { resolveImages } from './resolve.js';

/** The ContentSource of a registry repository; configs come from `configs` when it holds them. */
export function registryContent(repository: Repository, configs?: ConfigCache): ContentSource {
  return {
    what: `registry ${repository.label}`,
    partial: false,
    async fetchManifest(reference, signal) {
      const fetched = await repository.manifest(reference, signal);
      return {
        bytes: fetched.bytes,
        digest: fetched.digest,
        ...(fetched.contentType !== undefined ? { mediaType: fetched.contentType } : {}),
      };
    },
    async readConfig(descriptor: Descriptor, what: string, signal?: AbortSignal) {
      // Checked here too: a cache is only as good as what it returns (a library caller's may be any).
      const kept = configs?.get(descriptor);
      if (kept && kept.length === descriptor.size && matchesDigest(kept, descriptor.digest)) return kept;
      const bytes = await repository.readBlob(descriptor, {
        limit: MAX_CONFIG_BYTES,
        what,
        onTooLarge: () => configTooLarge(what),
        signal,
      });
      await configs?.put(descriptor.digest, bytes);
      return bytes;
    },
    openBlob(descriptor, what, signal) {
      return Promise.resolve(repository.openBlob(descriptor, what, signal));
    },
    hasBlob(digest, signal) {
      return repository.hasBlob(digest, signal);
    },
  };
}

/** The name a registry reference's image is reported under (`HOST/REPO:TAG`, or `@DIGEST`). */
function imageName(ref: Reference): ImageName {
  return {
    display: ref.display,
    name: ref.name,
    repository: repositoryPath(`${ref.registry}/${ref.repository}`),
    tagOrigin: 'reference',
    ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
    ...(ref.digest !== undefined ? { digest: ref.digest } : {}),
  };
}

/** The name the image of registry reference `reference` is reported under, as a scan of it names it. */
export function registryImageName(reference: string): ImageName {
  return imageName(parseReference(reference));
}

/**
 * Resolves a registry reference to the image(s) to scan (several with `--platform all`),
 * through `options.session`, or a session of its own opened with `hooks` (test seams) when
 * the caller gives none.
 */
export async function openRegistryImages(input: string, options: SourceOptions, hooks: RegistryHooks = {}): Promise<Image[]> {
  const session = options.session ?? openSession({ registry: options.registry, logger: options.logger, hooks });
  try {
    const ref = parseReference(input);
    const repository = await session.registry(ref.registry).repository(ref.repository, { logger: options.logger, signal: options.signal });
    return await resolveImages(
      registryContent(repository, options.configs),
      { kind: 'reference', reference: ref.digest ?? ref.tag ?? 'latest' },
      imageName(ref),
      options,
    );
  } catch (err) {
    throw session.scrubber.scrubError(err);
  }
}

/**
 * The image(s) of registry reference `reference` at manifest `digest`, named after `reference`
 * (an audit resolves tags first, then opens each digest once). `primed` is the manifest the tag
 * was resolved with: its digest is the sha256 of those bytes, so it is the document a fetch by
 * that digest would verify, and is not fetched again.
 */
export async function openRegistryDigest(
  reference: string,
  digest: string,
  options: SourceOptions & { readonly session: Session },
  primed?: FetchedDocument,
): Promise<Image[]> {
  const parsed = parseReference(reference);
  const repo = await options.session
    .registry(parsed.registry)
    .repository(parsed.repository, { logger: options.logger, signal: options.signal });
  const content = registryContent(repo, options.configs);
  const source: ContentSource =
    primed?.digest === digest
      ? { ...content, fetchManifest: (ref, signal) => (ref === digest ? Promise.resolve(primed) : content.fetchManifest(ref, signal)) }
      : content;
  try {
    return await resolveImages(source, { kind: 'reference', reference: digest }, imageName(parsed), options);
  } catch (err) {
    throw options.session.scrubber.scrubError(err);
  }
}
