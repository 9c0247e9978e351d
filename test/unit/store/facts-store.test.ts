/**
 * The layer-facts store (src/store/facts-store.ts) and how scan() uses it: the key names
 * everything the facts depend on, a layer is inspected once per store, and a manifest that
 * names one blob thousands of times costs one inspection and one listing of its findings.
 *
 * Provenance: images built by test/helpers/image-builder.ts, written as OCI layouts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ALL_CHECKS, matchersOf, watchPathsOf } from '../../../src/checks/index.js';
import { compilersCheck } from '../../../src/checks/compilers.js';
import type { Check } from '../../../src/checks/types.js';
import { scan } from '../../../src/scan.js';
import { FACTS_VERSION, factsKey, memoryFactsStore, type FactsStore } from '../../../src/store/facts-store.js';
import type { LayerFacts } from '../../../src/layer/inspect.js';
import { buildImage, writeOciLayout, type EntrySpec } from '../../helpers/image-builder.js';
import { tempDir, testScanOptions } from '../../helpers/scan.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const COLLECTION = { matchers: matchersOf(ALL_CHECKS), watchPaths: watchPathsOf(ALL_CHECKS) };

/** A store that counts its reads and writes. */
function countingStore(): FactsStore & { gets: number; puts: number } {
  const inner = memoryFactsStore();
  const store = {
    gets: 0,
    puts: 0,
    get: (key: string) => {
      store.gets += 1;
      return inner.get(key);
    },
    put: (key: string, facts: LayerFacts) => {
      store.puts += 1;
      return inner.put(key, facts);
    },
  };
  return store;
}

describe('factsKey', () => {
  it('names the digest and the facts version', () => {
    assert.match(factsKey(DIGEST, COLLECTION), new RegExp(`^${DIGEST}/v${FACTS_VERSION}/[0-9a-f]{64}$`));
  });

  it('changes when a data table changes (another compiler list), when a matcher or a watched path is added — not when sets are reordered', () => {
    const base = factsKey(DIGEST, COLLECTION);
    const otherCompilers: Check = {
      ...compilersCheck,
      matcher: { ...(compilersCheck.matcher ?? { id: 'compilers', matches: () => false }), fingerprint: 'a different table' },
    };
    const swapped = ALL_CHECKS.map((c) => (c.id === 'compilers' ? otherCompilers : c));
    assert.notEqual(factsKey(DIGEST, { ...COLLECTION, matchers: matchersOf(swapped) }), base);
    assert.notEqual(
      factsKey(DIGEST, { ...COLLECTION, matchers: [...COLLECTION.matchers, { id: 'extra', fingerprint: '', matches: () => false }] }),
      base,
    );
    assert.notEqual(factsKey(DIGEST, { ...COLLECTION, watchPaths: new Set([...COLLECTION.watchPaths, '/etc/shadow']) }), base);
    assert.notEqual(factsKey(`sha256:${'b'.repeat(64)}`, COLLECTION), base);
    assert.equal(factsKey(DIGEST, { ...COLLECTION, watchPaths: new Set([...COLLECTION.watchPaths].reverse()) }), base);
  });
});

describe('scan() with a facts store', () => {
  const tools: EntrySpec[] = [{ type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: 'x' }];

  it('a layer seen before is not downloaded again: the second scan reads the store only', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeOciLayout(join(dir, 'img'), [
        {
          image: buildImage({ layers: [{ entries: tools }, { entries: [{ type: 'file', path: 'etc/hostname', content: 'h' }] }] }),
          tag: '1.0',
        },
      ]);
      const store = countingStore();
      let inspected = 0;
      const options = testScanOptions({ store, onLayer: () => (inspected += 1) });
      const [first] = await scan(`oci:${join(dir, 'img')}:1.0`, options);
      assert.equal(store.puts, 2);
      const [second] = await scan(`oci:${join(dir, 'img')}:1.0`, options);
      assert.equal(store.puts, 2, 'nothing new was inspected');
      assert.deepEqual(second?.results, first?.results);
      assert.equal(inspected, 4, 'onLayer reports every layer, stored or not');
    } finally {
      await cleanup();
    }
  });

  it('a manifest naming one blob 2000 times inspects it once and lists its findings once', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const layer = { entries: tools };
      await writeOciLayout(join(dir, 'img'), [{ image: buildImage({ layers: Array.from({ length: 2000 }, () => layer) }), tag: '1.0' }]);
      const store = countingStore();
      const [result] = await scan(`oci:${join(dir, 'img')}:1.0`, testScanOptions({ store }));
      assert.equal(store.puts, 1);
      const suid = result?.results.find((r) => r.Id === 'suid');
      assert.equal(suid?.Files?.length, 1);
      assert.deepEqual(Object.values(suid?.Files?.[0] ?? {}), [['/usr/bin/sudo']]);
      const layers = result?.results.find((r) => r.Id === 'layer-count');
      assert.match(layers?.Description ?? '', /Number of layers in the image 2000/);
    } finally {
      await cleanup();
    }
  });
});
