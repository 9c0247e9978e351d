/**
 * The layer-facts cache on disk (src/store/disk.ts): an entry is found by its key from another
 * store instance (another process), a changed compiler table misses, a corrupt, truncated,
 * foreign or misshapen entry is ignored and rewritten, pruning removes the least recently used
 * entries, clear removes entries only, and memory in front of disk reads disk once; a config
 * is served only when its bytes hash to the digest asked for.
 *
 * Provenance: facts recorded by scan() from images built by test/helpers/image-builder.ts.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ALL_CHECKS, matchersOf, watchPathsOf } from '../../../src/checks/index.js';
import { compilersCheck } from '../../../src/checks/compilers.js';
import type { LayerFacts } from '../../../src/layer/inspect.js';
import { scan } from '../../../src/scan.js';
import { sha256Digest } from '../../../src/image/verify.js';
import {
  cacheStats,
  clearCache,
  configFileName,
  diskFactsStore,
  DISK_FORMAT,
  entryFileName,
  isLayerFacts,
  tieredStore,
  verdictFileName,
} from '../../../src/store/disk.js';
import { factsKey, memoryFactsStore, type FactsStore } from '../../../src/store/facts-store.js';
import { buildImage, writeOciLayout } from '../../helpers/image-builder.js';
import { capturedLogger } from '../../helpers/registry-server.js';
import { tempDir, testScanOptions } from '../../helpers/scan.js';

const silent = pino({ level: 'silent' });
const COLLECTION = { matchers: matchersOf(ALL_CHECKS), watchPaths: watchPathsOf(ALL_CHECKS) };
const keyOf = (n: number): string => factsKey(`sha256:${n.toString(16).padStart(64, '0')}`, COLLECTION);

/** Facts as the recorder makes them (every field). */
const FACTS: LayerFacts = {
  matches: { compilers: ['/usr/bin/gcc'] },
  matchCounts: { compilers: 1 },
  matchBytes: { compilers: 812 },
  details: { 'secret-files': { '/root/.npmrc': ['npmrc-token line 1: npm_…(40 chars, sha256:0123abcd)'] } },
  whiteouts: ['/tmp/x'],
  opaqueDirs: [],
  watched: {
    '/etc/passwd': { type: 'file', content: 'root:x:0:0::/root:/bin/sh\n', size: 26, truncated: false },
    '/etc/os-release': { type: 'symlink', target: '../usr/lib/os-release' },
  },
  symlinks: { '/etc/os-release': '../usr/lib/os-release' },
  ops: [
    { op: 'dir', path: '/usr' },
    { op: 'file', path: '/usr/bin/gcc', mode: 0o755, uid: 0, gid: 0 },
    { op: 'file', path: '/usr/bin/ping', mode: 0o755, uid: 0, gid: 0, capability: 'file capabilities cap_net_raw+ep' },
    {
      op: 'file',
      path: '/etc/passwd',
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: { type: 'file', content: 'root:x:0:0::/root:/bin/sh\n', size: 26, truncated: false },
    },
    { op: 'symlink', path: '/etc/os-release', target: '../usr/lib/os-release' },
    { op: 'hardlink', path: '/usr/bin/cc', target: '/usr/bin/gcc', mode: 0o755, uid: 0, gid: 0 },
    { op: 'whiteout', path: '/tmp/x' },
    { op: 'opaque', path: '/var/cache' },
    { op: 'other', path: '/dev/null' },
  ],
  executablesTruncated: false,
  capabilities: { '/usr/bin/ping': 'file capabilities cap_net_raw+ep' },
  compression: 'gzip',
  entries: 4,
  tarBytes: 4096,
};

/** A store that counts its puts (a put follows every inspection). */
function countingPuts(inner: FactsStore): FactsStore & { puts: number } {
  const store = {
    puts: 0,
    get: (key: string) => inner.get(key),
    put: (key: string, facts: LayerFacts) => {
      store.puts += 1;
      return inner.put(key, facts);
    },
  };
  return store;
}

describe('diskFactsStore', () => {
  it('an entry put by one store is found by the key from another (a later process); another key misses', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await diskFactsStore(join(dir, 'cache'), { logger: silent }).put(keyOf(1), FACTS);
      const later = diskFactsStore(join(dir, 'cache'), { logger: silent });
      assert.deepEqual(await later.get(keyOf(1)), FACTS);
      assert.equal(await later.get(keyOf(2)), undefined);
      const names = await readdir(join(dir, 'cache'));
      assert.deepEqual(names, [entryFileName(keyOf(1))], 'one entry file, no temporary file left');
      const doc = JSON.parse(await readFile(join(dir, 'cache', names[0] ?? ''), 'utf8')) as { format: string; key: string };
      assert.equal(doc.format, DISK_FORMAT);
      assert.equal(doc.key, keyOf(1), 'the full key is kept inside the entry');
      assert.equal((await stat(join(dir, 'cache'))).mode & 0o777, 0o700, 'the directory is private to the user');
    } finally {
      await cleanup();
    }
  });

  it('scan(): a new store on the same directory inspects nothing again; a changed compiler table misses', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const image = buildImage({
        layers: [
          { entries: [{ type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'gcc' }] },
          { entries: [{ type: 'file', path: 'etc/hostname', content: 'h' }] },
        ],
      });
      await writeOciLayout(join(dir, 'img'), [{ image, tag: '1.0' }]);
      const ref = `oci:${join(dir, 'img')}:1.0`;
      const cache = join(dir, 'cache');
      const cold = countingPuts(diskFactsStore(cache, { logger: silent }));
      const [first] = await scan(ref, testScanOptions({ store: cold }));
      assert.equal(cold.puts, 2);
      const warm = countingPuts(diskFactsStore(cache, { logger: silent }));
      const [second] = await scan(ref, testScanOptions({ store: warm }));
      assert.equal(warm.puts, 0, 'both layers came from the disk');
      assert.deepEqual(second?.results, first?.results);

      // Another compiler table is another key: the layers are inspected again, and gcc is no longer a compiler.
      const noGcc = { ...compilersCheck, matcher: { id: 'compilers', fingerprint: 'a table without gcc', matches: () => false } };
      const changed = countingPuts(diskFactsStore(cache, { logger: silent }));
      const [third] = await scan(
        ref,
        testScanOptions({ store: changed, checks: ALL_CHECKS.map((c) => (c.id === 'compilers' ? noGcc : c)) }),
      );
      assert.equal(changed.puts, 2, 'a changed compiler table misses');
      assert.equal(third?.results.find((r) => r.Id === 'compilers')?.Pass, true);
      assert.equal(first?.results.find((r) => r.Id === 'compilers')?.Pass, false);
      assert.equal((await readdir(cache)).length, 4);
    } finally {
      await cleanup();
    }
  });

  it('a corrupt, truncated, foreign-key, other-format or misshapen entry is ignored (debug line) and rewritten by the next put', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = join(dir, 'cache');
      const seed = diskFactsStore(cache, { logger: silent });
      await seed.put(keyOf(1), FACTS);
      await seed.put(keyOf(2), { ...FACTS, entries: 9 });
      const path = join(cache, entryFileName(keyOf(1)));
      const good = await readFile(path, 'utf8');
      const damaged: ReadonlyArray<readonly [string, string]> = [
        ['garbage', '\u0000\u0001not json at all'],
        ['truncated', good.slice(0, good.length - 7)],
        ['empty', ''],
        ['another key inside', await readFile(join(cache, entryFileName(keyOf(2))), 'utf8')],
        ['another format', JSON.stringify({ format: 'oci-scan-facts/0', key: keyOf(1), facts: FACTS })],
        ['misshapen facts', JSON.stringify({ format: DISK_FORMAT, key: keyOf(1), facts: { ...FACTS, entries: -1 } })],
        [
          'a watched entry of an unknown type',
          JSON.stringify({ format: DISK_FORMAT, key: keyOf(1), facts: { ...FACTS, watched: { '/etc/passwd': { type: 'device' } } } }),
        ],
        ['an array', '[]'],
      ];
      for (const [what, text] of damaged) {
        await writeFile(path, text);
        const { logger, text: logs } = capturedLogger();
        const store = diskFactsStore(cache, { logger });
        assert.equal(await store.get(keyOf(1)), undefined, what);
        assert.match(logs(), /cache entry corrupt/, what);
        await store.put(keyOf(1), FACTS);
        assert.deepEqual(await diskFactsStore(cache, { logger: silent }).get(keyOf(1)), FACTS, `${what}: rewritten`);
      }
    } finally {
      await cleanup();
    }
  });

  it('isLayerFacts accepts recorded facts and refuses a missing or mistyped field', () => {
    assert.ok(isLayerFacts(FACTS));
    assert.ok(isLayerFacts(JSON.parse(JSON.stringify(FACTS))));
    for (const field of Object.keys(FACTS)) {
      const copy: Record<string, unknown> = { ...FACTS };
      delete copy[field];
      assert.ok(!isLayerFacts(copy), `without ${field}`);
      assert.ok(!isLayerFacts({ ...FACTS, [field]: 'x' }), `${field} as a string`);
    }
    assert.ok(!isLayerFacts({ ...FACTS, matches: { compilers: [1] } }));
    assert.ok(!isLayerFacts({ ...FACTS, compression: 'brotli' }));
    for (const op of [
      { op: 'chmod', path: '/x' },
      { op: 'dir', path: 'relative' },
      { op: 'file', path: '/x', mode: 0o10000, uid: 0, gid: 0 },
      { op: 'file', path: '/x', mode: 0o644, uid: 0, gid: 0, content: { type: 'dir' } },
      { op: 'hardlink', path: '/x', mode: 0o644, uid: 0, gid: 0 },
      { op: 'symlink', path: '/x' },
    ]) {
      assert.ok(!isLayerFacts({ ...FACTS, ops: [...FACTS.ops, op] }), JSON.stringify(op));
    }
    assert.ok(!isLayerFacts({ ...FACTS, capabilities: { '/x': 1 } }));
  });

  it('over the budget, the least recently used entries go; a hit counts as a use', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = join(dir, 'cache');
      const seed = diskFactsStore(cache, { logger: silent });
      for (let n = 1; n <= 5; n += 1) await seed.put(keyOf(n), FACTS);
      const size = (await stat(join(cache, entryFileName(keyOf(1))))).size;
      // Entries 1..5 last used at t0+1..t0+5 seconds: 1 is the oldest.
      const t0 = Date.now() / 1000 - 3600;
      for (let n = 1; n <= 5; n += 1) await utimes(join(cache, entryFileName(keyOf(n))), t0 + n, t0 + n);
      const store = diskFactsStore(cache, { logger: silent, maxBytes: size * 4 + size / 2 });
      assert.ok(await store.get(keyOf(1)), 'a hit on the oldest makes it the newest');
      await store.put(keyOf(6), FACTS);
      const left = new Set(await readdir(cache));
      assert.deepEqual(
        [1, 2, 3, 4, 5, 6].filter((n) => left.has(entryFileName(keyOf(n)))),
        [1, 4, 5, 6],
        'entries 2 and 3 (least recently used) went; 1 (just hit), 4, 5 and 6 stay',
      );
      // A temporary entry an hour old was left by a writer that died; a fresh one is being written.
      const stale = join(cache, `.tmp-${entryFileName(keyOf(7))}.1.aaaaaa`);
      const fresh = join(cache, `.tmp-${entryFileName(keyOf(8))}.2.bbbbbb`);
      await writeFile(stale, '{');
      await writeFile(fresh, '{');
      await utimes(stale, t0, t0);
      const stats = await store.prune();
      assert.equal(stats.entries, 4);
      const after = await readdir(cache);
      assert.ok(
        !after.includes(stale.slice(cache.length + 1)) && after.includes(fresh.slice(cache.length + 1)),
        'prune removes stale temporary entries only',
      );
      assert.ok(stats.bytes <= size * 4 + size / 2);
    } finally {
      await cleanup();
    }
  });

  it('clear removes the entries and leftover temporary entries, never another file of the directory', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = join(dir, 'cache');
      const store = diskFactsStore(cache, { logger: silent });
      await store.put(keyOf(1), FACTS);
      await store.put(keyOf(2), FACTS);
      await writeFile(join(cache, `.tmp-${entryFileName(keyOf(3))}.123.abcdef`), '{');
      await writeFile(join(cache, 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55\n');
      await writeFile(join(cache, 'notes.json'), '{}');
      assert.equal(await clearCache(cache), 2);
      assert.deepEqual((await readdir(cache)).sort(), ['CACHEDIR.TAG', 'notes.json']);
      assert.equal(await clearCache(join(dir, 'missing')), 0);
    } finally {
      await cleanup();
    }
  });
});

describe('diskFactsStore configs', () => {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { User: '1000:1000' }, rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const descriptor = { digest: sha256Digest(config), size: config.length };

  it('a config put by one store is served to another by its digest and size, and counts in the budget, prune and clear', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = join(dir, 'cache');
      await diskFactsStore(cache, { logger: silent }).configs.put(descriptor.digest, config);
      const later = diskFactsStore(cache, { logger: silent });
      assert.deepEqual(later.configs.get(descriptor), config);
      assert.equal(later.configs.get({ ...descriptor, size: config.length + 1 }), undefined, 'another size: a miss');
      assert.equal(later.configs.get({ digest: sha256Digest('other'), size: config.length }), undefined, 'another digest: a miss');
      assert.deepEqual(await readdir(cache), [configFileName(descriptor.digest)]);
      await later.put(keyOf(1), FACTS);
      assert.deepEqual(await cacheStats(cache), {
        entries: 2,
        bytes: config.length + (await stat(join(cache, entryFileName(keyOf(1))))).size,
      });
      assert.equal(await clearCache(cache), 2);
      assert.deepEqual(await readdir(cache), []);
    } finally {
      await cleanup();
    }
  });

  it('an entry whose bytes do not hash to the digest (changed, truncated) is a miss, with a debug line', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = join(dir, 'cache');
      const path = join(cache, configFileName(descriptor.digest));
      for (const [what, bytes] of [
        ['changed', Buffer.from(config.toString('utf8').replace('1000:1000', '0000:0000'))],
        ['truncated', config.subarray(0, config.length - 1)],
        ['empty', Buffer.alloc(0)],
      ] as const) {
        await diskFactsStore(cache, { logger: silent }).configs.put(descriptor.digest, config);
        await writeFile(path, bytes);
        const { logger, text } = capturedLogger();
        assert.equal(diskFactsStore(cache, { logger }).configs.get(descriptor), undefined, what);
        assert.match(text(), /cached config does not match its digest or size/, what);
      }
    } finally {
      await cleanup();
    }
  });
});

describe('diskFactsStore verdicts', () => {
  const verdict = { format: 'some-record/1', images: [{ results: [{ Id: 'sudo', Pass: true }] }] };

  it('a verdict put by one store is served to another under its key only, counts in the budget, and clear removes it', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = join(dir, 'cache');
      await diskFactsStore(cache, { logger: silent }).verdicts.put('verdict-key-1', verdict);
      const later = diskFactsStore(cache, { logger: silent });
      assert.deepEqual(later.verdicts.get('verdict-key-1'), verdict);
      assert.equal(later.verdicts.get('verdict-key-2'), undefined, 'another key: a miss');
      assert.equal(await later.get('verdict-key-1'), undefined, 'a verdict is no layer facts, whatever its key');
      assert.deepEqual(await readdir(cache), [verdictFileName('verdict-key-1')]);
      assert.equal((await cacheStats(cache)).entries, 1);
      const tiered = tieredStore(memoryFactsStore(), later);
      assert.deepEqual(tiered.verdicts?.get('verdict-key-1'), verdict, 'memory in front of disk keeps the disk verdicts');
      assert.equal(await clearCache(cache), 1);
      assert.deepEqual(await readdir(cache), []);
    } finally {
      await cleanup();
    }
  });

  it("an entry renamed to another key's file, damaged, or of another format is a miss, with a debug line", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = join(dir, 'cache');
      const store = diskFactsStore(cache, { logger: silent });
      await store.verdicts.put('verdict-key-1', verdict);
      const entry = await readFile(join(cache, verdictFileName('verdict-key-1')), 'utf8');
      for (const [what, text] of [
        ['of another key', entry],
        ['truncated', entry.slice(0, -2)],
        ['of another format', entry.replace(DISK_FORMAT, 'oci-scan-facts/0')],
      ] as const) {
        await writeFile(join(cache, verdictFileName('verdict-key-2')), text);
        const { logger, text: logged } = capturedLogger();
        assert.equal(diskFactsStore(cache, { logger }).verdicts.get('verdict-key-2'), undefined, what);
        assert.match(logged(), /cache entry corrupt, truncated or of another key or format/, what);
      }
    } finally {
      await cleanup();
    }
  });
});

describe('tieredStore', () => {
  it('memory in front of disk: a disk hit fills memory, so disk is read once; a put reaches both', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const cache = join(dir, 'cache');
      await diskFactsStore(cache, { logger: silent }).put(keyOf(1), FACTS);
      const disk = diskFactsStore(cache, { logger: silent });
      let diskGets = 0;
      const counted: FactsStore = { get: (k) => ((diskGets += 1), disk.get(k)), put: (k, f) => disk.put(k, f) };
      const memory = memoryFactsStore();
      const tiered = tieredStore(memory, counted);
      assert.deepEqual(await tiered.get(keyOf(1)), FACTS);
      assert.deepEqual(await tiered.get(keyOf(1)), FACTS);
      assert.equal(diskGets, 1);
      await tiered.put(keyOf(2), FACTS);
      assert.deepEqual(await memory.get(keyOf(2)), FACTS);
      assert.deepEqual(await diskFactsStore(cache, { logger: silent }).get(keyOf(2)), FACTS);
    } finally {
      await cleanup();
    }
  });
});
