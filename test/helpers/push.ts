/**
 * Pushes images built by image-builder.ts into a registry, over the Distribution API
 * (OCI distribution-spec "Push"): monolithic blob upload (POST then PUT ?digest=), manifest
 * PUT by digest and by tag. Handles anonymous, Basic and Bearer (token with push scope).
 * Deliberately independent of the client under test: only node's fetch is used.
 */
import { fetch } from 'undici';
import type { BuiltImage } from './image-builder.js';

/** Credentials for pushing. */
export interface PushCredentials {
  readonly username: string;
  readonly password: string;
}

/** A push session to one repository: caches the Authorization it negotiated. */
export class Pusher {
  readonly #base: string;
  readonly #repo: string;
  readonly #creds: PushCredentials | undefined;
  #authorization: string | undefined | null = null;

  constructor(baseUrl: string, repository: string, creds?: PushCredentials) {
    this.#base = baseUrl;
    this.#repo = repository;
    this.#creds = creds;
  }

  async #auth(): Promise<string | undefined> {
    if (this.#authorization !== null) return this.#authorization;
    const ping = await fetch(`${this.#base}/v2/`);
    await ping.arrayBuffer();
    const basic = this.#creds ? `Basic ${Buffer.from(`${this.#creds.username}:${this.#creds.password}`).toString('base64')}` : undefined;
    const challenge = ping.headers.get('www-authenticate') ?? '';
    if (ping.status === 200) this.#authorization = undefined;
    else if (/^basic/i.test(challenge)) this.#authorization = basic;
    else if (/^bearer/i.test(challenge)) {
      const realm = /realm="([^"]+)"/.exec(challenge)?.[1] ?? '';
      const service = /service="([^"]+)"/.exec(challenge)?.[1] ?? '';
      const url = new URL(realm);
      url.searchParams.set('service', service);
      url.searchParams.set('scope', `repository:${this.#repo}:pull,push`);
      const res = await fetch(url, { headers: basic ? { authorization: basic } : {} });
      if (res.status !== 200) throw new Error(`push: token request failed with ${res.status}`);
      const doc = (await res.json()) as { token?: string; access_token?: string };
      this.#authorization = `Bearer ${doc.token ?? doc.access_token ?? ''}`;
    } else throw new Error(`push: unexpected ping answer ${ping.status}`);
    return this.#authorization;
  }

  async #headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const a = await this.#auth();
    return a ? { ...extra, authorization: a } : extra;
  }

  /** Uploads one blob (skipped when the registry has it). */
  async blob(digest: string, bytes: Buffer): Promise<void> {
    const head = await fetch(`${this.#base}/v2/${this.#repo}/blobs/${digest}`, { method: 'HEAD', headers: await this.#headers() });
    if (head.status === 200) return;
    const start = await fetch(`${this.#base}/v2/${this.#repo}/blobs/uploads/`, { method: 'POST', headers: await this.#headers() });
    await start.arrayBuffer();
    if (start.status !== 202) throw new Error(`push: starting a blob upload answered ${start.status}`);
    const location = new URL(start.headers.get('location') ?? '', this.#base);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: await this.#headers({ 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }),
      body: bytes,
    });
    const text = await put.text();
    if (put.status !== 201) throw new Error(`push: blob PUT answered ${put.status}: ${text}`);
  }

  /** PUTs a manifest or index under `reference` (a tag or its digest). */
  async manifest(reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    const res = await fetch(`${this.#base}/v2/${this.#repo}/manifests/${reference}`, {
      method: 'PUT',
      headers: await this.#headers({ 'content-type': mediaType }),
      body: bytes,
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`push: manifest PUT answered ${res.status}: ${text}`);
  }

  /** Pushes an image's blobs and manifest, tagged `tag` when given (else by digest only). */
  async image(image: BuiltImage, tag?: string, skipLayers: readonly string[] = []): Promise<void> {
    await this.blob(image.configDigest, image.config);
    for (const l of image.layers) if (!skipLayers.includes(l.digest)) await this.blob(l.digest, l.bytes);
    await this.manifest(tag ?? image.manifestDigest, image.manifest, image.manifestMediaType);
  }

  /** Pushes every image of an index (by digest), then the index under `tag`. */
  async index(images: readonly BuiltImage[], index: { bytes: Buffer; mediaType: string }, tag: string): Promise<void> {
    for (const i of images) await this.image(i);
    await this.manifest(tag, index.bytes, index.mediaType);
  }
}
