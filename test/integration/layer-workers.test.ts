/**
 * Layer workers end to end (src/inspect/, docs/architecture.md "Layer workers"): the CLI scans an
 * OCI layout whose layers are zstd, xz and gzip with its workers on (the default: a worker reads
 * a layout's blob file itself), with two of them, and with none (OCI_SCAN_LAYER_WORKERS=0: every
 * layer on the main thread), and must write the same report each time; a blob whose bytes do not
 * match its digest fails the same way in every mode.
 *
 * Provenance: the tars come from test/helpers/image-builder.ts; zstd and xz are the real
 * commands (apt packages zstd, xz-utils), gzip is node:zlib.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { buildImage, buildTar, compress, writeOciLayout, type EntrySpec } from '../helpers/image-builder.js';
import { runCli, tempDir } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';
import { missingTools } from '../helpers/tools.js';

const tools = missingTools({ zstd: 'zstd', xz: 'xz-utils' });
if (tools.skip) console.error(`SKIPPING the layer worker CLI tests: ${tools.skip}`);

const MODES = { default: {}, 'two workers': { OCI_SCAN_LAYER_WORKERS: '2' }, 'main thread only': { OCI_SCAN_LAYER_WORKERS: '0' } } as const;

/** Files for each layer: something each check can find, and enough bulk to span many chunks. */
function entries(layer: number): EntrySpec[] {
  return [
    { type: 'dir', path: `opt/l${layer}/` },
    { type: 'file', path: `opt/l${layer}/tool`, content: 'x', mode: layer === 0 || layer === 2 ? 0o4755 : 0o755 },
    { type: 'file', path: `usr/bin/nc${layer === 1 ? '' : layer}`, content: 'nc', mode: 0o755 },
    ...Array.from({ length: 400 }, (_, i): EntrySpec => ({
      type: 'file',
      path: `opt/l${layer}/data/${i}.txt`,
      content: `${layer}:${i}\n`.repeat(300),
    })),
  ];
}

/** The report without what differs from run to run (times). */
function stable(report: string): unknown {
  return JSON.parse(report, (key, value: unknown) => (/time|date|duration|scanned_at|generated/i.test(key) ? undefined : value));
}

describeOrSkip('layer workers, from the CLI', { skip: tools.skip }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let ref: string;
  let layout: string;
  const firstTar = buildTar([{ type: 'file', path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' }, ...entries(0)]);
  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-workers-'));
    const xzTar = execFileSync('xz', ['-c'], { input: buildTar(entries(2)), maxBuffer: 1 << 28 });
    const image = buildImage({
      layers: [
        // Raw zstd blocks (no frame checksum): a changed content byte still decodes (below).
        { tar: firstTar, compression: 'zstd-stored' },
        { entries: entries(1), compression: 'zstd' },
        // An xz layer under the plain tar media type: the bytes decide, as the runtimes sniff them.
        { blob: xzTar, compression: 'none' },
        { blob: compress(buildTar(entries(3)), 'gzip'), compression: 'gzip' },
      ],
      config: { User: '1000' },
    });
    layout = join(dir, 'img');
    await writeOciLayout(layout, [{ image, tag: '1.0' }]);
    ref = `oci:${layout}:1.0`;
  });
  after(async () => cleanup());

  it('writes the same report whichever thread inspects each layer', async () => {
    const reports = new Map<string, unknown>();
    for (const [mode, env] of Object.entries(MODES)) {
      const out = join(dir, `${mode.replace(/ /g, '-')}.json`);
      const run = await runCli([ref, '--no-cache', '-o', out], { env });
      assert.ok(run.code !== null && run.code >= 10, `${mode}: a scan with findings (exit ${String(run.code)}): ${run.stderr}`);
      reports.set(mode, stable(await readFile(out, 'utf8')));
    }
    const base = reports.get('main thread only');
    for (const mode of Object.keys(MODES)) assert.deepEqual(reports.get(mode), base, `${mode} against the main thread only`);
    // Not agreement on nothing: the set-uid files of a zstd and of the xz layer, and nc from the other zstd layer, are found.
    const text = JSON.stringify(base);
    for (const path of ['/opt/l0/tool', '/opt/l2/tool', '/usr/bin/nc"']) assert.ok(text.includes(path), `${path} in the report`);
  });

  /** The file of the first layer (the zstd one). */
  async function firstBlob(): Promise<string> {
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifestDigest = index.manifests[0]?.digest ?? '';
    const manifest = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as {
      layers: Array<{ digest: string; mediaType: string }>;
    };
    const first = manifest.layers[0];
    if (!first?.mediaType.includes('zstd')) assert.fail('the first layer is the zstd one');
    return join(layout, 'blobs', 'sha256', first.digest.slice(7));
  }

  /** The CLI's exit code and last stderr line in each mode, with `file` changed by `change` meanwhile. */
  async function failures(file: string, change: (bytes: Buffer) => void): Promise<Map<string, { code: number | null; line: string }>> {
    const bytes = await readFile(file);
    const changed = Buffer.from(bytes);
    change(changed);
    await writeFile(file, changed);
    try {
      const out = new Map<string, { code: number | null; line: string }>();
      for (const [mode, env] of Object.entries(MODES)) {
        const run = await runCli([ref, '--no-cache', '-o', join(dir, 'bad.json')], { env });
        const line = run.stderr.trim().split('\n').at(-1) ?? '';
        assert.ok(run.code !== null && run.code >= 20, `${mode}: the scan fails (exit ${String(run.code)}): ${run.stderr}`);
        assert.match(line, /sha256:[0-9a-f]{64}/, `${mode}: the error names the blob`);
        assert.doesNotMatch(run.stderr, /\n\s+at /, `${mode}: no stack trace`);
        out.set(mode, { code: run.code, line });
      }
      return out;
    } finally {
      await writeFile(file, bytes);
    }
  }

  it('a zstd blob whose content is not its digest fails with the same line in every mode', async () => {
    // A byte of a file's content, in the raw blocks (6 bytes of frame header, 3 per 131071-byte block): it still decodes.
    const at = firstTar.indexOf('0:200\n');
    const offset = 6 + at + 3 * (Math.floor(at / 131071) + 1);
    const out = await failures(await firstBlob(), (b) => (b[offset] = 0x31));
    const base = out.get('main thread only');
    assert.match(base?.line ?? '', /does not match its digest/);
    for (const mode of Object.keys(MODES)) assert.deepEqual(out.get(mode), base, `${mode} against the main thread only`);
  });

  it('a zstd blob both damaged and not its digest fails in every mode, with the same exit code', async () => {
    // The end of the tar (its end-of-archive blocks): the tar breaks; both statements are true, and a worker's
    // decoding and the main thread's digest check may finish in either order (docs/architecture.md "Layer workers").
    const out = await failures(await firstBlob(), (b) => (b[b.length - 2] = (b[b.length - 2] ?? 0) ^ 0xff));
    const base = out.get('main thread only');
    for (const [mode, got] of out) {
      assert.equal(got.code, base?.code, `${mode}: the exit code`);
      assert.match(got.line, /does not match its digest|could not be read \((zstd|tar):/, mode);
    }
  });
});
