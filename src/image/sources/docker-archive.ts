/**
 * `docker-archive:FILE[:REPO:TAG]` — what `docker save` / `podman save` write, in both
 * layouts: the classic one (`manifest.json` + `<id>/layer.tar` + `<id>.json`) and Docker 25+'s
 * (an OCI layout whose `manifest.json` points into `blobs/sha256/`). Both are read through
 * `manifest.json`, which both write. Layers there are uncompressed tars.
 */
import { OciScanError } from '../../errors.js';
import { parseConfig, platformOfConfig } from '../config.js';
import type { Image, ImageName, Layer } from '../types.js';
import { sha256Digest } from '../verify.js';
import { compileWire, parseWire, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES } from '../wire.js';
import type { BlobStore } from './blob-store.js';
import { readVerified, storeLayer } from './local-image.js';
import { repositoryPath } from './repository-path.js';

/** One entry of a docker archive's manifest.json. */
interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
  LayerSources?: Record<string, { mediaType: string; size: number; digest: string }>;
}

const validateEntries = compileWire<DockerArchiveEntry[]>({
  type: 'array',
  items: {
    type: 'object',
    required: ['Config', 'Layers'],
    properties: {
      Config: { type: 'string' },
      RepoTags: { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'null' }] },
      Layers: { type: 'array', items: { type: 'string' } },
      LayerSources: { type: 'object' },
    },
  },
});

/** `sha256:<hex>` when a member path names its own digest (`blobs/sha256/<hex>`, skopeo's `<hex>.tar`). */
function digestFromPath(path: string): string | undefined {
  const m = /(?:^|\/)(?:sha256\/)?([a-f0-9]{64})(?:\.tar|\.json)?$/.exec(path);
  return m?.[1] ? `sha256:${m[1]}` : undefined;
}

/** `docker.io/library/app:1.0`, `library/app:1.0` and `app:1.0` name the same image. */
function shortTag(repoTag: string): string {
  return repoTag.replace(/^docker\.io\//, '').replace(/^library\//, '');
}

/** Splits `repo:tag` (the tag is after the last colon that follows the last slash). */
function splitRepoTag(repoTag: string): { repo: string; tag?: string } {
  const slash = repoTag.lastIndexOf('/');
  const colon = repoTag.lastIndexOf(':');
  return colon > slash ? { repo: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1) } : { repo: repoTag };
}

/** Images of a docker archive; `wanted` (`repo:tag`) selects one when the archive holds several. */
export async function imagesFromDockerArchive(store: BlobStore, display: string, fallbackName: string, wanted: string | undefined): Promise<Image[]> {
  const bytes = await store.read('manifest.json', MAX_MANIFEST_BYTES, 'INVALID_MANIFEST');
  if (!bytes) throw new OciScanError('SOURCE_UNREADABLE', `${store.what} is not a docker archive (no manifest.json): check the path and the transport (docker-archive:, oci-archive:)`);
  const entries = parseWire(bytes, validateEntries, `manifest.json of ${store.what}`, 'INVALID_MANIFEST');
  if (entries.length === 0) throw new OciScanError('INVALID_MANIFEST', `manifest.json of ${store.what} lists no image`);
  let entry: DockerArchiveEntry | undefined;
  if (wanted !== undefined) {
    const want = shortTag(splitRepoTag(wanted).tag !== undefined ? wanted : `${wanted}:latest`);
    entry = entries.find((e) => (e.RepoTags ?? []).some((t) => shortTag(t) === want));
    if (!entry) {
      const all = entries.flatMap((e) => e.RepoTags ?? []).join(', ') || 'none';
      throw new OciScanError('IMAGE_NOT_FOUND', `${store.what} has no image ${wanted}; images there: ${all}`);
    }
  } else if (entries.length > 1) {
    throw new OciScanError('USAGE', `${store.what} holds ${entries.length} images: name one as docker-archive:FILE:REPO:TAG (${entries.flatMap((e) => e.RepoTags ?? []).join(', ')})`);
  } else {
    entry = entries[0];
  }
  if (!entry) throw new OciScanError('INVALID_MANIFEST', `manifest.json of ${store.what} lists no image`);

  const recorded = wanted ?? entry.RepoTags?.[0];
  const repoTag = recorded ? splitRepoTag(shortTag(recorded)) : undefined;
  const name: ImageName = {
    display,
    name: repoTag ? (repoTag.repo.split('/').pop() ?? fallbackName) : fallbackName,
    repository: repoTag ? repositoryPath(repoTag.repo) : fallbackName,
    ...(repoTag?.tag ? { tag: repoTag.tag } : {}),
    tagOrigin: wanted !== undefined ? 'reference' : repoTag?.tag ? 'archive' : 'none',
  };

  const configDigest = digestFromPath(entry.Config);
  const configBytes = await readVerified(store, entry.Config, configDigest, MAX_CONFIG_BYTES, 'INVALID_CONFIG', `config ${entry.Config}`);
  const config = parseConfig(configBytes, `config of ${display}`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) {
    throw new OciScanError('INVALID_CONFIG', `config of ${display} lists ${diffIds.length} layers but manifest.json has ${entry.Layers.length}: the archive is inconsistent`);
  }
  const layers: Layer[] = await Promise.all(
    entry.Layers.map(async (path, i) => {
      const size = await store.size(path);
      if (size === undefined) throw new OciScanError('SOURCE_UNREADABLE', `layer ${path} is missing from ${store.what}: the archive is incomplete`);
      // Docker 25+ and skopeo name blobs by digest; classic `<id>/layer.tar` is the uncompressed
      // layer, so its digest is the config's diff_id.
      const digest = digestFromPath(path) ?? diffIds[i] ?? '';
      const source = entry.LayerSources?.[digest];
      return storeLayer(store, path, digest, source?.mediaType ?? 'application/vnd.docker.image.rootfs.diff.tar', size);
    }),
  );
  const platform = platformOfConfig(config);
  return [{ name, configDigest: sha256Digest(configBytes), config, layers, ...(platform ? { platform } : {}) }];
}
