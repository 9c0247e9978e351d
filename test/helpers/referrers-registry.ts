/**
 * A small in-memory registry that follows the OCI distribution spec 1.1 far enough for
 * attestations: blob upload (POST, then PUT ?digest=), blobs and manifests by digest and tag,
 * and the referrers API — `GET /v2/NAME/referrers/DIGEST` answering an index of the manifests
 * whose `subject` is DIGEST, and `OCI-Subject` on the PUT of such a manifest. No registry
 * packaged for this machine implements the referrers API (Debian's docker-registry is
 * Distribution 2.8), hence this one; written from the spec's text, independent of the client.
 * Anonymous, plain HTTP on 127.0.0.1.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startServer, type TestServer } from './fault-server.js';

/** A running referrers registry. */
export interface ReferrersRegistry extends TestServer {
  /** The tags of a repository. */
  tags(repository: string): string[];
}

interface Stored {
  readonly bytes: Buffer;
  readonly mediaType: string;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Starts the registry. */
export async function startReferrersRegistry(): Promise<ReferrersRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, Stored>();
  const tags = new Map<string, string>();
  const send = (res: ServerResponse, status: number, headers: Record<string, string> = {}, data?: Buffer | string): void => {
    res.writeHead(status, { 'content-length': String(data ? Buffer.byteLength(data) : 0), ...headers }).end(data);
  };
  const notFound = (res: ServerResponse, code: string): void => {
    const text = JSON.stringify({ errors: [{ code, message: 'not found' }] });
    send(res, 404, { 'content-type': 'application/json' }, text);
  };
  const server = await startServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/v2/' || path === '/v2') return send(res, 200, { 'content-type': 'application/json' }, '{}');
    let m = /^\/v2\/(.+)\/blobs\/uploads\/(.*)$/.exec(path);
    if (m) {
      if (method === 'POST') return send(res, 202, { location: `/v2/${m[1]}/blobs/uploads/${randomUUID()}` });
      if (method === 'PUT') {
        const bytes = await body(req);
        const digest = url.searchParams.get('digest') ?? '';
        if (digestOf(bytes) !== digest)
          return send(
            res,
            400,
            { 'content-type': 'application/json' },
            JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: 'digest' }] }),
          );
        blobs.set(`${m[1]}@${digest}`, bytes);
        return send(res, 201, { location: `/v2/${m[1]}/blobs/${digest}`, 'docker-content-digest': digest });
      }
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (m) {
      const bytes = blobs.get(`${m[1]}@${m[2]}`);
      if (!bytes) return notFound(res, 'BLOB_UNKNOWN');
      if (method === 'HEAD') return void res.writeHead(200, { 'content-length': String(bytes.length) }).end();
      return send(res, 200, { 'content-type': 'application/octet-stream' }, bytes);
    }
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (m) {
      const [, repo, ref] = m as unknown as [string, string, string];
      if (method === 'PUT') {
        const bytes = await body(req);
        const digest = digestOf(bytes);
        if (ref.startsWith('sha256:') && ref !== digest) return send(res, 400, {}, 'digest');
        manifests.set(`${repo}@${digest}`, {
          bytes,
          mediaType: req.headers['content-type'] ?? 'application/vnd.oci.image.manifest.v1+json',
        });
        if (!ref.startsWith('sha256:')) tags.set(`${repo}:${ref}`, digest);
        const subject = (JSON.parse(bytes.toString('utf8')) as { subject?: { digest?: string } }).subject?.digest;
        return send(res, 201, {
          location: `/v2/${repo}/manifests/${digest}`,
          'docker-content-digest': digest,
          ...(subject ? { 'oci-subject': subject } : {}),
        });
      }
      const digest = ref.startsWith('sha256:') ? ref : tags.get(`${repo}:${ref}`);
      const stored = digest ? manifests.get(`${repo}@${digest}`) : undefined;
      if (!stored || !digest) return notFound(res, 'MANIFEST_UNKNOWN');
      const headers = { 'content-type': stored.mediaType, 'docker-content-digest': digest };
      if (method === 'HEAD') return void res.writeHead(200, { ...headers, 'content-length': String(stored.bytes.length) }).end();
      return send(res, 200, headers, stored.bytes);
    }
    m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (m && method === 'GET') {
      const [, repo, subject] = m as unknown as [string, string, string];
      const referrers = [...manifests.entries()].flatMap(([key, stored]) => {
        if (!key.startsWith(`${repo}@`)) return [];
        const doc = JSON.parse(stored.bytes.toString('utf8')) as {
          subject?: { digest?: string };
          artifactType?: string;
          config?: { mediaType?: string };
          annotations?: Record<string, string>;
        };
        if (doc.subject?.digest !== subject) return [];
        return [
          {
            mediaType: stored.mediaType,
            digest: key.slice(repo.length + 1),
            size: stored.bytes.length,
            artifactType: doc.artifactType ?? doc.config?.mediaType,
            ...(doc.annotations ? { annotations: doc.annotations } : {}),
          },
        ];
      });
      return send(
        res,
        200,
        { 'content-type': 'application/vnd.oci.image.index.v1+json' },
        JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: referrers }),
      );
    }
    return notFound(res, 'NAME_UNKNOWN');
  });
  return {
    ...server,
    tags: (repository) => [...tags.keys()].filter((k) => k.startsWith(`${repository}:`)).map((k) => k.slice(repository.length + 1)),
  };
}
