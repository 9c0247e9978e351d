/**
 * The WebAssembly zstd fallback (src/layer/zstd-wasm.ts; docs/architecture.md, "Decoders"):
 * chosen by OCI_SCAN_ZSTD=wasm, it reads a layer as the native decoder does and refuses a damaged
 * one with the same LAYER_CORRUPT line; it is the libzstd zstd-napi ships; and the committed
 * module is what scripts/zstd-wasm/build.sh builds from that source (a rebuild is compared byte
 * for byte). The many-input differential campaign is test/fuzz/zstd-fallback-differential.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, it } from 'node:test';
import { isOciScanError } from '../../../src/errors.js';
import { zstdBackend, zstdBackends } from '../../../src/layer/decompress.js';
import { inspectLayer, type EntryMatcher, type LayerFacts } from '../../../src/layer/inspect.js';
import { wasmZstdVersion } from '../../../src/layer/zstd-wasm.js';
import { ZSTD_WASM_BASE64, ZSTD_WASM_SHA256, ZSTD_WASM_VERSION } from '../../../src/layer/zstd-wasm.generated.js';
import { buildTar, type EntrySpec } from '../../helpers/image-builder.js';
import { haveTool, missingTools } from '../../helpers/tools.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ALL: EntryMatcher = { id: 'all', fingerprint: 'all', matches: () => true };
const SUID: EntryMatcher = { id: 'suid', fingerprint: 'suid', matches: (e) => e.type !== 'dir' && (e.mode & 0o4000) !== 0 };
const ENTRIES: EntrySpec[] = [
  { type: 'dir', path: 'etc/' },
  { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
  { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: Buffer.alloc(300_000, 0x41) },
  ...Array.from({ length: 50 }, (_, i): EntrySpec => ({ type: 'file', path: `usr/share/doc/f${i}`, content: `file ${i} `.repeat(500) })),
];

const zstdTool = missingTools({ zstd: 'zstd' });

/** Inspects `blob` with OCI_SCAN_ZSTD set to `choice` (unset for the default), in 64 KiB pieces. */
async function inspectWith(choice: string | undefined, blob: Buffer): Promise<LayerFacts> {
  if (choice === undefined) delete process.env['OCI_SCAN_ZSTD'];
  else process.env['OCI_SCAN_ZSTD'] = choice;
  const pieces = Array.from({ length: Math.ceil(blob.length / 65536) }, (_, i) => blob.subarray(i * 65536, (i + 1) * 65536));
  return inspectLayer(Readable.from(pieces), {
    matchers: [ALL, SUID],
    watchPaths: new Set(['/etc/os-release']),
    what: 'layer sha256:test',
  });
}

/** The one-line error of an inspection, or 'read'. */
async function outcome(choice: string | undefined, blob: Buffer): Promise<string> {
  try {
    await inspectWith(choice, blob);
    return 'read';
  } catch (err) {
    assert.ok(isOciScanError(err), String(err));
    return `${err.code}: ${err.message}`;
  }
}

describe('the WebAssembly zstd fallback', () => {
  const saved = process.env['OCI_SCAN_ZSTD'];
  afterEach(() => {
    if (saved === undefined) delete process.env['OCI_SCAN_ZSTD'];
    else process.env['OCI_SCAN_ZSTD'] = saved;
  });

  it('is always there, last; OCI_SCAN_ZSTD=wasm leaves only it', () => {
    delete process.env['OCI_SCAN_ZSTD'];
    const found = zstdBackends();
    assert.equal(found.at(-1), 'wasm');
    assert.equal(zstdBackend(), found[0]);
    process.env['OCI_SCAN_ZSTD'] = 'wasm';
    assert.deepEqual(zstdBackends(), ['wasm']);
    assert.equal(zstdBackend(), 'wasm');
  });

  it(
    'reads a zstd layer to the same facts as the decoder in use, and refuses a damaged one with the same line',
    { skip: zstdTool.skip },
    async () => {
      const tar = buildTar(ENTRIES);
      const layer = execFileSync('zstd', ['-q', '-c', '-19', '--long=27'], { input: tar, maxBuffer: 1 << 28 });
      const native = await inspectWith(undefined, layer);
      const fallback = await inspectWith('wasm', layer);
      assert.deepEqual(fallback, native);
      assert.equal(fallback.tarBytes, tar.length);
      assert.deepEqual(fallback.matches['suid'], ['/usr/bin/su']);

      // Truncated, a flipped bit (the frame's checksum), trailing garbage, the window raised to 2^30.
      const flipped = Buffer.from(layer);
      const middle = Math.floor(layer.length / 2);
      flipped[middle] = (flipped[middle] ?? 0) ^ 0x10;
      const window = Buffer.from(layer);
      assert.equal((window[4] ?? 0) & 0x20, 0, 'the frame has a window descriptor');
      window[5] = (30 - 10) << 3;
      const damaged = {
        truncated: layer.subarray(0, layer.length - 100),
        flipped,
        trailing: Buffer.concat([layer, Buffer.from('garbage!')]),
        window,
      };
      for (const [how, blob] of Object.entries(damaged)) {
        const want = await outcome(undefined, blob);
        assert.match(want, /^LAYER_CORRUPT: layer sha256:test could not be read \(zstd: /, how);
        assert.equal(await outcome('wasm', blob), want, how);
      }
      assert.match(await outcome('wasm', window), /window larger than 512 MiB/);
    },
  );

  it('is the libzstd zstd-napi ships', (t) => {
    const version = wasmZstdVersion();
    assert.equal(ZSTD_WASM_VERSION, `${Math.floor(version / 10000)}.${Math.floor(version / 100) % 100}.${version % 100}`);
    assert.equal(createHash('sha256').update(Buffer.from(ZSTD_WASM_BASE64, 'base64')).digest('hex'), ZSTD_WASM_SHA256);
    let napi: { versionNumber(): number } | undefined;
    try {
      napi = createRequire(import.meta.url)('zstd-napi/binding') as { versionNumber(): number };
    } catch {
      napi = undefined;
    }
    if (!napi) return t.skip('zstd-napi is not installed (npm could not compile it): nothing to compare the version with');
    assert.equal(version, napi.versionNumber());
  });

  // The toolchain scripts/zstd-wasm/build.sh names, and the libzstd source zstd-napi ships.
  const source = join(ROOT, 'node_modules/zstd-napi/deps/zstd/lib/zstd.h');
  const toolchain = missingTools({ clang: 'clang', 'wasm-ld': 'lld' });
  const sysroot =
    existsSync('/usr/include/wasm32-wasi/stdlib.h') && haveTool('clang')
      ? false
      : 'wasi-libc is not installed (apt-get install wasi-libc libclang-rt-14-dev-wasm32)';
  const noSource = existsSync(source) ? false : 'zstd-napi and its libzstd source are not installed (npm ci)';
  const required = process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1';
  const buildSkip = toolchain.skip || (required ? false : sysroot || noSource);
  if (buildSkip) console.error(`!!! zstd-wasm reproducible build test SKIPPED: ${buildSkip}`);

  it('the committed module is what scripts/zstd-wasm/build.sh builds', { skip: buildSkip, timeout: 300_000 }, async (t) => {
    const out = join(tmpdir(), `oci-scan-zstd-wasm-${process.pid}.ts`);
    t.after(() => rm(out, { force: true }));
    execFileSync('bash', [join(ROOT, 'scripts/zstd-wasm/build.sh'), out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    const rebuilt = await readFile(out, 'utf8');
    const committed = await readFile(join(ROOT, 'src/layer/zstd-wasm.generated.ts'), 'utf8');
    assert.equal(
      rebuilt.match(/ZSTD_WASM_SHA256 = '([0-9a-f]+)'/)?.[1],
      ZSTD_WASM_SHA256,
      'the rebuilt module differs from the committed one: run npm run zstd-wasm',
    );
    assert.equal(rebuilt, committed);
  });
});
