/**
 * The report formats (src/report/formats/legacy.ts, json.ts) and the file names of a run
 * (src/report/names.ts): unique stdout keys, one object whatever the number of images, the
 * scan document's shape and schema, and names that keep the images of one run apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALL_CHECKS } from '../../../src/checks/index.js';
import { isOciScanError } from '../../../src/errors.js';
import { parseConfig } from '../../../src/image/config.js';
import type { Platform } from '../../../src/image/platform.js';
import type { Image, ImageName } from '../../../src/image/types.js';
import { scanDocument } from '../../../src/report/formats/json.js';
import { legacyKeys, legacyReport, legacyReportSet } from '../../../src/report/formats/legacy.js';
import { highestSeverity, toResult, type ReportResult, type ScannedImage } from '../../../src/report/model.js';
import { reportFileNames } from '../../../src/report/names.js';

const CONFIG = parseConfig('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}', 'test config');
const digest = (c: string): string => `sha256:${c.repeat(64)}`;
const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const ARM64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };

/** The 17 results, every check passing except those in `failing`. */
function results(failing: readonly string[] = []): ReportResult[] {
  return ALL_CHECKS.map((check) => toResult(check, { pass: !failing.includes(check.id), description: 'd' }));
}

/** A scanned image with the given reference, platform and digests (layers are never opened here). */
function scanned(
  display: string,
  options: {
    platform?: Platform;
    manifestDigest?: string;
    indexDigest?: string;
    repository?: string;
    tag?: string;
    failing?: string[];
  } = {},
): ScannedImage {
  const name: ImageName = {
    display,
    name: 'app',
    repository: options.repository ?? 'app',
    tagOrigin: 'reference',
    ...(options.tag ? { tag: options.tag } : {}),
  };
  const layer = {
    digest: digest('a'),
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    size: 1,
    open: () => Promise.reject(new Error('not opened in these tests')),
  };
  const image: Image = {
    name,
    configDigest: digest('c'),
    config: CONFIG,
    layers: [layer, { ...layer, digest: digest('b') }],
    ...(options.manifestDigest ? { manifestDigest: options.manifestDigest } : {}),
    ...(options.indexDigest ? { indexDigest: options.indexDigest } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
  };
  const r = results(options.failing);
  return { image, results: r, highest: highestSeverity(r) };
}

test('legacyKeys: the reference; a platform suffix for the platforms of one IMAGE; (2) for a key already taken', () => {
  const keys = legacyKeys([
    [scanned('app:1.0', { platform: AMD64 }), scanned('app:1.0', { platform: ARM64 })],
    [scanned('other:2.0', { platform: AMD64 })],
    [scanned('alpine:latest', { platform: AMD64 })],
    [scanned('alpine:latest', { platform: AMD64 })],
    [scanned('x:1', {}), scanned('x:1', {})],
  ]);
  assert.deepEqual(keys, [
    'app:1.0 [linux/amd64]',
    'app:1.0 [linux/arm64/v8]',
    'other:2.0',
    'alpine:latest',
    'alpine:latest (2)',
    'x:1 [unknown platform]',
    'x:1 [unknown platform] (2)',
  ]);
});

test('legacyReportSet: ONE object, a key per image, each holding its own results; legacyReport: one key, the reference', () => {
  const groups = [
    [scanned('app:1.0', { platform: AMD64 }), scanned('app:1.0', { platform: ARM64, failing: ['suid'] })],
    [scanned('web:2', { failing: ['compilers'] })],
  ];
  const set = legacyReportSet(groups);
  assert.ok(!Array.isArray(set));
  assert.deepEqual(Object.keys(set), ['app:1.0 [linux/amd64]', 'app:1.0 [linux/arm64/v8]', 'web:2']);
  assert.equal(set['app:1.0 [linux/arm64/v8]']?.find((r) => r.Id === 'suid')?.Pass, false);
  assert.equal(set['app:1.0 [linux/amd64]']?.find((r) => r.Id === 'suid')?.Pass, true);
  assert.equal(set['web:2']?.find((r) => r.Id === 'compilers')?.Severity, 'Medium');
  const one = groups[0]?.[1];
  assert.ok(one);
  assert.deepEqual(legacyReport(one), { 'app:1.0': one.results });
});

test('legacy documents are validated before use: a result off the schema is INTERNAL', () => {
  const bad = scanned('app:1.0');
  const broken: ScannedImage = {
    ...bad,
    results: [{ ...(bad.results[0] as ReportResult), Severity: 'Awful' as ReportResult['Severity'] }],
  };
  assert.throws(
    () => legacyReport(broken),
    (err: unknown) => isOciScanError(err, 'INTERNAL') && /report\.schema\.json/.test(err.message),
  );
  assert.throws(
    () => legacyReportSet([[broken]]),
    (err: unknown) => isOciScanError(err, 'INTERNAL') && /report-set\.schema\.json/.test(err.message),
  );
});

test('scanDocument: tool, one entry per image with digests, platform and layers, the failures, and the highest severity', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  const doc = scanDocument([
    {
      input: 'app:1.0',
      scans: [
        scanned('app:1.0', { platform: AMD64, manifestDigest: digest('1'), indexDigest: digest('9') }),
        scanned('app:1.0', { platform: ARM64, manifestDigest: digest('2'), indexDigest: digest('9'), failing: ['suid'] }),
      ],
    },
    { input: 'missing:1', failure: { code: 'IMAGE_NOT_FOUND', message: 'missing:1 not found' } },
    { input: 'docker-archive:x.tar', scans: [scanned('docker-archive:x.tar', { failing: ['compilers'] })] },
  ]);
  assert.deepEqual(doc.tool, { name: pkg.name, version: pkg.version });
  assert.equal(doc.images.length, 3);
  const [amd64, arm64, archive] = doc.images;
  assert.deepEqual(amd64, {
    reference: 'app:1.0',
    digest: digest('1'),
    indexDigest: digest('9'),
    configDigest: digest('c'),
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [digest('a'), digest('b')],
    // The config has no history and no diff_ids per layer: every detail is unknown.
    layerDetails: [digest('a'), digest('b')].map((d) => ({
      digest: d,
      diffId: null,
      createdBy: null,
      created: null,
      comment: null,
      origin: null,
    })),
    results: amd64?.results,
    highest: 'Informational',
  });
  assert.equal(amd64?.results.length, 17);
  assert.deepEqual(arm64?.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.equal(arm64?.highest, 'Critical');
  assert.equal(archive?.digest, null);
  assert.equal(archive?.platform, null);
  assert.ok(archive && !('indexDigest' in archive));
  assert.deepEqual(doc.errors, [{ reference: 'missing:1', code: 'IMAGE_NOT_FOUND', message: 'missing:1 not found' }]);
  assert.equal(doc.highest, null, "an IMAGE could not be scanned: the run's verdict is not known");
  assert.equal(doc.highestScanned, 'Critical');
});

test('scanDocument: a passed check keeps its check severity as CheckSeverity; the legacy report never has the field', () => {
  const base = scanned('app:1.0', { failing: ['suid'] });
  const checkSeverities = Object.fromEntries(ALL_CHECKS.map((c) => [c.id, c.severity]));
  const doc = scanDocument([{ input: 'app:1.0', scans: [{ ...base, checkSeverities }] }]);
  const results = doc.images[0]?.results ?? [];
  const sudo = results.find((r) => r.Id === 'sudo');
  assert.deepEqual(
    [sudo?.Pass, sudo?.Severity, sudo?.CheckSeverity],
    [true, 'Informational', 'Critical'],
    'a passed Critical check is told from an informational one',
  );
  assert.equal(results.find((r) => r.Id === 'suid')?.CheckSeverity, 'Critical');
  assert.equal(results.find((r) => r.Id === 'layer-count')?.CheckSeverity, 'Low');
  assert.ok(!JSON.stringify(legacyReport({ ...base, checkSeverities })).includes('CheckSeverity'));
});

test('scanDocument: an image that failed to scan beside a clean one never reads as a clean run', () => {
  const doc = scanDocument([
    { input: 'web:2', scans: [scanned('web:2')] },
    { input: 'a', failure: { code: 'NETWORK', message: 'refused' } },
  ]);
  assert.equal(doc.highestScanned, 'Informational');
  assert.equal(doc.highest, null, 'not "Informational": an image was not scanned');
});

test('scanDocument: with no image scanned the highest severity is null, never a pass; an image off the schema is INTERNAL', () => {
  const none = scanDocument([{ input: 'a', failure: { code: 'NETWORK', message: 'refused' } }]);
  assert.deepEqual(none.images, []);
  assert.equal(none.highest, null);
  const empty = scanned('app:1.0');
  assert.throws(
    () => scanDocument([{ input: 'app:1.0', scans: [{ ...empty, results: [] }] }]),
    (err: unknown) => isOciScanError(err, 'INTERNAL') && /scan-document\.schema\.json/.test(err.message),
  );
  const badDigest = scanned('app:1.0', { manifestDigest: 'not-a-digest' });
  assert.throws(
    () => scanDocument([{ input: 'app:1.0', scans: [badDigest] }]),
    (err: unknown) => isOciScanError(err, 'INTERNAL'),
  );
});

test('reportFileNames over a run: team-a/app and team-b/app, app/busybox and public/busybox keep apart; a platform part only for the platforms of one IMAGE', () => {
  const img = (repository: string, tag: string, platform: Platform, d: string): Image =>
    scanned(`${repository}:${tag}`, { repository, tag, platform, manifestDigest: digest(d) }).image;
  const names = reportFileNames([
    [img('team-a/app', '1.0', AMD64, '1')],
    [img('team-b/app', '1.0', AMD64, '2')],
    [img('app/busybox', '2.1', AMD64, '3')],
    [img('public/busybox', '2.1', AMD64, '4')],
    [img('multi', '3', AMD64, '5'), img('multi', '3', ARM64, '6')],
  ]);
  assert.deepEqual(names, [
    'team-a_app_1.0-compliance.json',
    'team-b_app_1.0-compliance.json',
    'app_busybox_2.1-compliance.json',
    'public_busybox_2.1-compliance.json',
    'multi_3_linux-amd64-compliance.json',
    'multi_3_linux-arm64-v8-compliance.json',
  ]);
  // Two IMAGEs whose names still coincide (two layouts called img): a digest suffix each.
  const twins = reportFileNames([[img('img', '1.0', AMD64, '7')], [img('img', '1.0', AMD64, '8')]]);
  assert.notEqual(twins[0], twins[1]);
  for (const n of twins) assert.match(n, /^img_1\.0_[0-9a-f]{12}-compliance\.json$/);
});
