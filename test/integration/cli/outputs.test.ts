/**
 * The built CLI's outputs and flags (src/cli/commands/scan.ts, src/cli/help.ts,
 * src/cli/progress.ts, src/cli/detect-source.ts): `--format` sarif / junit / table / json /
 * legacy together, each to its file or stdout; `-o`; `--quiet`; `--list-checks`; the progress
 * lines and their erasure before an error; `--help` at 80 columns; strict options; a bare path
 * as IMAGE. SARIF is checked against the official 2.1.0 schema and by Microsoft's
 * Sarif.Multitool; JUnit is parsed back by fast-xml-parser.
 *
 * Provenance: every image is built by test/helpers/image-builder.ts and written as an OCI
 * layout, an OCI archive or a docker archive in a temporary directory, or pushed to a real
 * registry (Debian's docker-registry, test/helpers/registry-server.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { buildImage, buildTar, writeDockerArchive, writeOciArchive, writeOciLayout, type ImageSpec } from '../../helpers/image-builder.js';
import { multitoolValidate, sarifValidator } from '../../helpers/sarif.js';
import { Pusher } from '../../helpers/push.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../../helpers/registry-server.js';
import { ociLayoutRef, runCli, tempDir } from '../../helpers/scan.js';
import { describeOrSkip } from '../../helpers/skip.js';

/** Two layers (Low), a setuid su (Critical) and a compiler (Medium); the rest passes. */
const toolsSpec: ImageSpec = {
  layers: [
    {
      entries: [
        { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
        { type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'x' },
      ],
    },
    { entries: [{ type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'x' }] },
  ],
  config: { User: '1000:1000', Labels: { vendor: 'v' }, Cmd: ['/app'] },
};

/** The results of `toolsSpec`: failed su (Critical) → suid (Critical), su, compilers (Medium), layer-count (Low). */
const SUMMARY = /— 4 failed \(2 Critical, 1 Medium, 1 Low\), 13 passed$/;

test('--format sarif=F --format junit=F --format table: each in its place; SARIF valid (schema and Sarif.Multitool), JUnit parses, the table on stdout', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, toolsSpec, 'tools');
    const sarifFile = join(dir, 'out.sarif');
    const junitFile = join(dir, 'junit.xml');
    const r = await runCli([ref, '--format', `sarif=${sarifFile}`, '--format', `junit=${junitFile}`, '--format', 'table']);
    assert.equal(r.code, 12, r.stderr);
    assert.equal(r.stderr, `Report: ${sarifFile}\nReport: ${junitFile}\n`, 'the report lines leave stdout to the table');

    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 18, r.stdout);
    assert.match(lines[0] ?? '', /^FAIL {2}Critical +suid /);
    assert.match(lines[3] ?? '', /^FAIL {2}Low +layer-count /);
    assert.match(lines[4] ?? '', /^PASS /);
    assert.match(lines[17] ?? '', new RegExp(`^${ref.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} ${SUMMARY.source}`));

    const sarif = JSON.parse(await readFile(sarifFile, 'utf8')) as {
      runs: Array<{ results: Array<{ ruleId: string; properties: { path?: string; layer?: string } }> }>;
    };
    assert.equal(sarifValidator()(sarif), undefined);
    const results = sarif.runs[0]?.results ?? [];
    assert.deepEqual(results.map((x) => x.ruleId).sort(), ['compilers', 'layer-count', 'su', 'suid']);
    assert.equal(results.find((x) => x.ruleId === 'suid')?.properties.path, '/usr/bin/su');
    const consumer = await multitoolValidate(sarifFile);
    assert.match(consumer, /1 files scanned/);
    assert.doesNotMatch(consumer, /: error /, consumer);

    const xml = await readFile(junitFile, 'utf8');
    assert.equal(XMLValidator.validate(xml), true);
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
      testsuites: { testsuite: { name: string; failures: string; testcase: Array<{ name: string; failure?: { type: string } }> } };
    };
    assert.equal(junit.testsuites.testsuite.testcase.length, 17);
    assert.equal(junit.testsuites.testsuite.failures, '4');
    assert.equal(junit.testsuites.testsuite.testcase.find((t) => t.name.startsWith('compilers:'))?.failure?.type, 'Medium');
  } finally {
    await cleanup();
  }
});

test('-o FILE for one format, "-" for stdout; two formats on stdout or -o with two formats are usage errors (2)', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, toolsSpec);
    const out = join(dir, 'report.xml');
    const r = await runCli([ref, '--format', 'junit', '-o', out]);
    assert.equal(r.code, 12, r.stderr);
    assert.equal(XMLValidator.validate(await readFile(out, 'utf8')), true);
    assert.match(r.stdout, /^FAIL\. Severity: Critical\. Checking for a su file\. Found file\.$/m, 'the check lines stay on stdout');
    assert.match(r.stdout, new RegExp(`Report: ${out}\\n$`));

    const toStdout = await runCli([ref, '--format', 'sarif=-', '--format', `json=${join(dir, 'doc.json')}`]);
    assert.equal(toStdout.code, 12, toStdout.stderr);
    assert.equal(sarifValidator()(JSON.parse(toStdout.stdout)), undefined, 'stdout is the SARIF log alone');
    assert.match(toStdout.stderr, /^FAIL\. Severity: Medium\. Compilers in the image/m, 'the check lines move to stderr');
    assert.ok(JSON.parse(await readFile(join(dir, 'doc.json'), 'utf8')));

    for (const argv of [
      ['--format', 'sarif', '--format', 'junit'],
      ['--format', 'sarif', '--format', 'junit', '-o', out],
      ['--format', 'xml'],
      ['-o', join(dir, 'report.bin')],
    ]) {
      const bad = await runCli([ref, ...argv]);
      assert.equal(bad.code, 2, `${argv.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, /^oci-scan: .*\n$/);
      assert.equal(bad.stdout, '');
    }
  } finally {
    await cleanup();
  }
});

test('--quiet: only the failed checks and the summary, for the check lines and the table', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, toolsSpec);
    const r = await runCli([ref, '--quiet', '--reports-dir', join(dir, 'r')]);
    assert.equal(r.code, 12, r.stderr);
    assert.doesNotMatch(r.stdout, /^PASS/m);
    assert.equal(r.stdout.match(/^FAIL\./gm)?.length, 4);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines.at(-2) ?? '', SUMMARY);
    assert.match(lines.at(-1) ?? '', /^Report: /);
    assert.equal((await readdir(join(dir, 'r'))).length, 1, 'the report file is complete as ever');

    const table = await runCli([ref, '--format', 'table', '-q']);
    assert.deepEqual(
      table.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.slice(0, 4)),
      ['FAIL', 'FAIL', 'FAIL', 'FAIL', ref.slice(0, 4)],
    );
  } finally {
    await cleanup();
  }
});

test('--list-checks: a table of id, severity, title and what it looks at; JSON with --format json', async () => {
  const table = await runCli(['--list-checks']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /^suid +Critical +Checking for a suid bit file\n +every non-directory entry of every layer with\n +mode bit 04000 or file capabilities$/m,
  );
  assert.ok(table.stdout.split('\n').every((l) => l.length <= 80));
  const json = await runCli(['--list-checks', '--format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const checks = JSON.parse(json.stdout) as Array<{
    id: string;
    title: string;
    severity: string;
    looksAt: string;
    set: string;
    state: string;
  }>;
  assert.equal(checks.filter((c) => c.set === 'default').length, 17);
  assert.deepEqual(
    checks.find((c) => c.id === 'exposed-ports'),
    {
      id: 'exposed-ports',
      title: 'Critical ports in the instructions EXPOSE',
      severity: 'High',
      looksAt: "the config's ExposedPorts",
      set: 'default',
      state: 'on',
    },
  );
  // The extended checks follow, off unless --checks extended (or the policy) turns them on.
  assert.deepEqual(
    checks.find((c) => c.id === 'healthcheck'),
    {
      id: 'healthcheck',
      title: 'HEALTHCHECK instruction',
      severity: 'Low',
      looksAt: "the config's Healthcheck",
      set: 'extended',
      state: 'off',
    },
  );
  const on = JSON.parse((await runCli(['--list-checks', '--format', 'json', '--checks', 'extended'])).stdout) as typeof checks;
  assert.ok(on.every((c) => c.state === 'on'));
  assert.match(
    (await runCli(['--list-checks', '--checks', 'extended'])).stdout,
    /^Extended checks: on; they follow the 17 in the report:$/m,
  );
});

test('progress: plain lines per layer on stderr; in tty mode the drawing is erased before an error line', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, toolsSpec);
    const plain = await runCli([ref, '--progress', 'plain', '--format', 'table']);
    assert.equal(plain.code, 12, plain.stderr);
    const layerLines = plain.stderr.trimEnd().split('\n');
    assert.equal(layerLines.length, 2, plain.stderr);
    for (const line of layerLines)
      assert.match(line, /^oci:.*: layer [12]\/2 [0-9a-f]{12} read \(\d+\.\d MiB, [\d.]+ MiB\/s\)(; image read in \d+ s)?$/);
    assert.doesNotMatch(plain.stdout, /layer 1\/2/, 'progress never goes to stdout');

    // A layer whose tar is destroyed after its bytes were read: the error comes after an erase.
    const tar = buildTar([{ type: 'file', path: 'a', content: 'x'.repeat(5000) }]);
    tar.fill(0x41, 0, 200);
    const broken = await ociLayoutRef(join(dir, 'broken'), { layers: [{ blob: tar, compression: 'none' }] });
    const tty = await runCli([broken, '--progress', 'tty', '--reports-dir', join(dir, 'r')]);
    assert.equal(tty.code, 20, tty.stderr);
    const at = tty.stderr.indexOf('oci-scan: ');
    assert.ok(at > 0, tty.stderr);
    const before = tty.stderr.slice(0, at);
    assert.match(before, /MiB/, 'drawn');
    // Erased right before the error: back to the first drawn line (the image's) and clear to the end.
    // eslint-disable-next-line no-control-regex -- the erase sequence is what is asserted
    assert.match(before, /\r(\u001b\[\d+A)?\u001b\[J$/, `erased right before the error: ${JSON.stringify(before)}`);
    assert.ok(!tty.stderr.slice(at).includes('\u001b'), 'the error line is clean');

    const none = await runCli([ref, '--progress', 'none', '--format', 'table'], { env: { OCI_SCAN_PROGRESS: 'plain' } });
    assert.equal(none.stderr, '', '--progress wins over OCI_SCAN_PROGRESS');
  } finally {
    await cleanup();
  }
});

test('--help: at most 80 columns when piped, whole words, transports, environment, exit codes, three examples', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  const lines = r.stdout.split('\n');
  assert.ok(
    lines.every((l) => l.length <= 80),
    lines.filter((l) => l.length > 80).join('\n'),
  );
  for (const word of [
    'requirements',
    'IMAGE',
    'docker-archive:FILE[:REPO:TAG]',
    'oci-archive:FILE[:TAG]',
    'oci:DIR[:TAG]',
    'COMPLIANCE_REPORTS_DIR',
    'DOCKER_AUTH_CONFIG',
    'CRITICAL_EXIT_CODE',
  ]) {
    assert.ok(r.stdout.split(/[\s(),]+/).includes(word), `the whole word ${word}`);
  }
  for (const section of ['IMAGE (default: $COMPLIANCE_IMAGE_FULL_REF):', 'Options:', 'Environment:', 'Exit codes:', 'Examples:'])
    assert.ok(lines.includes(section), section);
  const examples = lines.slice(lines.indexOf('Examples:') + 1, lines.indexOf('', lines.indexOf('Examples:')));
  assert.equal(examples.filter((l) => l.startsWith('  oci-scan ')).length, 3);
  assert.match(r.stdout, /^ {2}20 {22}the image could not be pulled or opened$/m);
});

test('strict options: a missing value is a usage error (2); --timeout takes s/m/h or is refused quoting the text; --ca-file must be PEM', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, toolsSpec);
    for (const flag of ['--platform', '--reports-dir', '--insecure-registry', '--ca-file', '--timeout']) {
      const r = await runCli([ref, flag]);
      assert.equal(r.code, 2, `${flag}: ${r.stderr}`);
      assert.equal(r.stderr, `oci-scan: ${flag} needs a value (see oci-scan --help)\n`);
      // Followed by another option, the flag still has no value.
      assert.equal((await runCli([flag, '--quiet', ref])).code, 2, `${flag} --quiet`);
    }
    const minute = await runCli([ref, '--timeout', '1m', '--format', 'table']);
    assert.equal(minute.code, 12, minute.stderr);
    const bad = await runCli([ref, '--timeout', '1 min']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--timeout "1 min" is not a duration/);

    const notPem = join(dir, 'ca.txt');
    await writeFile(notPem, 'hello\n');
    const ca = await runCli([ref, '--ca-file', notPem]);
    assert.equal(ca.code, 2);
    assert.match(ca.stderr, /--ca-file ".*ca\.txt" is not a PEM certificate file/);
    const garbled = join(dir, 'garbled.pem');
    await writeFile(garbled, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');
    assert.equal((await runCli([ref, '--ca-file', garbled])).code, 2);
  } finally {
    await cleanup();
  }
});

test('a bare path as IMAGE: OCI layout, OCI archive and docker archive (plain or compressed) recognised from their content, with a note', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const image = buildImage(toolsSpec);
    await writeOciLayout(join(dir, 'layout'), [{ image, tag: '1.0' }]);
    await writeOciArchive(join(dir, 'oci.tar'), [{ image, tag: '1.0' }]);
    await writeDockerArchive(join(dir, 'app.tar'), image, ['app:1.0']);
    await writeFile(join(dir, 'oci.tar.gz'), gzipSync(await readFile(join(dir, 'oci.tar'))));
    await writeFile(join(dir, 'app.tar.gz'), gzipSync(await readFile(join(dir, 'app.tar'))));
    const cases: Array<[string, string, RegExp]> = [
      ['./layout', 'oci:./layout', /an OCI layout/],
      ['./oci.tar', 'oci-archive:./oci.tar', /an OCI archive/],
      ['./app.tar', 'docker-archive:./app.tar', /a docker archive/],
      ['./oci.tar.gz', 'oci-archive:./oci.tar.gz', /an OCI archive/],
      ['./app.tar.gz', 'docker-archive:./app.tar.gz', /a docker archive/],
    ];
    for (const [input, transport, what] of cases) {
      const r = await runCli([input, '--format', 'table', '-q'], { cwd: dir });
      assert.equal(r.code, 12, `${input}: ${r.stderr}`);
      const [note, ...rest] = r.stderr.trimEnd().split('\n');
      assert.equal(rest.length, 0, r.stderr);
      assert.match(note ?? '', what);
      assert.ok(note?.endsWith(`scanning ${transport}`), note);
      assert.match(r.stdout.trimEnd(), SUMMARY);
    }
    const missing = await runCli(['./missing.tar'], { cwd: dir });
    assert.equal(missing.code, 20);
    assert.equal(
      missing.stderr,
      'oci-scan: ./missing.tar does not exist: give the path of an OCI layout directory or an image archive, or a registry reference without ./ or /\n',
    );
    await writeFile(join(dir, 'notes.txt'), 'not an image');
    const r = await runCli(['./notes.txt'], { cwd: dir });
    assert.equal(r.code, 20, r.stderr);
    assert.match(r.stderr, /name its transport, docker-archive:\.\/notes\.txt or oci-archive:\.\/notes\.txt/);
  } finally {
    await cleanup();
  }
});

describeOrSkip('every format at once, from a real registry', { skip: registrySkipReason() }, () => {
  let registry: RunningRegistry;
  const tools = buildImage(toolsSpec);
  const suid = buildImage({
    config: { User: '1000:1000', Labels: { vendor: 'v' }, Cmd: ['/app'] },
    layers: [{ entries: [{ type: 'file', path: 'usr/bin/passwd', mode: 0o4755, content: 'x' }] }],
  });
  before(async () => {
    registry = await startRegistry({ kind: 'none' });
    await new Pusher(registry.url, 'team/tools').image(tools, '1.0');
    await new Pusher(registry.url, 'team/passwd').image(suid, '2.0');
  });
  after(() => registry?.stop());

  test('legacy + sarif + junit files, the quiet table on stdout, plain progress on stderr: two images, each everywhere', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const refs = [`${registry.host}/team/tools:1.0`, `${registry.host}/team/passwd:2.0`];
      const sarifFile = join(dir, 'scan.sarif');
      const junitFile = join(dir, 'junit.xml');
      const reports = join(dir, 'reports');
      const r = await runCli(
        [
          ...refs,
          '--format',
          'legacy',
          '--format',
          `sarif=${sarifFile}`,
          '--format',
          `junit=${junitFile}`,
          '--format',
          'table',
          '--quiet',
          '--reports-dir',
          reports,
        ],
        { env: { OCI_SCAN_PROGRESS: 'plain' } },
      );
      assert.equal(r.code, 12, r.stderr);
      assert.deepEqual((await readdir(reports)).sort(), ['team_passwd_2.0-compliance.json', 'team_tools_1.0-compliance.json']);
      const summaries = r.stdout.split('\n').filter((l) => l.includes(' — ') && !l.startsWith('Total: '));
      assert.deepEqual(
        summaries.map((l) => l.split(' — ')[0]),
        refs,
      );
      assert.match(r.stdout, /\nTotal: 2 images — \d+ failed \(.*\), \d+ passed\n$/, 'two images: a total after them');
      assert.match(summaries[1] ?? '', /— 1 failed \(1 Critical\), 16 passed$/);
      assert.equal(r.stderr.match(/: layer \d\/\d [0-9a-f]{12} read/g)?.length, 3, r.stderr);
      assert.match(r.stderr, /Report: .*scan\.sarif\n/);

      const sarif = JSON.parse(await readFile(sarifFile, 'utf8')) as {
        runs: Array<{
          results: Array<{ ruleId: string; properties: { image: string; imageDigest: string; layer?: string; path?: string } }>;
        }>;
      };
      assert.equal(sarifValidator()(sarif), undefined);
      const passwd = sarif.runs[0]?.results.find((x) => x.properties.image === refs[1]);
      assert.deepEqual(passwd && [passwd.ruleId, passwd.properties.imageDigest, passwd.properties.layer, passwd.properties.path], [
        'suid',
        suid.manifestDigest,
        suid.layers[0]?.digest,
        '/usr/bin/passwd',
      ]);
      assert.doesNotMatch(await multitoolValidate(sarifFile), /: error /);

      const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testsuite' }).parse(
        await readFile(junitFile, 'utf8'),
      ) as { testsuites: { testsuite: Array<{ name: string; failures: string }> } };
      assert.deepEqual(
        junit.testsuites.testsuite.map((t) => [t.name, t.failures]),
        [
          [`${refs[0]} (linux/amd64)`, '4'],
          [`${refs[1]} (linux/amd64)`, '1'],
        ],
      );
    } finally {
      await cleanup();
    }
  });
});
