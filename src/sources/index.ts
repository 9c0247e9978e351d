/**
 * IMAGE → source (docs/usage.md "IMAGE"): `oci:PATH[:TAG]`, `oci-archive:FILE[:TAG]`,
 * `docker-archive:FILE[:REPO:TAG]` (skopeo's transport names; the path ends at the first `:`),
 * and anything else — `docker://REF` or a plain reference — is a registry reference.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { OciScanError } from '../errors.js';
import type { Image } from '../image/types.js';
import { tarStore } from './archive-store.js';
import { directoryStore } from './store.js';
import { imagesFromDockerArchive } from './docker-archive.js';
import { imagesFromOciLayout } from './oci-layout.js';
import type { SourceOptions } from './options.js';
import { openRegistryImages } from './registry.js';

/** Local transports and what they need on disk. */
const LOCAL = { oci: 'directory', 'oci-archive': 'file', 'docker-archive': 'file' } as const;
type LocalTransport = keyof typeof LOCAL;

/** Splits `transport:path[:rest]`; undefined for registry references. */
export function parseLocalReference(input: string): { transport: LocalTransport; path: string; rest?: string } | undefined {
  const m = /^(oci|oci-archive|docker-archive):(.*)$/s.exec(input);
  if (!m) return undefined;
  const transport = m[1] as LocalTransport;
  const body = m[2] ?? '';
  const colon = body.indexOf(':');
  const path = colon < 0 ? body : body.slice(0, colon);
  const rest = colon < 0 ? undefined : body.slice(colon + 1);
  if (path === '')
    throw new OciScanError(
      'INVALID_REFERENCE',
      `${transport}: needs a path, e.g. ${transport}:./image${transport === 'oci' ? '' : '.tar'}`,
    );
  return rest !== undefined && rest !== '' ? { transport, path, rest } : { transport, path };
}

async function checkPath(transport: LocalTransport, path: string): Promise<void> {
  let kind: 'directory' | 'file';
  try {
    kind = (await stat(path)).isDirectory() ? 'directory' : 'file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OciScanError(
      'SOURCE_NOT_FOUND',
      `${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`}: check the path given to ${transport}:`,
    );
  }
  if (kind !== LOCAL[transport]) {
    const hint =
      kind === 'directory' ? 'use oci:DIR for an OCI layout directory' : 'use oci-archive:FILE or docker-archive:FILE for a tar file';
    throw new OciScanError('SOURCE_UNREADABLE', `${path} is a ${kind}, not a ${LOCAL[transport]}: ${hint}`);
  }
}

/** The name a local image is reported under when nothing in it names it (`./out/app.tar` → `app`). */
function nameFromPath(path: string): string {
  return basename(path.replace(/\/+$/, '')).replace(/\.(tar|oci|tgz|tzst|tar\.gz|tar\.zst)$/i, '') || 'image';
}

/** Opens every image `input` resolves to (one, or one per platform with `--platform all`). */
export async function openImages(input: string, options: SourceOptions): Promise<Image[]> {
  const local = parseLocalReference(input);
  if (!local) return openRegistryImages(input, options);
  await checkPath(local.transport, local.path);
  const what = `${local.transport === 'oci' ? 'OCI layout' : local.transport === 'oci-archive' ? 'OCI archive' : 'docker archive'} ${local.path}`;
  const name = nameFromPath(local.path);
  const base = { display: input, name, repository: name };
  try {
    switch (local.transport) {
      case 'oci':
        return await imagesFromOciLayout(directoryStore(local.path, what), base, local.rest, options);
      case 'oci-archive':
        return await imagesFromOciLayout(await tarStore(local.path, what, options), base, local.rest, options);
      case 'docker-archive':
        return await imagesFromDockerArchive(
          await tarStore(local.path, what, options),
          { display: input, fallbackName: base.name, wanted: local.rest },
          options,
        );
    }
  } catch (err) {
    if (err instanceof OciScanError) throw err;
    throw new OciScanError(
      'SOURCE_UNREADABLE',
      `${what} could not be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
}
