/**
 * The waterfall of a scan (bench/image.bench.ts): where a layout scan's time goes, stage by
 * stage. The layer stages run at once and overlap (a layer is read, inflated, parsed and recorded
 * chunk by chunk), so they are measured cumulatively — one process per depth, timed like the
 * scans from spawn to exit, each depth's cost the difference with the one before:
 *   stages.js open   OCI:REF   the modules a scan loads, and the image's index, manifest and config
 *   stages.js read   OCI:REF   + the source's layer streams (the layout's blob reads and digest check)
 *   stages.js inflate OCI:REF  + the scan's decompressor (decompress.ts), output discarded
 *   stages.js tar    OCI:REF   + the tar reader (tar/reader.ts), every entry skipped
 *   stages.js record OCI:REF   + the recorder: inspectLayer(), the whole per-layer work of a scan
 * After the layers (`record` only), the stages that follow them run one after another in the same
 * process and are timed there: the final filesystem (mergeLayersAsync), the default checks, and
 * the report (validated and written, as the CLI writes its default report). The process prints
 * one JSON line with those three in seconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { pino } from 'pino';
import { ALL_CHECKS, matchersOf, watchPathsOf } from '../src/checks/index.js';
import type { CheckInput } from '../src/checks/types.js';
import { decompressInto } from '../src/layer/decompress.js';
import { mergeLayersAsync } from '../src/layer/final-fs.js';
import { inspectLayer, type LayerFacts } from '../src/layer/inspect.js';
import { TarReader } from '../src/layer/tar/reader.js';
import { legacyReport } from '../src/report/formats/legacy.js';
import { highestSeverity, toResult } from '../src/report/model.js';
import { ReportBatch } from '../src/report/write.js';
import { openImages } from '../src/sources/index.js';

// As the CLI does (src/cli/flags.ts): without it every stage would pay the mark-compacts the CLI avoids.
setFlagsFromString('--no-incremental-marking');

const [depth = '', ref = ''] = process.argv.slice(2);
const logger = pino({ level: 'silent' });
const session = { registry: { insecureRegistries: [], mirrors: {}, env: {} }, logger };
const [image] = await openImages(ref, { platform: { os: 'linux', architecture: 'amd64' }, ...session });
if (!image) throw new Error(`${ref}: no image`);

const checks = ALL_CHECKS;
const collection = { matchers: matchersOf(checks), watchPaths: watchPathsOf(checks) };

/** Drains a stream. */
async function drain(blob: Readable): Promise<void> {
  for await (const _ of blob);
}

/** One layer to the given depth. */
async function layer(blob: Readable, what: string): Promise<LayerFacts | undefined> {
  if (depth === 'read') return void (await drain(blob));
  if (depth === 'record') return inspectLayer(blob, { ...collection, what });
  const reader = depth === 'tar' ? new TarReader({ entry: () => undefined }) : undefined;
  await decompressInto(blob, { compression: () => undefined, write: (chunk) => reader?.write(chunk), end: () => reader?.end() });
  return undefined;
}

if (!['open', 'read', 'inflate', 'tar', 'record'].includes(depth)) throw new Error(`unknown depth ${depth}`);
const facts = depth === 'open' ? [] : await Promise.all(image.layers.map(async (l) => layer(await l.open(), l.digest)));
if (depth === 'record') {
  const started = performance.now();
  const layers = image.layers.map((l, i) => ({ digest: l.digest, facts: facts[i] as LayerFacts }));
  const fs = await mergeLayersAsync(
    layers.map((l) => l.facts),
    collection.watchPaths,
  );
  const merged = performance.now();
  const input: CheckInput = { name: image.name, config: image.config, layers, notScanned: [], fs };
  const results = [];
  for (const check of checks) results.push(toResult(check, await check.run(input)));
  const checked = performance.now();
  const report = legacyReport({ image, results, highest: highestSeverity(results) });
  const dir = await mkdtemp(join(tmpdir(), 'oci-scan-bench-report-'));
  try {
    const batch = new ReportBatch(dir);
    await batch.write('report.json', report);
    batch.commit();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const reported = performance.now();
  console.log(
    JSON.stringify({ finalFs: (merged - started) / 1000, checks: (checked - merged) / 1000, report: (reported - checked) / 1000 }),
  );
}
