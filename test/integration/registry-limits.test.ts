/**
 * What a dead, trickling or odd server may cost (src/registry/retry.ts), from the fault server
 * (a real registry neither trickles nor dies on demand): a blob body below the minimum rate, a
 * manifest past its deadline, a server that answers 503 forever (counted in attempts and
 * planned backoff on an injected clock, not on the wall clock), a server that never answers,
 * and foreign layers a registry serves on GET but not on HEAD.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { ServerResponse } from 'node:http';
import { exitCodeFor, isOciScanError, type ErrorCode } from '../../src/errors.js';
import { openRegistryImages } from '../../src/image/sources/registry.js';
import type { Clock } from '../../src/registry/retry.js';
import { DEFAULT_TRANSPORT } from '../../src/registry/transport.js';
import { buildImage, digestOf, type BuiltImage } from '../helpers/image-builder.js';
import { sendBlob, startFaultRegistry, startServer, type Fault, type TestServer } from '../helpers/fault-server.js';
import { readLayers, testOptions } from '../helpers/registry-server.js';

// Provenance: one gzip layer with 300 KB of poorly compressible content, and one small layer.
const noise = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919 + (i >> 3) * 31) & 0xff));
const image = buildImage({ format: 'oci', layers: [{ entries: [{ type: 'file', path: 'data.bin', content: noise }] }, { entries: [{ type: 'file', path: 'small', content: 'small' }] }] });
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

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<string> {
  let message = '';
  await assert.rejects(promise, (e: unknown) => {
    if (!isOciScanError(e, code)) return assert.fail(`expected ${code}, got ${String(e)}`);
    assert.equal(exitCodeFor(e.code), 20);
    assert.doesNotMatch(e.message, /\n/);
    message = e.message;
    return true;
  });
  return message;
}

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
      const [img] = await openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ minBytesPerSecond: 1e9, throughputWindowMs: 3000 }));
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
      const msg = await rejectsWith(openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ requestDeadlineMs: 300, retries: 1 })), 'TIMEOUT');
      assert.match(msg, /did not send a complete answer within 0\.3s while fetching the manifest 1\.0 .*\(2 attempts\)/);
      assert.equal(count(server, manifestPath), 2);
    },
  );
});

/** A clock whose sleeps return at once and move its time; jitter factor exactly 1. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => now,
    random: () => 0.5,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
    slept,
  };
}

test('a registry answering 503 forever: the default retries, then the retry window, bound the attempts and the planned backoff', async () => {
  const always503: Fault = (req, res) => {
    if (req.url !== manifestPath) return false;
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"backend down"}]}');
    return true;
  };
  const defaults = { retries: DEFAULT_TRANSPORT.retries, retryDelayMs: DEFAULT_TRANSPORT.retryDelayMs, maxRetryDelayMs: DEFAULT_TRANSPORT.maxRetryDelayMs, retryWindowMs: DEFAULT_TRANSPORT.retryWindowMs };
  await withRegistry(always503, async (server) => {
    const clock = fakeClock();
    const msg = await rejectsWith(openRegistryImages(`${server.host}/team/app:1.0`, testOptions(defaults), { clock }), 'REGISTRY_ERROR');
    assert.match(msg, /failed with 503 .*after 5 attempts: try again later/);
    assert.equal(count(server, manifestPath), 5);
    assert.deepEqual(clock.slept, [500, 1000, 2000, 4000]);
  });
  await withRegistry(always503, async (server) => {
    const clock = fakeClock();
    await rejectsWith(openRegistryImages(`${server.host}/team/app:1.0`, testOptions({ ...defaults, retries: 100 }), { clock }), 'REGISTRY_ERROR');
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
        assert.match(img?.layers[0]?.notScanned ?? '', /foreign .*not held by registry .*HEAD and GET answered 404.*never downloads layers from their external URLs/);
        assert.equal(img?.layers[1]?.notScanned, undefined);
        await rejectsWith(Promise.resolve().then(() => img?.layers[0]?.open()), 'IMAGE_NOT_FOUND');
      },
      foreign,
    );
    assert.equal(outside.requests.length, 0, 'nothing fetched from the layer URLs');
  } finally {
    await outside.stop();
  }
});
