/**
 * Faults a real registry never produces on demand, from the fault-injecting server in
 * test/helpers/fault-server.ts: rate limiting, transient 5xx, a connection cut mid-layer,
 * wrong bytes, cross-host redirects, stalls, redirect loops, oversized manifests; and what a
 * dead, trickling or odd server may cost (src/registry/retry.ts): a blob body below the
 * minimum rate, a manifest past its deadline, a server answering 503 forever (counted in
 * attempts and planned backoff on an injected clock, not on the wall clock), a server that
 * never answers, and foreign layers a registry serves on GET but not on HEAD.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { ServerResponse } from 'node:http';
import { exitCodeFor, isOciScanError, type ErrorCode } from '../../src/errors.js';
import { openRegistryImages } from '../../src/sources/registry.js';
import { DEFAULT_TRANSPORT } from '../../src/registry/options.js';
import { buildImage, digestOf, type BuiltImage } from '../helpers/image-builder.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { sendBlob, startFaultRegistry, startServer, type Fault, type TestServer } from '../helpers/fault-server.js';
import { capturedLogger, readLayers, testOptions } from '../helpers/registry-server.js';

// Provenance: one gzip layer with 300 KB of incompressible-ish content (so that a cut lands mid-blob) and one small layer.
const noise = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919 + (i >> 3) * 31) & 0xff));
const image = buildImage({
  format: 'oci',
  config: { User: 'app' },
  layers: [
    { entries: [{ type: 'file', path: 'data.bin', content: noise }] },
    { entries: [{ type: 'file', path: 'small', content: 'small' }] },
  ],
});
const bigLayer = image.layers[0];
assert.ok(bigLayer);
const bigPath = `/v2/team/app/blobs/${bigLayer.digest}`;
const manifestPath = '/v2/team/app/manifests/1.0';

async function withRegistry(fault: Fault, body: (server: TestServer) => Promise<void>, served: BuiltImage = image): Promise<void> {
  const server = await startFaultRegistry({ repository: 'team/app', tag: '1.0', image: served }, fault);
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, exit = 20): Promise<string> {
  let message = '';
  await assert.rejects(promise, (e: unknown) => {
    if (!isOciScanError(e, code)) return assert.fail(`expected ${code}, got ${String(e)}`);
    assert.equal(exitCodeFor(e.code), exit);
    assert.doesNotMatch(e.message, /\n/);
    message = e.message;
    return true;
  });
  return message;
}

async function scanAll(ref: string, options = testOptions()): Promise<Buffer[]> {
  const [img] = await openRegistryImages(ref, options);
  assert.ok(img);
  const layers = await readLayers(img);
  assert.deepEqual(
    layers.map((l) => l.digest),
    image.layers.map((l) => l.digest),
  );
  return layers.map((l) => l.bytes);
}

test('429 with Retry-After is retried after the delay the registry asked for', async () => {
  await withRegistry(
    (req, res, count) => {
      if (req.url === manifestPath && count === 1) {
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"errors":[{"code":"TOOMANYREQUESTS"}]}');
        return true;
      }
      return false;
    },
    async (server) => {
      const started = Date.now();
      await scanAll(`${server.host}/team/app:1.0`);
      assert.ok(Date.now() - started >= 900, 'waited for Retry-After (1 s), not the 10 ms backoff');
      assert.equal(server.requests.filter((r) => r.path === manifestPath).length, 2);
    },
  );
});

test('503 then success; 429 forever ends in a clear REGISTRY_ERROR after the retry cap', async () => {
  await withRegistry(
    (req, res, count) => {
      if (req.url === bigPath && count <= 2) {
        res.writeHead(503).end('busy');
        return true;
      }
      return false;
    },
    async (server) => {
      await scanAll(`${server.host}/team/app:1.0`);
      assert.equal(server.requests.filter((r) => r.path === bigPath).length, 3);
    },
  );
  await withRegistry(
    (req, res) => {
      if (req.url === manifestPath) {
        res.writeHead(429, { 'retry-after': '0' }).end();
        return true;
      }
      return false;
    },
    async (server) => {
      const msg = await rejectsWith(openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ retries: 2 })), 'REGISTRY_ERROR');
      assert.match(msg, /rate-limiting.*try again later/);
      assert.equal(server.requests.filter((r) => r.path === manifestPath).length, 3);
    },
  );
});

test('a connection reset mid-layer is resumed with Range; the bytes equal the fault-free ones', async () => {
  const clean = await (async () => {
    let out: Buffer[] = [];
    await withRegistry(
      () => false,
      async (server) => {
        out = await scanAll(`${server.host}/team/app:1.0`);
      },
    );
    return out;
  })();
  const cut = Math.floor(bigLayer.bytes.length / 2);
  await withRegistry(
    (req, res, count) => {
      if (req.url === bigPath && count === 1) {
        res.writeHead(200, { 'content-length': bigLayer.bytes.length });
        res.write(bigLayer.bytes.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
        return true;
      }
      return false;
    },
    async (server) => {
      const bytes = await scanAll(`${server.host}/team/app:1.0`);
      assert.deepEqual(bytes, clean);
      const blobRequests = server.requests.filter((r) => r.path === bigPath);
      assert.equal(blobRequests.length, 2);
      assert.equal(blobRequests[0]?.headers.range, undefined);
      assert.match(blobRequests[1]?.headers.range ?? '', /^bytes=\d+-$/);
      assert.ok(Number(/\d+/.exec(blobRequests[1]?.headers.range ?? '')?.[0]) > 0);
    },
  );
  // A server that ignores Range on the resume (answers 200 with everything) still gives the right bytes.
  await withRegistry(
    (req, res, count) => {
      if (req.url !== bigPath) return false;
      if (count === 1) {
        res.writeHead(200, { 'content-length': bigLayer.bytes.length });
        res.write(bigLayer.bytes.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      } else {
        res.writeHead(200, { 'content-length': bigLayer.bytes.length }).end(bigLayer.bytes);
      }
      return true;
    },
    async (server) => {
      assert.deepEqual(await scanAll(`${server.host}/team/app:1.0`), clean);
    },
  );
});

test('wrong blob bytes: DIGEST_MISMATCH (exit 20) before the stream ends; wrong manifest for a digest too', async () => {
  await withRegistry(
    (req, res) => {
      if (req.url === bigPath) {
        const wrong = Buffer.from(bigLayer.bytes);
        wrong[1000] = (wrong[1000] ?? 0) ^ 0xff;
        sendBlob(req, res, wrong);
        return true;
      }
      if (req.url === `/v2/team/app/manifests/${image.manifestDigest}`) {
        sendBlob(req, res, Buffer.concat([image.manifest, Buffer.from(' ')]), image.manifestMediaType);
        return true;
      }
      return false;
    },
    async (server) => {
      const [img] = await openRegistryImages(`${server.host}/team/app:1.0`, testOptions());
      assert.ok(img);
      const msg = await rejectsWith(readLayers(img), 'DIGEST_MISMATCH');
      assert.match(msg, new RegExp(bigLayer.digest));
      const m = await rejectsWith(openRegistryImages(`${server.host}/team/app@${image.manifestDigest}`, testOptions()), 'DIGEST_MISMATCH');
      assert.match(m, /manifest/);
    },
  );
});

test('a blob redirected to another host gets no Authorization (and signed query strings are not logged)', async () => {
  const cdn = await startServer((req, res) => sendBlob(req, res, bigLayer.bytes));
  const user = 'ci';
  const password = 'redirect-pw-123456';
  const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  try {
    await withRegistry(
      (req, res) => {
        if (req.headers.authorization !== basic) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="fault"' }).end();
          return true;
        }
        if (req.url === bigPath) {
          res.writeHead(307, { location: `${cdn.url}/storage/blob?X-Amz-Signature=SIGNED-SECRET` }).end();
          return true;
        }
        return false;
      },
      async (server) => {
        const { logger, text } = capturedLogger();
        const env = { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [server.host]: { username: user, password } } }) };
        const [img] = await openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ env }, undefined, logger));
        assert.ok(img);
        const layers = await readLayers(img);
        assert.equal(layers[0]?.digest, bigLayer.digest);
        assert.ok(
          server.requests.some((r) => r.path === bigPath && r.headers.authorization === basic),
          'the registry got the credentials',
        );
        assert.equal(cdn.requests.length, 1);
        assert.equal(cdn.requests[0]?.headers.authorization, undefined, 'no Authorization reached the other host');
        assert.ok(!text().includes('SIGNED-SECRET'));
        assert.ok(!text().includes(password));
      },
    );
  } finally {
    await cdn.stop();
  }
});

test('an endless redirect loop ends in a clear error', async () => {
  await withRegistry(
    (req, res) => {
      if (req.url?.startsWith(bigPath) || req.url?.startsWith('/loop')) {
        res.writeHead(302, { location: `/loop/${Math.random()}` }).end();
        return true;
      }
      return false;
    },
    async (server) => {
      const [img] = await openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ maxRedirects: 5 }));
      assert.ok(img);
      const msg = await rejectsWith(readLayers(img), 'REGISTRY_ERROR');
      assert.match(msg, /redirected .* more than 5 times/);
      assert.equal(server.requests.filter((r) => r.path.startsWith('/loop')).length, 5);
    },
  );
});

test('a server that stops sending: TIMEOUT (exit 20), not a hang — mid-body and before headers', async () => {
  await withRegistry(
    (req, res) => {
      if (req.url === bigPath) {
        res.writeHead(200, { 'content-length': bigLayer.bytes.length });
        res.write(bigLayer.bytes.subarray(0, 1000)); // then nothing
        return true;
      }
      return false;
    },
    async (server) => {
      const [img] = await openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ stallTimeoutMs: 300, retries: 1 }));
      assert.ok(img);
      const msg = await rejectsWith(readLayers(img), 'TIMEOUT');
      assert.match(msg, /stopped sending data for 0\.3s/);
      assert.equal(server.requests.filter((r) => r.path === bigPath).length, 2, 'one resume attempt, then the error');
    },
  );
  await withRegistry(
    (req) => req.url === manifestPath, // never answers
    async (server) => {
      const msg = await rejectsWith(
        openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ stallTimeoutMs: 300, retries: 0 })),
        'TIMEOUT',
      );
      assert.match(msg, /sent no response/);
    },
  );
});

test('a 401 without WWW-Authenticate reuses the ping challenge and re-authenticates once', async () => {
  let issued = 0;
  await withRegistry(
    (req, res, count) => {
      const host = req.headers.host ?? '';
      if (req.url?.startsWith('/token')) {
        issued++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `tok-${issued}`, expires_in: 300 }));
        return true;
      }
      if (req.url === '/v2/') {
        // two challenges in two headers; Bearer is used
        res
          .writeHead(401, [
            ['www-authenticate', 'Basic realm="x"'],
            ['www-authenticate', `Bearer realm="http://${host}/token",service="fault"`],
          ])
          .end();
        return true;
      }
      if (req.url === manifestPath && count === 1) {
        res.writeHead(401).end(); // no WWW-Authenticate at all
        return true;
      }
      if (!req.headers.authorization?.startsWith('Bearer tok-')) {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="fault"` }).end();
        return true;
      }
      return false;
    },
    async (server) => {
      await scanAll(`${server.host}/team/app:1.0`);
      const manifests = server.requests.filter((r) => r.path === manifestPath);
      assert.equal(manifests.length, 2);
      assert.equal(manifests[1]?.headers.authorization, 'Bearer tok-2', 'a fresh token after the second challenge');
    },
  );
});

test('a manifest over 4 MiB is refused (INVALID_MANIFEST, exit 21) without trusting Content-Length', async () => {
  await withRegistry(
    (req, res) => {
      if (req.url === manifestPath) {
        res.writeHead(200, { 'content-type': image.manifestMediaType }); // chunked: no Content-Length
        const chunk = Buffer.alloc(256 * 1024, 0x20);
        let sent = 0;
        const more = (): void => {
          while (sent < 40) {
            sent++;
            if (!res.write(chunk)) {
              res.once('drain', more);
              return;
            }
          }
          res.end();
        };
        res.on('error', () => undefined);
        more();
        return true;
      }
      return false;
    },
    async (server) => {
      const msg = await rejectsWith(openRegistryImages(`${server.host}/team/app:1.0`, testOptions()), 'INVALID_MANIFEST', 21);
      assert.match(msg, /larger than 4 MiB/);
    },
  );
});

test('the digest of what was read is the digest of the manifest', () => {
  assert.equal(digestOf(image.manifest), image.manifestDigest);
});

/** Sends a 200 with the full length announced, then one byte every `everyMs` (until the client leaves). */
function trickle(res: ServerResponse, bytes: Buffer, everyMs: number, contentType = 'application/octet-stream'): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length });
  let i = 0;
  const timer = setInterval(() => {
    if (i >= bytes.length || res.destroyed) {
      clearInterval(timer);
      return;
    }
    res.write(bytes.subarray(i, i + 1));
    i++;
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

const count = (server: TestServer, path: string): number => server.requests.filter((r) => r.path === path).length;

test('a blob trickling below the minimum rate: TIMEOUT after one resume, not a scan held for days', async () => {
  await withRegistry(
    (req, res) => {
      if (req.url !== bigPath) return false;
      trickle(res, bigLayer.bytes, 50);
      return true;
    },
    async (server) => {
      // 20 B/s against a floor of 1000 B/s averaged over 300 ms windows; the stall timeout (5 s) never fires.
      const options = testOptions({ minBytesPerSecond: 1000, throughputWindowMs: 300, retries: 1 });
      const [img] = await openRegistryImages(`${server.host}/team/app:1.0`, options);
      assert.ok(img);
      const msg = await rejectsWith(readLayers(img), 'TIMEOUT');
      assert.match(msg, /sent less than 1000 B\/s for 0\.3s while fetching layer .* \(2 attempts\): .*too slow/);
      assert.equal(count(server, bigPath), 2, 'the first attempt and one resume');
      assert.match(server.requests.filter((r) => r.path === bigPath)[1]?.headers.range ?? '', /^bytes=\d+-$/);
    },
  );
});

test('a slow consumer is not blamed on the server: time spent holding a chunk does not count', async () => {
  // Provenance: 16 MiB of xorshift32 output used verbatim as a blob, far more than the stream buffers hold.
  const big = Buffer.alloc(16 * 1024 * 1024);
  let x = 2463534242;
  for (let i = 0; i < big.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    big.writeUInt32LE(x >>> 0, i);
  }
  const served = buildImage({ layers: [{ blob: big }] });
  await withRegistry(
    () => false,
    async (server) => {
      // A floor no network reaches (1 GB/s over 3 s windows): only waiting for the server counts against it.
      const [img] = await openRegistryImages(
        `${server.host}/team/app:1.0`,
        testOptions({ minBytesPerSecond: 1e9, throughputWindowMs: 3000 }),
      );
      const layer = img?.layers[0];
      assert.ok(layer);
      const chunks: Buffer[] = [];
      for await (const c of await layer.open()) {
        if (chunks.length === 0) await new Promise((r) => setTimeout(r, 3500));
        chunks.push(c as Buffer);
      }
      assert.equal(digestOf(Buffer.concat(chunks)), served.layers[0]?.digest);
      assert.equal(count(server, `/v2/team/app/blobs/${served.layers[0]?.digest ?? ''}`), 1, 'read in one go: not cut off and resumed');
    },
    served,
  );
});

test('a manifest trickling past its deadline: TIMEOUT naming the deadline', async () => {
  await withRegistry(
    (req, res) => {
      if (req.url !== manifestPath) return false;
      trickle(res, image.manifest, 20, image.manifestMediaType);
      return true;
    },
    async (server) => {
      const msg = await rejectsWith(
        openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ requestDeadlineMs: 300, retries: 1 })),
        'TIMEOUT',
      );
      assert.match(msg, /did not send a complete answer within 0\.3s while fetching the manifest 1\.0 .*\(2 attempts\)/);
      assert.equal(count(server, manifestPath), 2);
    },
  );
});

test('a registry answering 503 forever: the default retries, then the retry window, bound the attempts and the planned backoff', async () => {
  const always503: Fault = (req, res) => {
    if (req.url !== manifestPath) return false;
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"backend down"}]}');
    return true;
  };
  const defaults = {
    retries: DEFAULT_TRANSPORT.retries,
    retryDelayMs: DEFAULT_TRANSPORT.retryDelayMs,
    maxRetryDelayMs: DEFAULT_TRANSPORT.maxRetryDelayMs,
    retryWindowMs: DEFAULT_TRANSPORT.retryWindowMs,
  };
  await withRegistry(always503, async (server) => {
    const clock = fakeClock();
    const msg = await rejectsWith(openRegistryImages(`${server.host}/team/app:1.0`, testOptions(defaults), { clock }), 'REGISTRY_ERROR');
    assert.match(msg, /failed with 503 .*after 5 attempts: try again later/);
    assert.equal(count(server, manifestPath), 5);
    assert.deepEqual(clock.slept, [500, 1000, 2000, 4000]);
  });
  await withRegistry(always503, async (server) => {
    const clock = fakeClock();
    await rejectsWith(
      openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ ...defaults, retries: 100 }), { clock }),
      'REGISTRY_ERROR',
    );
    // 0.5+1+2+4+8+16 s planned; the next backoff (30 s) would start after the 60 s window.
    assert.deepEqual(clock.slept, [500, 1000, 2000, 4000, 8000, 16_000]);
    assert.equal(count(server, manifestPath), 7);
  });
});

test('a registry that never answers: the retry window ends the request, however many retries are allowed', async () => {
  await withRegistry(
    (req) => req.url === manifestPath, // accepts, never answers
    async (server) => {
      const options = testOptions({ stallTimeoutMs: 200, retryWindowMs: 500, retries: 10, requestDeadlineMs: 10_000 });
      const msg = await rejectsWith(openRegistryImages(`${server.host}/team/app:1.0`, options), 'TIMEOUT');
      assert.match(msg, /sent no response for 0\.2s|gave no answer within 0\.5s of retrying/);
      // Each attempt but the last waits the full 200 ms: at most 500/200 + 1 attempts fit in the window.
      const n = count(server, manifestPath);
      assert.ok(n >= 1 && n <= 4, `${n} attempts`);
    },
  );
});

/** `image` with its first layer turned into a foreign layer whose `urls` point at `url`. */
function withForeignLayer(url: string): BuiltImage {
  const doc = JSON.parse(image.manifest.toString()) as { layers: Array<{ mediaType: string; urls?: string[] }> };
  const first = doc.layers[0];
  assert.ok(first);
  first.mediaType = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
  first.urls = [`${url}/layer.tar.gz`];
  const manifest = Buffer.from(JSON.stringify(doc));
  return { ...image, manifest, manifestDigest: digestOf(manifest) };
}

test('foreign layers: HEAD 404 but GET 200 is scanned; 404 to both is notScanned; the layer URLs are never fetched', async () => {
  const outside = await startServer((req, res) => sendBlob(req, res, bigLayer.bytes));
  try {
    const foreign = withForeignLayer(outside.url);
    await withRegistry(
      (req, res) => {
        if (req.url === bigPath && req.method === 'HEAD') {
          res.writeHead(404).end();
          return true;
        }
        return false;
      },
      async (server) => {
        const [img] = await openRegistryImages(`${server.host}/team/app:1.0`, testOptions());
        assert.ok(img);
        assert.equal(img.layers[0]?.notScanned, undefined);
        const layers = await readLayers(img);
        assert.equal(layers[0]?.digest, bigLayer.digest);
        const probes = server.requests.filter((r) => r.path === bigPath).map((r) => `${r.method} ${r.headers.range ?? ''}`);
        assert.deepEqual(probes, ['HEAD ', 'GET bytes=0-0', 'GET ']);
      },
      foreign,
    );
    await withRegistry(
      (req, res) => {
        if (req.url === bigPath) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
          return true;
        }
        return false;
      },
      async (server) => {
        const [img] = await openRegistryImages(`${server.host}/team/app:1.0`, testOptions());
        assert.match(
          img?.layers[0]?.notScanned ?? '',
          /foreign .*not held by registry 127\.0\.0\.1:\d+; oci-scan never downloads layers from their external URLs/,
        );
        assert.equal(img?.layers[1]?.notScanned, undefined);
        await rejectsWith(
          Promise.resolve().then(() => img?.layers[0]?.open()),
          'IMAGE_NOT_FOUND',
        );
      },
      foreign,
    );
    assert.equal(outside.requests.length, 0, 'nothing fetched from the layer URLs');
  } finally {
    await outside.stop();
  }
});
