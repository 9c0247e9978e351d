/**
 * The built CLI with several IMAGE arguments and the report formats (src/cli/commands/scan.ts,
 * src/report/formats/): every image scanned in one run, each with its report, the exit code
 * the highest over all of them; a failing image among good ones; report files that never
 * collide; `--json-stdout` as one object keyed by reference; `--format json` and `-o FILE`;
 * command words.
 *
 * Provenance: every image is built by test/helpers/image-builder.ts and written as an OCI
 * layout or a docker archive in a temporary directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  buildImage,
  buildIndex,
  digestOf,
  writeDockerArchive,
  writeOciLayout,
  type BuiltImage,
  type ImageSpec,
} from '../../helpers/image-builder.js';
import { runCli, tempDir } from '../../helpers/scan.js';
import { REPORT_SCHEMA_URL, REPORT_SET_SCHEMA_URL, SCAN_DOCUMENT_SCHEMA_URL } from '../../../src/report/validate.js';

/** A clean image: numeric non-root user, labels, one layer, CMD — every check passes. */
const cleanSpec: ImageSpec = {
  layers: [
    {
      entries: [
        { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
        { type: 'file', path: 'app', mode: 0o755, content: 'x' },
      ],
    },
  ],
  config: { User: '1000:1000', Labels: { vendor: 'v' }, Cmd: ['/app'] },
};
/** The clean image plus a compiler: highest severity Medium (exit 14). */
const toolsSpec: ImageSpec = {
  ...cleanSpec,
  layers: [{ entries: [...(cleanSpec.layers[0]?.entries ?? []), { type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'gcc' }] }],
};

type Results = Array<{ Id: string; Pass: boolean; Severity: string; Description: string }>;

/** Writes `image` as an OCI layout at `root` tagged `tag`; returns its `oci:` reference. */
async function layout(root: string, image: BuiltImage, tag = '1.0'): Promise<string> {
  await writeOciLayout(root, [{ image, tag }]);
  return `oci:${root}:${tag}`;
}

/** A two-platform layout (amd64 clean, arm64/v8 with a setuid su) behind one index blob tagged 2.0. */
async function multiPlatformLayout(root: string): Promise<{ ref: string; amd64: BuiltImage; arm64: BuiltImage; indexDigest: string }> {
  const amd64 = buildImage({ ...cleanSpec, platform: { os: 'linux', architecture: 'amd64' } });
  const arm64 = buildImage({
    ...cleanSpec,
    layers: [{ entries: [{ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'x' }] }],
    platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  });
  await writeOciLayout(root, [{ image: amd64 }, { image: arm64 }]);
  const index = buildIndex([amd64, arm64]);
  await writeFile(join(root, 'blobs', 'sha256', index.digest.slice(7)), index.bytes);
  await writeFile(
    join(root, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: index.mediaType,
          digest: index.digest,
          size: index.bytes.length,
          annotations: { 'org.opencontainers.image.ref.name': '2.0' },
        },
      ],
    }),
  );
  return { ref: `oci:${root}:2.0`, amd64, arm64, indexDigest: index.digest };
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** A validator for one of the schemas, with report.schema.json loaded for the references. */
async function validator(url: URL): Promise<(doc: unknown) => void> {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
  ajv.addSchema(await readJson<object>(REPORT_SCHEMA_URL.pathname));
  const validate = ajv.compile(await readJson<object>(url.pathname));
  return (doc) => assert.ok(validate(doc), JSON.stringify(validate.errors));
}

test('several IMAGEs: every one scanned, each with its report, the exit code is the highest over all, in any order', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const clean = await layout(join(dir, 'clean'), buildImage(cleanSpec));
    const tools = await layout(join(dir, 'tools'), buildImage(toolsSpec));
    const reports = join(dir, 'r');
    const r = await runCli([clean, tools, '--reports-dir', reports]);
    assert.equal(r.code, 14, `the compiler in the second image counts; stderr: ${r.stderr}`);
    assert.deepEqual((await readdir(reports)).sort(), ['clean_1.0-compliance.json', 'tools_1.0-compliance.json']);
    const cleanReport = await readJson<Record<string, Results>>(join(reports, 'clean_1.0-compliance.json'));
    const toolsReport = await readJson<Record<string, Results>>(join(reports, 'tools_1.0-compliance.json'));
    assert.deepEqual(Object.keys(cleanReport), [clean]);
    assert.deepEqual(Object.keys(toolsReport), [tools]);
    assert.ok(
      cleanReport[clean]?.every((x) => x.Pass),
      'the clean image passes every check',
    );
    assert.equal(toolsReport[tools]?.find((x) => x.Id === 'compilers')?.Pass, false);
    // Each image's lines under its own header, in argument order, each ending with its report.
    const headers = [...r.stdout.matchAll(/^Image (oci:.*) \(linux\/amd64\)$/gm)].map((m) => m[1]);
    assert.deepEqual(headers, [clean, tools]);
    assert.equal([...r.stdout.matchAll(/^Report: /gm)].length, 2);
    assert.equal(r.stderr, '');

    const reversed = await runCli([tools, clean, '--reports-dir', join(dir, 'r2')]);
    assert.equal(reversed.code, 14, reversed.stderr);
    const cleanOnly = await runCli([clean, clean, '--reports-dir', join(dir, 'r3')]);
    assert.equal(cleanOnly.code, 0, 'a repeated IMAGE is scanned once');
    assert.deepEqual(await readdir(join(dir, 'r3')), ['clean_1.0-compliance.json']);
  } finally {
    await cleanup();
  }
});

test('several IMAGEs share one layer-facts store: a layer two images hold is inspected once', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const base = buildImage(cleanSpec);
    const derived = buildImage({
      ...cleanSpec,
      layers: [...cleanSpec.layers, { entries: [{ type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'gcc' }] }],
    });
    const shared = base.layers[0]?.digest ?? '';
    assert.equal(derived.layers[0]?.digest, shared, 'the images share their first layer');
    const r = await runCli([
      await layout(join(dir, 'base'), base),
      await layout(join(dir, 'derived'), derived),
      '--reports-dir',
      join(dir, 'r'),
      '--log-level',
      'debug',
    ]);
    assert.equal(r.code, 14, r.stderr);
    const inspected = r.stderr
      .split('\n')
      .filter((l) => l.includes('"msg":"layer inspected"'))
      .map((l) => (JSON.parse(l) as { layer: string }).layer);
    assert.deepEqual(inspected.filter((d) => d === shared).length, 1, inspected.join(' '));
    assert.equal(inspected.length, 2, 'the shared layer and the compiler layer');
  } finally {
    await cleanup();
  }
});

test('an IMAGE that cannot be scanned: every image attempted, one line for it, the others reported; the failure decides the exit code', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const clean = await layout(join(dir, 'clean'), buildImage(cleanSpec));
    const tools = await layout(join(dir, 'tools'), buildImage(toolsSpec));
    const missing = `oci:${join(dir, 'missing')}:1.0`;
    // A layout whose manifest is not JSON: exit 21.
    const broken = join(dir, 'broken');
    await writeOciLayout(broken, [{ image: buildImage(cleanSpec), tag: '1.0' }]);
    const notJson = Buffer.from('not a manifest');
    await writeFile(join(broken, 'blobs', 'sha256', digestOf(notJson).slice(7)), notJson);
    await writeFile(
      join(broken, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: digestOf(notJson),
            size: notJson.length,
            annotations: { 'org.opencontainers.image.ref.name': '1.0' },
          },
        ],
      }),
    );

    const reports = join(dir, 'r');
    // A severity code above the failure's changes nothing: the failure's code wins.
    const r = await runCli([clean, missing, tools, '--reports-dir', reports], { env: { MEDIUM_EXIT_CODE: '99' } });
    assert.equal(r.code, 20, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]?.startsWith(`oci-scan: ${missing}: `), lines[0]);
    assert.match(lines[0] ?? '', /does not exist/);
    assert.deepEqual(
      (await readdir(reports)).sort(),
      ['clean_1.0-compliance.json', 'tools_1.0-compliance.json'],
      'the images that were scanned have their reports',
    );
    assert.match(r.stdout, /^FAIL\. Severity: Medium\. Compilers in the image/m);

    // Several failures: the first in argument order decides.
    const first21 = await runCli([`oci:${broken}:1.0`, missing, clean, '--reports-dir', join(dir, 'r2')]);
    assert.equal(first21.code, 21, first21.stderr);
    assert.equal(first21.stderr.trimEnd().split('\n').length, 2, first21.stderr);
    const first20 = await runCli([missing, `oci:${broken}:1.0`, clean, '--reports-dir', join(dir, 'r3')]);
    assert.equal(first20.code, 20, first20.stderr);

    // The scan document lists the failure beside the images scanned.
    const doc = await runCli([clean, missing, tools, '--format', 'json']);
    assert.equal(doc.code, 20, doc.stderr);
    const parsed = JSON.parse(doc.stdout) as {
      images: Array<{ reference: string }>;
      errors: Array<{ reference: string; code: string; message: string }>;
      highest: string | null;
      highestScanned: string;
    };
    assert.deepEqual(
      parsed.images.map((i) => i.reference),
      [clean, tools],
    );
    assert.equal(parsed.errors.length, 1);
    assert.equal(parsed.errors[0]?.reference, missing);
    assert.equal(parsed.errors[0]?.code, 'SOURCE_NOT_FOUND');
    assert.match(parsed.errors[0]?.message ?? '', /does not exist/);
    assert.equal(parsed.highest, null, 'an IMAGE failed: the run\'s verdict is not "Medium"');
    assert.equal(parsed.highestScanned, 'Medium');

    // A summary line per image scanned, and a total that counts the IMAGE not scanned.
    assert.match(r.stdout, /^oci:.*clean:1\.0 — \d+ failed.*, \d+ passed$/m);
    assert.match(r.stdout, /^Total: 2 images — \d+ failed \(.*\), \d+ passed; 1 not scanned$/m);

    // One IMAGE alone keeps the one line it always printed, without the prefix.
    const alone = await runCli([missing, '--reports-dir', join(dir, 'r4')]);
    assert.equal(alone.code, 20);
    assert.match(alone.stderr, /^oci-scan: \S+ does not exist: check the path given to oci:\n$/);
    assert.equal(alone.stdout, '');
  } finally {
    await cleanup();
  }
});

test('report files: team-a/app:1.0 and team-b/app:1.0, app/busybox:2.1 and public/busybox:2.1 in ONE run write four different, complete files', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tags = ['registry.local:5000/team-a/app:1.0', 'team-b/app:1.0', 'app/busybox:2.1', 'public/busybox:2.1'];
    const refs: string[] = [];
    for (const [i, tag] of tags.entries()) {
      const archive = join(dir, `image-${i}.tar`);
      // The second image of each pair differs (a compiler), so a file that overwrote another would show.
      await writeDockerArchive(archive, buildImage(i % 2 === 0 ? cleanSpec : toolsSpec), [tag]);
      refs.push(`docker-archive:${archive}`);
    }
    // Two layouts whose directory names, tags and so file names coincide: a digest suffix keeps them apart.
    const twinA = await layout(join(dir, 'a', 'img'), buildImage(cleanSpec));
    const twinB = await layout(join(dir, 'b', 'img'), buildImage(toolsSpec));
    const reports = join(dir, 'r');
    const r = await runCli([...refs, twinA, twinB, '--reports-dir', reports]);
    assert.equal(r.code, 14, r.stderr);
    const files = (await readdir(reports)).sort();
    assert.equal(files.length, 6, files.join(' '));
    for (const expected of [
      'team-a_app_1.0-compliance.json',
      'team-b_app_1.0-compliance.json',
      'app_busybox_2.1-compliance.json',
      'public_busybox_2.1-compliance.json',
    ])
      assert.ok(files.includes(expected), `${expected} in ${files.join(' ')}`);
    const twins = files.filter((f) => f.startsWith('img_1.0_'));
    assert.equal(twins.length, 2, files.join(' '));
    for (const f of twins) assert.match(f, /^img_1\.0_[0-9a-f]{12}-compliance\.json$/);
    // Every file is complete and belongs to its own image.
    const byKey = new Map<string, Results>();
    for (const f of files) {
      const report = await readJson<Record<string, Results>>(join(reports, f));
      const [key, ...more] = Object.keys(report);
      assert.equal(more.length, 0);
      assert.equal(report[key ?? '']?.length, 17, f);
      byKey.set(key ?? '', report[key ?? ''] ?? []);
    }
    assert.deepEqual([...byKey.keys()].sort(), [...refs, twinA, twinB].sort());
    for (const [i, ref] of [...refs, twinA, twinB].entries()) {
      assert.equal(byKey.get(ref)?.find((x) => x.Id === 'compilers')?.Pass, i % 2 === 0, `${ref} holds its own results`);
    }
  } finally {
    await cleanup();
  }
});

test('--json-stdout: ONE object keyed by reference, one key per image scanned; platforms of one IMAGE get a suffix', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const validSet = await validator(REPORT_SET_SCHEMA_URL);
    const clean = await layout(join(dir, 'clean'), buildImage(cleanSpec));
    const tools = await layout(join(dir, 'tools'), buildImage(toolsSpec));
    const two = await runCli([clean, tools, '--json-stdout', '--reports-dir', join(dir, 'r')]);
    assert.equal(two.code, 14, two.stderr);
    const doc = JSON.parse(two.stdout) as Record<string, Results>;
    validSet(doc);
    assert.deepEqual(Object.keys(doc), [clean, tools]);
    assert.deepEqual(doc[tools], (await readJson<Record<string, Results>>(join(dir, 'r', 'tools_1.0-compliance.json')))[tools]);
    assert.match(two.stderr, /^FAIL\. Severity: Medium\. Compilers in the image/m, 'the check lines move to stderr');

    const multi = await multiPlatformLayout(join(dir, 'multi'));
    const all = await runCli([multi.ref, clean, '--platform', 'all', '--reports-dir', join(dir, 'r2')], {
      env: { COMPLIANCE_JSON_STDOUT: 'true' },
    });
    assert.equal(all.code, 12, all.stderr);
    const keyed = JSON.parse(all.stdout) as Record<string, Results>;
    validSet(keyed);
    assert.deepEqual(Object.keys(keyed), [`${multi.ref} [linux/amd64]`, `${multi.ref} [linux/arm64/v8]`, clean]);
    assert.equal(keyed[`${multi.ref} [linux/arm64/v8]`]?.find((x) => x.Id === 'suid')?.Pass, false);
    assert.equal(keyed[`${multi.ref} [linux/amd64]`]?.find((x) => x.Id === 'suid')?.Pass, true);
  } finally {
    await cleanup();
  }
});

test('--format json: one schema-valid document with digests, index digest, platform and layers; no report files; -o FILE written atomically', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const validDoc = await validator(SCAN_DOCUMENT_SCHEMA_URL);
    const cleanImage = buildImage(cleanSpec);
    const clean = await layout(join(dir, 'clean'), cleanImage);
    const multi = await multiPlatformLayout(join(dir, 'multi'));
    const archive = join(dir, 'saved.tar');
    await writeDockerArchive(archive, buildImage(toolsSpec), ['team/web:3.0']);
    const cwd = join(dir, 'cwd');
    await mkdir(cwd);
    const r = await runCli([multi.ref, clean, `docker-archive:${archive}`, '--platform', 'all', '--format', 'json'], { cwd });
    assert.equal(r.code, 12, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      tool: { name: string; version: string };
      images: Array<{
        reference: string;
        digest: string | null;
        indexDigest?: string;
        configDigest: string;
        platform: object | null;
        layers: string[];
        results: Results;
        highest: string;
      }>;
      errors: unknown[];
      highest: string;
    };
    validDoc(doc);
    const pkg = await readJson<{ version: string }>(new URL('../../../../package.json', import.meta.url).pathname);
    assert.deepEqual(doc.tool, { name: 'oci-scan', version: pkg.version });
    assert.equal(doc.images.length, 4);
    const [amd64, arm64, cleanDoc, saved] = doc.images;
    assert.equal(amd64?.reference, multi.ref);
    assert.equal(amd64?.digest, multi.amd64.manifestDigest);
    assert.equal(amd64?.indexDigest, multi.indexDigest);
    assert.equal(amd64?.configDigest, multi.amd64.configDigest);
    assert.deepEqual(amd64?.platform, { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(
      amd64?.layers,
      multi.amd64.layers.map((l) => l.digest),
    );
    assert.equal(amd64?.highest, 'Informational');
    assert.deepEqual(arm64?.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    assert.equal(arm64?.digest, multi.arm64.manifestDigest);
    assert.equal(arm64?.highest, 'Critical');
    assert.equal(cleanDoc?.digest, cleanImage.manifestDigest);
    assert.ok(cleanDoc && !('indexDigest' in cleanDoc), 'no index for a plain manifest');
    assert.equal(cleanDoc?.results.length, 17);
    assert.equal(saved?.digest, null, 'a docker archive records no manifest');
    assert.equal(saved?.highest, 'Medium');
    assert.deepEqual(doc.errors, []);
    assert.equal(doc.highest, 'Critical');
    assert.deepEqual(await readdir(cwd), [], 'no legacy report files with --format json');
    assert.match(
      r.stderr,
      /^FAIL\. Severity: Critical\. Checking for a suid bit file/m,
      'the check lines go to stderr while stdout carries the document',
    );

    const out = join(dir, 'out', 'scan.json');
    await mkdir(join(dir, 'out'));
    const toFile = await runCli([multi.ref, clean, `docker-archive:${archive}`, '--platform', 'all', '--format', 'json', '-o', out], {
      cwd,
    });
    assert.equal(toFile.code, 12, toFile.stderr);
    assert.deepEqual(await readJson<unknown>(out), doc);
    assert.deepEqual(await readdir(join(dir, 'out')), ['scan.json'], 'no temporary file left');
    assert.match(
      toFile.stdout,
      /^FAIL\. Severity: Critical\. Checking for a suid bit file/m,
      'with -o FILE the check lines stay on stdout',
    );
    assert.ok(toFile.stdout.endsWith(`Report: ${out}\n`), toFile.stdout.slice(-300));

    const dash = await runCli([clean, '--format', 'json', '-o', '-'], { cwd });
    assert.equal(dash.code, 0, dash.stderr);
    validDoc(JSON.parse(dash.stdout));
  } finally {
    await cleanup();
  }
});

test('--format json usage: -o needs it, --json-stdout and --reports-dir conflict with it, an unwritable -o fails before scanning', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const clean = await layout(join(dir, 'clean'), buildImage(cleanSpec));
    const cases: Array<[args: string[], code: number, pattern: RegExp]> = [
      [[clean, '-o', join(dir, 'x.bin')], 2, /-o ".*x\.bin": its extension names no format .*add --format json\|sarif\|junit\|table/],
      [[clean, '--format', 'json', '--json-stdout'], 2, /--json-stdout prints the legacy reports/],
      [
        [clean, '--format', 'json', '--reports-dir', dir],
        2,
        /--reports-dir holds the legacy report files, which --format json does not write: add --format legacy, or write the document to a file with -o FILE/,
      ],
      [
        [clean, '--format', 'json', '-o', join(dir, 'y.json'), '--reports-dir', dir],
        2,
        /--reports-dir holds the legacy report files, which --format json does not write: add --format legacy \(see/,
      ],
      [[clean, '--format', 'yaml'], 2, /--format "yaml": the format is one of legacy, json, sarif, junit, table/],
      [
        [clean, '--format', 'json', '-o', join(dir, 'no', 'such', 'dir', 'x.json')],
        23,
        /its directory .* does not exist or is not writable/,
      ],
      [[clean, '--format', 'json', '-o', dir], 23, /is a directory/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stdout, '');
    }
  } finally {
    await cleanup();
  }
});

test('command words: "audit" alone is the audit command without a target (exit 2, says how to scan an image named so); "scan" runs the default command; an image reference is never a command', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const reserved = await runCli(['audit', '--reports-dir', dir]);
    assert.equal(reserved.code, 2, reserved.stderr);
    assert.match(
      reserved.stderr,
      /^oci-scan: oci-scan audit needs what to audit: .*; to scan an image named audit, run oci-scan scan audit\n$/,
    );
    assert.equal((await runCli(['cache'])).code, 2);

    const clean = await layout(join(dir, 'audit'), buildImage(cleanSpec));
    const explicit = await runCli(['scan', clean, '--reports-dir', join(dir, 'r')]);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.deepEqual(await readdir(join(dir, 'r')), ['audit_1.0-compliance.json']);

    // audit:1.0 and `scan audit` are registry references: here to a mirror nobody listens on,
    // so the line names the registry host that was tried (refused connections are not retried).
    const mirror = ['--registry-mirror', 'docker.io=127.0.0.1:9', '--reports-dir', join(dir, 'r2')];
    for (const args of [
      ['audit:1.0', ...mirror],
      ['scan', 'audit', ...mirror],
      ['docker://audit', ...mirror],
    ]) {
      const r = await runCli(args, { timeoutMs: 60_000 });
      assert.equal(r.code, 20, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /127\.0\.0\.1:9/, `${args.join(' ')} went to the registry: ${r.stderr}`);
    }
  } finally {
    await cleanup();
  }
});
