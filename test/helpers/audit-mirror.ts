/**
 * A registry mirror for the audit tests, built by code (provenance: test/helpers/image-builder.ts
 * images pushed over the Distribution API): `repos` repositories `mirror/app-NNN`, each with
 * tags `1.0`, `1.1` and `latest` (= `1.1`, the same manifest). Every image sits on one of three
 * small base layers (a benchmark gives larger ones of its own, `MirrorSizes`) and adds one of six small app layers, so the whole mirror holds nine
 * distinct layers however many repositories it has; every repository has configs of its own
 * (a label with its name), so its manifests are its own. Blobs are uploaded once and
 * cross-repository mounted everywhere else (`POST …/blobs/uploads/?mount=&from=`), which keeps
 * the set-up to a few requests per repository.
 */
import { fetch } from 'undici';
import { buildImage, digestOf, type BuiltBlob, type BuiltImage, type EntrySpec } from './image-builder.js';

/** What was pushed. */
export interface Mirror {
  /** `mirror/app-000`, … in catalog (lexical) order. */
  readonly repositories: readonly string[];
  readonly tags: readonly string[];
  /** Every layer digest of the mirror. */
  readonly layers: ReadonlySet<string>;
  /** The manifest digest of `repository:tag`. */
  digest(repository: string, tag: string): string;
}

const BASES: ReadonlyArray<readonly EntrySpec[]> = [
  [
    { type: 'dir', path: 'etc/' },
    { type: 'file', path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
    { type: 'file', path: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.0\n' },
  ],
  [
    { type: 'dir', path: 'usr/bin/' },
    { type: 'file', path: 'usr/bin/sudo', content: 'sudo', mode: 0o4755 },
    { type: 'file', path: 'etc/os-release', content: 'ID=debian\nVERSION_ID=12\n' },
  ],
  [
    { type: 'file', path: 'usr/bin/gcc', content: 'gcc', mode: 0o755 },
    { type: 'file', path: 'etc/os-release', content: 'ID=ubuntu\nVERSION_ID=24.04\n' },
  ],
];

const built = new WeakMap<readonly EntrySpec[], BuiltBlob>();

/** A base layer's blob, built and hashed once however many images sit on it. */
function baseLayer(entries: readonly EntrySpec[]): BuiltBlob {
  let layer = built.get(entries);
  if (!layer) {
    layer = buildImage({ layers: [{ entries }] }).layers[0] as BuiltBlob;
    built.set(entries, layer);
  }
  return layer;
}

/** `image` with `base` under its layers: its config (diff_ids, history) and manifest rewritten, the base's bytes hashed never again. */
function onBase(base: BuiltBlob, image: BuiltImage): BuiltImage {
  const config = JSON.parse(image.config.toString()) as { rootfs: { diff_ids: string[] }; history: unknown[] };
  config.rootfs.diff_ids.unshift(base.diffId);
  config.history.unshift({ created_by: 'oci-scan test mirror base' });
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = JSON.parse(image.manifest.toString()) as { config: { digest: string; size: number }; layers: unknown[] };
  manifest.config = { ...manifest.config, digest: digestOf(configBytes), size: configBytes.length };
  manifest.layers.unshift({ mediaType: base.mediaType, digest: base.digest, size: base.size });
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    ...image,
    config: configBytes,
    configDigest: digestOf(configBytes),
    layers: [base, ...image.layers],
    manifest: manifestBytes,
    manifestDigest: digestOf(manifestBytes),
  };
}

/** Text that app layers are cut from (the benchmark's large app layers). */
let pool: Buffer | undefined;

function appLayer(base: number, version: string, n: number, appBytes: number): EntrySpec[] {
  const small: EntrySpec = { type: 'file', path: `opt/app/${base}/${version}/app`, content: `app ${base} ${version}`, mode: 0o755 };
  if (appBytes === 0) return [small];
  pool ??= Buffer.from(
    Array.from({ length: 200_000 }, (_, i) => `line ${i} of the application's data ${(i * 2654435761) % 1000003}`).join('\n'),
  );
  // A repository's own content: a slice of the pool that starts where its number says.
  const start = (n * 7919 + (version === '1.1' ? 3571 : 0)) % (pool.length - 1);
  const parts: Buffer[] = [Buffer.from(`app-${n} ${version}\n`)];
  for (let size = 0, at = start; size < appBytes; at = 0) {
    const piece = pool.subarray(at, Math.min(pool.length, at + appBytes - size));
    parts.push(piece);
    size += piece.length;
  }
  return [small, { type: 'file', path: `opt/app/${base}/${version}/data`, content: Buffer.concat(parts) }];
}

/** The images of repository number `n`: 1.0 and 1.1 (latest is 1.1), on `bases[n % bases.length]`. */
export function mirrorImages(
  n: number,
  bases: ReadonlyArray<readonly EntrySpec[]> = BASES,
  appBytes = 0,
): { '1.0': BuiltImage; '1.1': BuiltImage } {
  const base = n % bases.length;
  const labels = { 'org.opencontainers.image.title': `app-${n}` };
  const config = (version: string): Record<string, unknown> => ({
    Labels: { ...labels, version },
    Cmd: ['/opt/app'],
    ...(n % 2 === 0 ? { User: '1000:1000' } : {}),
    ...(n % 5 === 0 ? { ExposedPorts: { '22/tcp': {} } } : {}),
  });
  const image = (version: string): BuiltImage =>
    onBase(
      baseLayer(bases[base] ?? []),
      buildImage({ layers: [{ entries: appLayer(base, version, n, appBytes) }], config: config(version) }),
    );
  return { '1.0': image('1.0'), '1.1': image('1.1') };
}

/** The name of repository number `n`. */
export function mirrorRepository(n: number): string {
  return `mirror/app-${String(n).padStart(3, '0')}`;
}

async function ok(res: Awaited<ReturnType<typeof fetch>>, what: string, status: number): Promise<void> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`mirror set-up: ${what} answered ${res.status}: ${text.slice(0, 300)}`);
}

/** Uploads `bytes` to `repo` (monolithic), or mounts it from `from` when it was uploaded there already. */
async function putBlob(url: string, repo: string, digest: string, bytes: Buffer, from: string | undefined): Promise<void> {
  if (from !== undefined) {
    const mount = await fetch(`${url}/v2/${repo}/blobs/uploads/?mount=${digest}&from=${from}`, { method: 'POST' });
    if (mount.status === 201) return void (await mount.arrayBuffer());
    await mount.arrayBuffer();
  }
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await ok(start, 'starting an upload', 202);
  const location = new URL(start.headers.get('location') ?? '', url);
  location.searchParams.set('digest', digest);
  await ok(
    await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes }),
    'a blob upload',
    201,
  );
}

/** How the benchmark changes the mirror: large base layers (as many as it gives: repository `n` sits on base `n % bases.length`), and app layers of its own (of `appBytes`) for every image. */
export interface MirrorSizes {
  readonly bases?: ReadonlyArray<readonly EntrySpec[]>;
  readonly appBytes?: number;
}

/** Pushes the mirror of `count` repositories to the registry at `url`, `parallel` repositories at a time. */
export async function pushMirror(url: string, count: number, parallel = 8, sizes: MirrorSizes = {}): Promise<Mirror> {
  const uploaded = new Map<string, string>();
  const digests = new Map<string, string>();
  const layers = new Set<string>();
  const pushRepo = async (n: number): Promise<void> => {
    const repo = mirrorRepository(n);
    const images = mirrorImages(n, sizes.bases, sizes.appBytes);
    for (const [tag, image] of [
      ['1.0', images['1.0']],
      ['1.1', images['1.1']],
    ] as const) {
      for (const blob of [{ digest: image.configDigest, bytes: image.config }, ...image.layers]) {
        await putBlob(url, repo, blob.digest, blob.bytes, uploaded.get(blob.digest));
        if (!uploaded.has(blob.digest)) uploaded.set(blob.digest, repo);
      }
      for (const l of image.layers) layers.add(l.digest);
      const tags = tag === '1.1' ? ['1.1', 'latest'] : ['1.0'];
      for (const t of tags) {
        await ok(
          await fetch(`${url}/v2/${repo}/manifests/${t}`, {
            method: 'PUT',
            headers: { 'content-type': image.manifestMediaType },
            body: image.manifest,
          }),
          'a manifest PUT',
          201,
        );
        digests.set(`${repo}:${t}`, image.manifestDigest);
      }
    }
  };
  // The first repository of each base uploads the shared layers; the others mount them.
  const bases = (sizes.bases ?? BASES).length;
  for (let n = 0; n < Math.min(bases, count); n++) await pushRepo(n);
  let next = bases;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await pushRepo(next++);
    }),
  );
  return {
    repositories: Array.from({ length: count }, (_, n) => mirrorRepository(n)),
    tags: ['1.0', '1.1', 'latest'],
    layers,
    digest: (repository, tag) => digests.get(`${repository}:${tag}`) ?? '',
  };
}
