/**
 * The check outcomes scan() keeps in a cache's verdicts (src/scan.ts, docs/cache.md "Verdicts"):
 * a re-scan of the same image with the same checks reads no layer facts and runs no check, and
 * anything the outcomes depend on — the policy, the check set, the image's name, its layers —
 * gives another key. A kept value is untrusted: one of the wrong shape is a miss. Outcomes are
 * kept before the policy's acceptances, which apply on every scan.
 *
 * Provenance: images built by test/helpers/image-builder.ts, written as OCI layouts; the verdict
 * store is an in-memory map with the disk store's interface (its files: test/unit/store/disk.test.ts).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Check } from '../../../src/checks/types.js';
import { ALL_CHECKS } from '../../../src/checks/index.js';
import { scan } from '../../../src/scan.js';
import { memoryFactsStore, type FactsStore, type VerdictStore } from '../../../src/store/facts-store.js';
import type { Policy } from '../../../src/policy/types.js';
import { buildImage, writeOciLayout, type EntrySpec } from '../../helpers/image-builder.js';
import { tempDir, testScanOptions } from '../../helpers/scan.js';

/** A facts store with verdicts, counting facts reads and verdict writes. */
function cachingStore(): FactsStore & { factsGets: number; kept: Map<string, unknown>; verdicts: VerdictStore } {
  const facts = memoryFactsStore();
  const kept = new Map<string, unknown>();
  const store = {
    factsGets: 0,
    kept,
    get: (key: string) => {
      store.factsGets += 1;
      return facts.get(key);
    },
    put: facts.put,
    verdicts: {
      get: (key: string) => structuredClone(kept.get(key)),
      put: (key: string, value: unknown) => {
        kept.set(key, structuredClone(value));
        return Promise.resolve();
      },
    },
  };
  return store;
}

const suid: EntrySpec[] = [
  { type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'x' },
  { type: 'file', path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
];

async function withLayout(run: (ref: string, dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir();
  try {
    await writeOciLayout(join(dir, 'img'), [
      {
        image: buildImage({
          config: { User: '1000' },
          layers: [{ entries: suid }, { entries: [{ type: 'file', path: 'etc/hostname', content: 'h' }] }],
        }),
        tag: '1.0',
      },
    ]);
    await run(`oci:${join(dir, 'img')}:1.0`, dir);
  } finally {
    await cleanup();
  }
}

describe('scan() with kept check outcomes', () => {
  it('a re-scan reads no layer facts and gives the same results; its layers are still checked', async () => {
    await withLayout(async (ref, dir) => {
      const store = cachingStore();
      const [first] = await scan(ref, testScanOptions({ store }));
      assert.equal(store.kept.size, 1, 'the outcomes were kept');
      const gets = store.factsGets;
      assert.ok(gets >= 2, 'the first scan looked its layers up');
      const [second] = await scan(ref, testScanOptions({ store }));
      assert.equal(store.factsGets, gets, 'no layer facts read');
      assert.deepEqual(second?.results, first?.results);
      assert.equal(second?.highest, first?.highest);
      // A blob gone from the layout fails the re-scan as it fails a scan from cached facts.
      const [layer] = first?.image.layers ?? [];
      await rm(join(dir, 'img', 'blobs', 'sha256', (layer?.digest ?? '').replace('sha256:', '')));
      await assert.rejects(scan(ref, testScanOptions({ store })), /missing|not found|incomplete/i);
    });
  });

  it('with a progress display, a re-scan still reads no layer facts: each layer is reported without them', async () => {
    await withLayout(async (ref, dir) => {
      const store = cachingStore();
      const events: Array<{ layer: string; done: number; total: number; facts: boolean }> = [];
      const onLayer = (e: { layer: { digest: string }; done: number; total: number; facts?: unknown }): void => {
        events.push({ layer: e.layer.digest, done: e.done, total: e.total, facts: e.facts !== undefined });
      };
      const [first] = await scan(ref, testScanOptions({ store, onLayer }));
      const digests = (first?.image.layers ?? []).map((l) => l.digest).sort();
      assert.equal(digests.length, 2);
      assert.deepEqual(
        events.map((e) => e.facts),
        [true, true],
        'a scan that read facts hands them over',
      );
      events.length = 0;
      const gets = store.factsGets;
      const [second] = await scan(ref, testScanOptions({ store, onLayer }));
      assert.equal(store.factsGets, gets, 'no layer facts read');
      assert.deepEqual(second?.results, first?.results);
      assert.deepEqual(events.map((e) => e.layer).sort(), digests, 'every layer reported once');
      assert.deepEqual(
        events.map((e) => `${e.done}/${e.total} ${e.facts}`),
        ['1/2 false', '2/2 false'],
      );
      // The blobs are still checked before a layer is reported.
      events.length = 0;
      await rm(join(dir, 'img', 'blobs', 'sha256', (digests[0] ?? '').replace('sha256:', '')));
      await assert.rejects(scan(ref, testScanOptions({ store, onLayer })), /missing|not found|incomplete/i);
      assert.ok(!events.some((e) => e.layer === digests[0]), 'the missing layer was not reported');
    });
  });

  it('another policy, check set or severity is another key: the checks run again', async () => {
    await withLayout(async (ref) => {
      const store = cachingStore();
      await scan(ref, testScanOptions({ store }));
      const policies: Policy[] = [
        { version: 1, checks: { suid: { severity: 'Low' } } },
        { version: 1, checks: { suid: { disabled: true } } },
      ];
      for (const policy of policies) {
        const gets = store.factsGets;
        const [r] = await scan(ref, testScanOptions({ store, policy }));
        assert.ok(store.factsGets > gets, `facts read again for ${JSON.stringify(policy)}`);
        if (policy.checks?.suid?.disabled) assert.equal(r?.results.find((x) => x.Id === 'suid')?.Description, 'Disabled by policy');
      }
      const gets = store.factsGets;
      const [extended] = await scan(ref, testScanOptions({ store, checkSet: 'extended' }));
      assert.ok(store.factsGets > gets, 'the extended set is another key');
      assert.ok((extended?.results.length ?? 0) > ALL_CHECKS.length);
      assert.equal(store.kept.size, 4);
    });
  });

  it('an acceptance applies to kept outcomes as to fresh ones', async () => {
    await withLayout(async (ref) => {
      const store = cachingStore();
      const [plain] = await scan(ref, testScanOptions({ store }));
      assert.equal(plain?.results.find((r) => r.Id === 'suid')?.Pass, false);
      // The acceptance is part of the policy, so of the key: kept outcomes of that policy, read again.
      const policy: Policy = { version: 1, accept: [{ check: 'suid', paths: ['/usr/bin/sudo'], reason: 'needed' }] };
      const [fresh] = await scan(ref, testScanOptions({ store, policy }));
      const gets = store.factsGets;
      const [again] = await scan(ref, testScanOptions({ store, policy }));
      assert.equal(store.factsGets, gets, 'kept outcomes used');
      assert.deepEqual(again?.results, fresh?.results);
      assert.equal(again?.results.find((r) => r.Id === 'suid')?.Pass, true);
    });
  });

  it('a kept value of the wrong shape is a miss, and is replaced', async () => {
    await withLayout(async (ref) => {
      const store = cachingStore();
      const [first] = await scan(ref, testScanOptions({ store }));
      const [key] = [...store.kept.keys()];
      const forged = [
        { format: 'oci-scan-outcomes/1', outcomes: [] },
        { format: 'oci-scan-outcomes/1', outcomes: ALL_CHECKS.map(() => ({ pass: 'yes', description: 'ok' })) },
        { format: 'oci-scan-outcomes/1', outcomes: ALL_CHECKS.map(() => ({ pass: true, description: 'ok', accepted: [] })) },
        { format: 'oci-scan-outcomes/1', outcomes: ALL_CHECKS.map(() => ({ pass: true, description: 'ok', files: [{ l: [1] }] })) },
        { format: 'other', outcomes: ALL_CHECKS.map(() => ({ pass: true, description: 'ok' })) },
        'garbage',
      ];
      for (const value of forged) {
        store.kept.set(key as string, value);
        const gets = store.factsGets;
        const [r] = await scan(ref, testScanOptions({ store }));
        assert.ok(store.factsGets > gets, `a miss for ${JSON.stringify(value).slice(0, 60)}`);
        assert.deepEqual(r?.results, first?.results);
      }
      assert.equal(
        (store.kept.get(key as string) as { format?: string }).format,
        'oci-scan-outcomes/1',
        'the scan kept its own outcomes again',
      );
    });
  });

  it('checks of the caller are never kept (their code is not in the key)', async () => {
    await withLayout(async (ref) => {
      const store = cachingStore();
      const mine: Check = {
        id: 'tag-latest',
        title: 't',
        severity: 'Low',
        mitigation: 'm',
        run: () => ({ pass: true, description: 'mine' }),
      };
      await scan(ref, testScanOptions({ store, checks: [mine] }));
      assert.equal(store.kept.size, 0);
    });
  });
});
