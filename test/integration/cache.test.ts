/**
 * The persistent layer-facts cache through the built CLI (docs/architecture.md, "The persistent
 * cache"): a warm re-scan in a new process fetches no layer blob from a real registry and
 * reports the same bytes; several processes scanning images that share layers into one
 * directory at once all report correctly and leave it consistent; a read-only or full
 * directory costs one warning, never the scan; a changed compiler table misses; the directory
 * options and `oci-scan cache info|prune|clear`.
 *
 * Provenance: images built by test/helpers/image-builder.ts (random bytes make layers of a
 * few hundred KiB), pushed to the real docker-registry or written as OCI layouts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256Digest } from '../../src/image/verify.js';
import { configFileName, DISK_FORMAT, entryFileName, isLayerFacts, verdictFileName } from '../../src/store/disk.js';
import { startCountingProxy } from '../helpers/counting-proxy.js';
import { buildImage, buildIndex, writeOciLayout, type BuiltImage, type EntrySpec } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { scan } from '../../src/scan.js';
import { runCli, tempDir, TEST_CACHE_ROOT, testScanOptions } from '../helpers/scan.js';
import { withMount } from '../helpers/tmpfs.js';
import { describeOrSkip } from '../helpers/skip.js';

const base: EntrySpec[] = [
  { type: 'file', path: 'etc/os-release', content: 'ID=debian\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
  { type: 'file', path: 'usr/lib/base.bin', content: randomBytes(384 * 1024) },
];
/** Image `n`: the shared base layer, then a layer of its own (image 1 has a compiler, image 2 a suid file). */
function imageOf(n: number): BuiltImage {
  const own: EntrySpec[] = [{ type: 'file', path: `srv/app${n}.bin`, content: randomBytes(128 * 1024) }];
  if (n === 1) own.push({ type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'gcc' });
  if (n === 2) own.push({ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' });
  return buildImage({ config: { User: '1000:1000' }, layers: [{ entries: base }, { entries: own }] });
}
const images = [0, 1, 2, 3].map(imageOf);

/** Inspections a run made (its debug log says "layer inspected" for each; a cache hit says nothing). */
function inspections(stderr: string): number {
  return stderr.split('\n').filter((l) => l.includes('"msg":"layer inspected"')).length;
}

/**
 * Checks every file of a cache directory: entries that parse, validate and sit under their key's
 * name (configs: under their digest's; verdicts: under their key's, holding a scan's check
 * outcomes); no temporary file. Returns how many layer-facts and config entries there are.
 */
async function assertConsistent(dir: string): Promise<number> {
  const names = await readdir(dir);
  for (const name of names) {
    if (name.startsWith('c-')) {
      assert.equal(configFileName(sha256Digest(await readFile(join(dir, name)))), name, `a config entry sits under its digest (${name})`);
      continue;
    }
    if (name.startsWith('v-')) {
      const doc = JSON.parse(await readFile(join(dir, name), 'utf8')) as { format: unknown; key: string; verdict: { format?: unknown } };
      assert.equal(doc.format, DISK_FORMAT);
      assert.equal(verdictFileName(doc.key), name);
      assert.equal(doc.verdict.format, 'oci-scan-outcomes/1', name);
      continue;
    }
    assert.match(name, /^f-[0-9a-f]{64}\.json$/, `only entries are left (${name})`);
    const doc = JSON.parse(await readFile(join(dir, name), 'utf8')) as { format: unknown; key: string; facts: unknown };
    assert.equal(doc.format, DISK_FORMAT);
    assert.equal(entryFileName(doc.key), name);
    assert.ok(isLayerFacts(doc.facts), name);
  }
  return names.filter((n) => !n.startsWith('v-')).length;
}

/** The verdict entries of a cache directory. */
const verdictsIn = async (dir: string): Promise<number> => (await readdir(dir)).filter((n) => n.startsWith('v-')).length;

describeOrSkip('warm re-scan against the real registry', { skip: registrySkipReason() }, () => {
  let registry: RunningRegistry;
  before(async () => {
    registry = await startRegistry({ kind: 'none' });
    const pusher = new Pusher(registry.url, 'app/img', undefined);
    await pusher.image(images[1] as BuiltImage, '1.0');
    const arm = buildImage({ platform: { os: 'linux', architecture: 'arm64' }, layers: [{ entries: base }] });
    await pusher.index([images[2] as BuiltImage, arm], buildIndex([images[2] as BuiltImage, arm]), 'multi');
  });
  after(async () => {
    await registry?.stop();
  });

  test('a new process with the same cache directory fetches the manifests only — no layer blob, no config blob — and reports the same bytes', async () => {
    const { dir, cleanup } = await tempDir();
    const proxy = await startCountingProxy(registry.url);
    try {
      const cache = join(dir, 'cache');
      const refs = [`${proxy.host}/app/img:1.0`, `${proxy.host}/app/img:multi`];
      const runOnce = async (
        name: string,
      ): Promise<{
        code: number | null;
        stderr: string;
        stdout: string;
        requests: { method: string; path: string }[];
        json: string;
        legacy: string[];
      }> => {
        const seen = proxy.requests.length;
        const out = join(dir, name);
        const r = await runCli(
          [...refs, '--format', 'legacy', '--format', `json=${join(dir, `${name}.json`)}`, '--reports-dir', out, '--log-level', 'debug'],
          { env: { OCI_SCAN_CACHE_DIR: cache } },
        );
        const files = (await readdir(out)).sort();
        return {
          ...r,
          requests: proxy.requests.slice(seen),
          json: await readFile(join(dir, `${name}.json`), 'utf8'),
          legacy: await Promise.all(files.map((f) => readFile(join(out, f), 'utf8'))),
        };
      };
      const cold = await runOnce('cold');
      const warm = await runOnce('warm');
      assert.equal(cold.code, 12, cold.stderr);
      assert.equal(warm.code, cold.code);

      const layerDigests = new Set([images[1], images[2]].flatMap((i) => i?.layers.map((l) => l.digest) ?? []));
      const configDigests = [images[1]?.configDigest, images[2]?.configDigest];
      const layerGets = (rs: { method: string; path: string }[]): number =>
        rs.filter((r) => r.method === 'GET' && [...layerDigests].some((d) => r.path.includes(`/blobs/${d}`))).length;
      assert.equal(layerGets(cold.requests), 3, 'cold: the shared base once, each image its own layer');
      assert.equal(layerGets(warm.requests), 0, 'warm: no layer blob');
      assert.equal(inspections(cold.stderr), 3);
      assert.equal(inspections(warm.stderr), 0);
      for (const d of configDigests)
        assert.ok(
          cold.requests.some((r) => r.method === 'GET' && r.path.includes(`/blobs/${d ?? 'missing'}`)),
          `cold fetches config ${d}`,
        );
      assert.ok(
        warm.requests.some((r) => r.path.endsWith('/manifests/multi')),
        'warm fetches the index by its tag (tags move: never cached)',
      );
      assert.ok(
        warm.requests.some((r) => r.path.endsWith(`/manifests/${images[2]?.manifestDigest ?? 'missing'}`)),
        'warm fetches the platform manifest',
      );
      const blobGets = warm.requests.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
      assert.deepEqual(
        blobGets.map((r) => r.path),
        [],
        'warm: no blob at all (configs are kept by digest)',
      );
      process.stderr.write(
        `# warm re-scan: cold ${cold.requests.length} requests (${layerGets(cold.requests)} layer blobs), warm ${warm.requests.length} requests (0 blobs)\n`,
      );

      // The reports carry no timestamp: identical byte for byte.
      assert.equal(warm.json, cold.json);
      assert.deepEqual(warm.legacy, cold.legacy);
      assert.equal(warm.stdout.replaceAll('/warm', '/cold'), cold.stdout);
      assert.equal(await assertConsistent(cache), 5, "three layers' facts and two configs");

      // A config entry that no longer hashes to its digest is a miss: fetched again, rewritten, same report.
      const entry = join(cache, configFileName(images[1]?.configDigest ?? ''));
      const original = await readFile(entry);
      await writeFile(entry, Buffer.from(original.toString('utf8').replace('1000:1000', '0:0')));
      const tampered = await runOnce('tampered');
      assert.equal(tampered.json, cold.json, 'the tampered entry changed nothing reported');
      assert.ok(
        tampered.requests.some((r) => r.method === 'GET' && r.path.includes(`/blobs/${images[1]?.configDigest ?? 'missing'}`)),
        'the config is fetched again',
      );
      assert.deepEqual(await readFile(entry), original, 'and its entry rewritten');
    } finally {
      await proxy.stop();
      await cleanup();
    }
  });

  test("scan() with a library caller's config cache: a config that hashes to its digest saves the request; any other bytes are ignored and the config is fetched", async () => {
    const proxy = await startCountingProxy(registry.url);
    try {
      const ref = `${proxy.host}/app/img:1.0`;
      const real = images[1] as BuiltImage;
      const lying = Buffer.from(real.config.toString('utf8').replace('1000:1000', '0:0'));
      const configGets = (from: number): number =>
        proxy.requests.slice(from).filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${real.configDigest}`)).length;
      const registryOptions = { insecureRegistries: [proxy.host], mirrors: {}, env: {} };
      const user = async (served: Buffer): Promise<{ user: string | undefined; gets: number; puts: number }> => {
        const from = proxy.requests.length;
        let puts = 0;
        const configs = { get: () => served, put: () => ((puts += 1), Promise.resolve()) };
        const [result] = await scan(ref, testScanOptions({ registry: registryOptions, configs }));
        return { user: result?.image.config.config?.User, gets: configGets(from), puts };
      };
      assert.deepEqual(await user(real.config), { user: '1000:1000', gets: 0, puts: 0 }, 'the right bytes: no request');
      assert.deepEqual(await user(lying), { user: '1000:1000', gets: 1, puts: 1 }, 'other bytes: ignored, fetched, handed to put');
    } finally {
      await proxy.stop();
    }
  });
});

describe('the cache through the CLI, on OCI layouts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let refs: string[];
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeOciLayout(
      join(dir, 'img'),
      images.map((image, n) => ({ image, tag: `v${n}` })),
    );
    refs = images.map((_, n) => `oci:${join(dir, 'img')}:v${n}`);
  });
  after(async () => {
    await cleanup();
  });

  test('concurrent writers: four processes scanning images that share a layer into one directory all report correctly; the directory stays consistent', async () => {
    const cache = join(dir, 'shared-cache');
    const argsOf = (n: number, out: string): string[] => [
      refs[n] ?? '',
      refs[(n + 1) % 4] ?? '',
      '--format',
      'json',
      '-o',
      out,
      '--log-level',
      'debug',
    ];
    const expected: string[] = [];
    for (let n = 0; n < 4; n += 1) {
      const r = await runCli([...argsOf(n, join(dir, `ref-${n}.json`)), '--no-cache']);
      assert.ok(r.code !== null && r.code !== 1 && r.code < 20, r.stderr);
      expected.push(await readFile(join(dir, `ref-${n}.json`), 'utf8'));
    }
    for (let round = 0; round < 2; round += 1) {
      const runs = await Promise.all(
        [0, 1, 2, 3].map((n) => runCli(argsOf(n, join(dir, `c${round}-${n}.json`)), { env: { OCI_SCAN_CACHE_DIR: cache } })),
      );
      for (const [n, r] of runs.entries()) {
        assert.ok(r.code !== null && r.code < 20, r.stderr);
        assert.ok(!/"level":(40|50)/.test(r.stderr), `no warning or error: ${r.stderr}`);
        assert.equal(
          await readFile(join(dir, `c${round}-${n}.json`), 'utf8'),
          expected[n],
          `round ${round}, process ${n}: the report of an uncached run`,
        );
      }
      // One shared base layer and four own layers; the verdicts of the four images.
      assert.equal(await assertConsistent(cache), 5);
      assert.equal(await verdictsIn(cache), 4);
      if (round === 1)
        assert.equal(
          runs.reduce((s, r) => s + inspections(r.stderr), 0),
          0,
          'the second round reads every layer from the cache',
        );
    }
  });

  test('a changed compiler table (policy data.compilers) misses: the layers are inspected again under another key', async () => {
    const cache = join(dir, 'policy-cache');
    const env = { OCI_SCAN_CACHE_DIR: cache };
    const ref = refs[1] ?? '';
    const first = await runCli([ref, '--format', 'json', '--log-level', 'debug'], { env });
    const again = await runCli([ref, '--format', 'json', '--log-level', 'debug'], { env });
    await writeFile(join(dir, 'policy.yaml'), 'version: 1\ndata:\n  compilers: { remove: ["gcc"] }\n');
    const changed = await runCli([ref, '--format', 'json', '--log-level', 'debug', '--policy', join(dir, 'policy.yaml')], { env });
    assert.deepEqual(
      [first, again, changed].map((r) => inspections(r.stderr)),
      [2, 0, 2],
    );
    assert.ok(first.stdout.includes('/usr/bin/gcc'));
    assert.ok(!changed.stdout.includes('/usr/bin/gcc'), 'the facts under the new table do not name gcc a compiler');
    assert.equal(await assertConsistent(cache), 4);
    assert.equal(await verdictsIn(cache), 2, 'one verdict without the policy, one with it');
  });

  test('--no-cache writes nothing; XDG_CACHE_HOME, else ~/.cache, is the default directory; tests never touch the real ~/.cache', async () => {
    const realCache = join(homedir(), '.cache', 'oci-scan');
    const before = existsSync(realCache) ? (await stat(realCache)).mtimeMs : undefined;
    const ref = refs[0] ?? '';
    const off = join(dir, 'off');
    await runCli([ref, '--format', 'json', '--no-cache'], { env: { OCI_SCAN_CACHE_DIR: off } });
    assert.equal(existsSync(off), false);
    const xdg = join(dir, 'xdg');
    await runCli([ref, '--format', 'json'], { env: { OCI_SCAN_CACHE_DIR: undefined, XDG_CACHE_HOME: xdg } });
    assert.equal((await readdir(join(xdg, 'oci-scan'))).length, 3, 'two layers and the verdict');
    const home = join(dir, 'home');
    await runCli([ref, '--format', 'json'], { env: { OCI_SCAN_CACHE_DIR: undefined, XDG_CACHE_HOME: undefined, HOME: home } });
    assert.equal((await readdir(join(home, '.cache', 'oci-scan'))).length, 3);
    const flag = join(dir, 'flag');
    await runCli([ref, '--format', 'json', '--cache-dir', flag], { env: { OCI_SCAN_CACHE_DIR: join(dir, 'not-this') } });
    assert.equal((await readdir(flag)).length, 3, '--cache-dir wins over OCI_SCAN_CACHE_DIR');
    assert.equal(existsSync(join(dir, 'not-this')), false);

    // runCli's default: a directory of its own below TEST_CACHE_ROOT, never ~/.cache.
    await runCli([ref, '--format', 'json']);
    const runs = await readdir(TEST_CACHE_ROOT);
    const filled = await Promise.all(runs.map((r) => readdir(join(TEST_CACHE_ROOT, r, 'oci-scan')).catch(() => [])));
    assert.ok(
      filled.some((names) => names.length === 3),
      'the default run cached in its own directory',
    );
    assert.equal(existsSync(realCache) ? (await stat(realCache)).mtimeMs : undefined, before, 'the real ~/.cache/oci-scan is untouched');
  });

  test('oci-scan cache info|prune|clear: counts, the budget, entries only', async () => {
    const cache = join(dir, 'cmd-cache');
    const env = { OCI_SCAN_CACHE_DIR: cache };
    await runCli([refs[0] ?? '', refs[1] ?? '', '--format', 'json'], { env });
    await writeFile(join(cache, 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55\n');
    const info = await runCli(['cache', 'info'], { env });
    assert.equal(info.code, 0, info.stderr);
    const bytes = (await readdir(cache)).filter((n) => n.startsWith('f-')).length;
    assert.equal(bytes, 3);
    // Three layers' facts and the two images' verdicts.
    assert.equal(await verdictsIn(cache), 2);
    assert.match(info.stdout, new RegExp(`^dir: ${cache}\nentries: 5\nbytes: \\d+\n`));
    const prune = await runCli(['cache', 'prune', '--cache-max-size', '1k'], { env });
    assert.equal(prune.code, 0, prune.stderr);
    const left = (await readdir(cache)).filter((n) => /^[fv]-/.test(n)).length;
    assert.ok(left < 5, prune.stdout);
    const clear = await runCli(['cache', 'clear', '--cache-dir', cache]);
    assert.equal(clear.code, 0, clear.stderr);
    assert.match(clear.stdout, new RegExp(`^removed ${left} entries from `));
    assert.deepEqual(await readdir(cache), ['CACHEDIR.TAG']);
    const bad = await runCli(['cache', 'drop'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /oci-scan cache needs one of info, prune, clear, not "drop"/);
    const badSize = await runCli(['cache', 'prune', '--cache-max-size', 'lots'], { env });
    assert.equal(badSize.code, 2);
  });

  for (const [what, options, fill] of [
    ['read-only', 'ro,size=64k', false],
    ['full', 'size=8k', true],
  ] as const) {
    test(`a ${what} cache directory: one warning, the scan and its report as without a cache`, async (t) => {
      await withMount(
        options,
        async (mnt) => {
          if (fill) await writeFile(join(mnt, 'filler'), Buffer.alloc(7 * 1024));
          const expected = await runCli([refs[0] ?? '', refs[1] ?? '', '--format', 'table', '--no-cache']);
          for (const cache of [mnt, join(mnt, 'sub')]) {
            const r = await runCli([refs[0] ?? '', refs[1] ?? '', '--format', 'table'], { env: { OCI_SCAN_CACHE_DIR: cache } });
            assert.equal(r.code, expected.code, r.stderr);
            assert.equal(r.stdout, expected.stdout);
            const lines = r.stderr.trimEnd().split('\n');
            assert.equal(lines.length, 1, r.stderr);
            assert.match(
              lines[0] ?? '',
              /^oci-scan: warning: the layer-facts cache directory cannot be written: scanning without the cache .*\(dir: .*; code: E[A-Z]+\)$/,
            );
          }
          const left = [...(await readdir(mnt)), ...(await readdir(join(mnt, 'sub')).catch(() => []))].filter((n) => n !== 'sub');
          assert.deepEqual(left, fill ? ['filler'] : [], 'no entry or temporary file left');
        },
        t,
        'cache read-only/full',
      );
    });
  }
});
