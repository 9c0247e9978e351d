/**
 * The policy file and the exit policy through the built CLI (docs/ci.md "Policy",
 * docs/errors.md "Failure threshold"): checks disabled and re-rated, findings accepted by
 * path glob (with a reason, an expiry, image globs), every data knob, a bad policy refused
 * with its file and line, and the --fail-on / --exit-code matrix.
 *
 * Provenance: every image is built by test/helpers/image-builder.ts and written as an OCI
 * layout in a temporary directory, or pushed to the real docker-registry on loopback; policies
 * are written as YAML or JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, writeOciLayout, type ImageSpec } from '../../helpers/image-builder.js';
import { Pusher } from '../../helpers/push.js';
import { registrySkipReason, startRegistry } from '../../helpers/registry-server.js';
import { runCli, tempDir } from '../../helpers/scan.js';
import { describeOrSkip } from '../../helpers/skip.js';

/**
 * Two layers; two setuid programs (passwd, openssh's ssh-keysign: suid Critical), gcc (compilers
 * Medium), and programs only a policy forbids (telnet, doas); EXPOSE 8080 (critical only by
 * policy); a non-root user, a label, a CMD.
 */
const toolsSpec: ImageSpec = {
  layers: [
    {
      entries: [
        { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
        { type: 'file', path: 'usr/bin/passwd', mode: 0o4755, content: 'p' },
      ],
    },
    {
      entries: [
        { type: 'file', path: 'usr/lib/openssh/ssh-keysign', mode: 0o4755, content: 'k' },
        { type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'g' },
        { type: 'file', path: 'usr/bin/telnet', mode: 0o755, content: 't' },
        { type: 'file', path: 'usr/bin/doas', mode: 0o755, content: 'd' },
      ],
    },
  ],
  config: { User: '1000:1000', Labels: { vendor: 'v' }, Cmd: ['/app'], ExposedPorts: { '8080/tcp': {} } },
};

/** One layer, every check passes. */
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

interface Result {
  Id: string;
  Pass: boolean;
  Severity: string;
  Description: string;
  Files?: Array<Record<string, string[]>>;
  Accepted?: Array<{ Layer: string; Path: string; Reason: string; Expires?: string }>;
}
interface Doc {
  images: Array<{ reference: string; results: Result[] }>;
}

async function layout(root: string, spec: ImageSpec): Promise<string> {
  await writeOciLayout(root, [{ image: buildImage(spec), tag: '1.0' }]);
  return `oci:${root}:1.0`;
}

/** Runs the CLI with `--format json` in `cwd`; the results of each image by check id. */
async function scanJson(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string; byId: Array<Map<string, Result>> }> {
  const r = await runCli(['--format', 'json', ...args], { cwd, env });
  const doc = r.stdout === '' ? { images: [] } : (JSON.parse(r.stdout) as Doc);
  return { code: r.code, stderr: r.stderr, byId: doc.images.map((i) => new Map(i.results.map((x) => [x.Id, x]))) };
}

function result(byId: Array<Map<string, Result>>, id: string, image = 0): Result {
  const r = byId[image]?.get(id);
  assert.ok(r, `result ${id} of image ${image}`);
  return r;
}

const paths = (r: Result): string[] => (r.Files ?? []).flatMap((l) => Object.values(l).flat()).sort();

test('policy: without one, the tools image fails what the defaults say (the baseline of the tests below)', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tools = await layout(join(dir, 'tools'), toolsSpec);
    const r = await scanJson(dir, [tools]);
    assert.equal(r.code, 12, r.stderr);
    assert.deepEqual(paths(result(r.byId, 'suid')), ['/usr/bin/passwd', '/usr/lib/openssh/ssh-keysign']);
    assert.equal(result(r.byId, 'compilers').Severity, 'Medium');
    assert.equal(result(r.byId, 'layer-count').Pass, false);
    assert.equal(result(r.byId, 'exposed-ports').Pass, true);
    assert.equal(result(r.byId, 'sudo').Pass, true);
    assert.equal(result(r.byId, 'labels').Pass, true);
    assert.equal(r.byId[0]?.has('forbidden-programs'), false);
  } finally {
    await cleanup();
  }
});

test('policy: .oci-scan.yaml in the working directory disables a check and changes a severity', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tools = await layout(join(dir, 'tools'), toolsSpec);
    await writeFile(
      join(dir, '.oci-scan.yaml'),
      'version: 1\nchecks:\n  layer-count: { disabled: true }\n  compilers: { severity: Low }\n',
    );
    const r = await scanJson(dir, [tools]);
    const layers = result(r.byId, 'layer-count');
    assert.deepEqual([layers.Pass, layers.Severity, layers.Description], [true, 'Informational', 'Disabled by policy']);
    const compilers = result(r.byId, 'compilers');
    assert.deepEqual([compilers.Pass, compilers.Severity], [false, 'Low']);
    assert.equal(r.byId[0]?.size, 17, 'a disabled check keeps its place in the report');
  } finally {
    await cleanup();
  }
});

test('policy: accepted findings move to Accepted with their reason; ** crosses directories, * does not; all accepted → the check passes', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tools = await layout(join(dir, 'tools'), toolsSpec);
    const policy = (globs: string) =>
      `version: 1\naccept:\n  - check: suid\n    paths: ${globs}\n    reason: "needed for password changes"\n`;
    const file = join(dir, 'p.yaml');

    await writeFile(file, policy('["/usr/bin/passwd", "/usr/lib/*"]'));
    const partial = await scanJson(dir, ['--policy', file, tools]);
    const suid = result(partial.byId, 'suid');
    assert.equal(suid.Pass, false, '* stays within /usr/lib: ssh-keysign is not accepted');
    assert.deepEqual(paths(suid), ['/usr/lib/openssh/ssh-keysign']);
    assert.deepEqual(
      suid.Accepted?.map((a) => [a.Path, a.Reason]),
      [['/usr/bin/passwd', 'needed for password changes']],
    );
    assert.match(suid.Description, /1 accepted by policy/);
    assert.equal(partial.code, 12);

    await writeFile(file, policy('["/usr/bin/passwd", "/usr/lib/**"]'));
    const all = await scanJson(dir, ['--policy', file, tools]);
    const accepted = result(all.byId, 'suid');
    assert.deepEqual([accepted.Pass, accepted.Severity, accepted.Files], [true, 'Informational', undefined]);
    assert.deepEqual(accepted.Accepted?.map((a) => a.Path).sort(), ['/usr/bin/passwd', '/usr/lib/openssh/ssh-keysign']);
    assert.match(accepted.Description, /2 accepted/);
    assert.ok(accepted.Accepted?.every((a) => /^sha256:[a-f0-9]{64}$/.test(a.Layer)));
    assert.equal(all.code, 14, 'the highest finding left is the compiler (Medium)');
  } finally {
    await cleanup();
  }
});

test('policy: an expired acceptance is ignored with one warning; one that has not expired holds and says until when', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tools = await layout(join(dir, 'tools'), toolsSpec);
    const file = join(dir, 'p.yaml');
    const policy = (expires: string) =>
      `version: 1\naccept:\n  - check: suid\n    paths: ["/**"]\n    reason: "temporary"\n    expires: ${expires}\n`;

    await writeFile(file, policy('2020-01-31'));
    const expired = await scanJson(dir, ['--policy', file, tools, tools]);
    assert.equal(result(expired.byId, 'suid').Pass, false);
    assert.equal(result(expired.byId, 'suid').Accepted, undefined);
    const warnings = expired.stderr.split('\n').filter((l) => l.includes('acceptance expired'));
    assert.equal(warnings.length, 1, `one warning for the run, whatever the images: ${expired.stderr}`);
    // One human line by default (docs/errors.md, its opening); JSON only when asked for.
    assert.match(
      warnings[0] ?? '',
      /^oci-scan: warning: policy: acceptance expired, ignored .*\(check: suid; paths: \/\*\*; expires: 2020-01-31\)$/,
    );
    const asJson = await scanJson(dir, ['--policy', file, tools, '--log-format', 'json']);
    const jsonWarning = asJson.stderr.split('\n').find((l) => l.includes('acceptance expired')) ?? '';
    assert.match(jsonWarning, /"level":40/);
    assert.match(jsonWarning, /2020-01-31/);

    await writeFile(file, policy('2999-12-31'));
    const valid = await scanJson(dir, ['--policy', file, tools]);
    assert.equal(result(valid.byId, 'suid').Pass, true);
    assert.ok(result(valid.byId, 'suid').Accepted?.every((a) => a.Expires === '2999-12-31'));
    assert.doesNotMatch(valid.stderr, /expired/);
  } finally {
    await cleanup();
  }
});

test('policy: rules scoped by image reference glob apply to the matching images only', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const team = await layout(join(dir, 'team'), toolsSpec);
    const other = await layout(join(dir, 'other'), toolsSpec);
    await writeFile(
      join(dir, '.oci-scan.yml'),
      [
        'version: 1',
        'checks:',
        '  compilers: { disabled: true, images: ["oci:**/team:*"] }',
        'accept:',
        '  - check: suid',
        '    paths: ["/**"]',
        '    reason: team images need them',
        '    images: ["oci:**/team:1.0"]',
        '',
      ].join('\n'),
    );
    const r = await scanJson(dir, [team, other]);
    assert.equal(result(r.byId, 'suid', 0).Pass, true);
    assert.equal(result(r.byId, 'compilers', 0).Description, 'Disabled by policy');
    assert.equal(result(r.byId, 'suid', 1).Pass, false);
    assert.equal(result(r.byId, 'suid', 1).Accepted, undefined);
    assert.equal(result(r.byId, 'compilers', 1).Pass, false);
  } finally {
    await cleanup();
  }
});

test('policy: each data knob changes what the checks look for (names, ports, compilers, layers, labels)', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tools = await layout(join(dir, 'tools'), toolsSpec);
    const tinycc = await layout(join(dir, 'tinycc'), {
      ...cleanSpec,
      layers: [{ entries: [{ type: 'file', path: 'usr/bin/tinycc', mode: 0o755, content: 'c' }] }],
    });
    // JSON is a policy format too.
    await writeFile(
      join(dir, '.oci-scan.json'),
      JSON.stringify({
        version: 1,
        data: {
          forbiddenPrograms: { add: ['telnet'], sudo: { add: ['doas'] } },
          criticalPorts: { add: ['8080/tcp'] },
          compilers: { add: ['tinycc'], remove: ['gcc'] },
          maxLayers: 2,
          requiredLabels: ['org.opencontainers.image.source'],
        },
      }),
    );
    const r = await scanJson(dir, [tools, tinycc]);
    const forbidden = result(r.byId, 'forbidden-programs');
    assert.deepEqual([forbidden.Pass, forbidden.Severity, paths(forbidden)], [false, 'Critical', ['/usr/bin/telnet']]);
    assert.deepEqual(paths(result(r.byId, 'sudo')), ['/usr/bin/doas']);
    assert.match(result(r.byId, 'exposed-ports').Description, /8080\/tcp/);
    assert.equal(result(r.byId, 'compilers').Pass, true, 'gcc removed');
    assert.deepEqual(paths(result(r.byId, 'compilers', 1)), ['/usr/bin/tinycc']);
    assert.equal(result(r.byId, 'layer-count').Pass, true, 'two layers allowed');
    const labels = result(r.byId, 'labels');
    assert.equal(labels.Pass, false);
    assert.match(labels.Description, /org\.opencontainers\.image\.source/);
  } finally {
    await cleanup();
  }
});

test('policy: a bad policy exits 2 naming the file, the line and what is wrong, before any scan', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tools = await layout(join(dir, 'tools'), toolsSpec);
    const cases: Array<[string, string, RegExp]> = [
      ['no reason', 'version: 1\naccept:\n  - check: suid\n    paths: ["/usr/bin/passwd"]\n', /p\.yaml:3: .*accept\[0\] needs "reason"/],
      [
        'unknown key',
        'version: 1\nchecks:\n  suid:\n    disabled: true\n    ignore: yes\n',
        /p\.yaml:5: .*checks\.suid has an unknown key "ignore"/,
      ],
      [
        'unknown check',
        'version: 1\nchecks:\n  suid: { disabled: true }\n  no-such-check: { disabled: true }\n',
        /p\.yaml:4: .*"no-such-check" that is not a check id/,
      ],
      [
        'bad severity',
        'version: 1\nchecks:\n  compilers:\n    severity: Urgent\n',
        /p\.yaml:4: .*checks\.compilers\.severity must be one of Critical, High, Medium, Low/,
      ],
      [
        'bad date',
        'version: 1\naccept:\n  - check: suid\n    paths: ["/x"]\n    reason: r\n    expires: 2027-02-30\n',
        /p\.yaml:6: .*not a calendar date/,
      ],
      ['not YAML', 'version: 1\naccept: [\n', /p\.yaml:\d+: not valid YAML/],
      ['no version', 'checks: {}\n', /p\.yaml:1: the policy needs "version"/],
    ];
    for (const [what, text, expected] of cases) {
      await writeFile(join(dir, 'p.yaml'), text);
      const r = await runCli(['--policy', join(dir, 'p.yaml'), tools, '--reports-dir', join(dir, 'r')]);
      assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      assert.match(r.stderr, expected, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
      assert.equal(r.stdout, '', `${what}: nothing scanned`);
    }
    const missing = await runCli(['--policy', join(dir, 'absent.yaml'), tools]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /absent\.yaml: no such file/);
    const noValue = await runCli([tools, '--policy']);
    assert.equal(noValue.code, 2);
    assert.match(noValue.stderr, /--policy needs a value/);
  } finally {
    await cleanup();
  }
});

test('--fail-on / --exit-code: 0 below the threshold, the severity code (or --exit-code) at or above it; *_EXIT_CODE still honoured', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tools = await layout(join(dir, 'tools'), toolsSpec);
    const clean = await layout(join(dir, 'clean'), cleanSpec);
    // Accepting every setuid file leaves the compiler (Medium) and the layer count (Low).
    const accepting = join(dir, 'accept.yaml');
    await mkdir(join(dir, 'r'), { recursive: true });
    await writeFile(accepting, 'version: 1\naccept:\n  - check: suid\n    paths: ["/**"]\n    reason: known\n');
    const matrix: Array<[string, string[], Record<string, string>, number]> = [
      ['no flag', [tools], {}, 12],
      ['Critical found, fail on High', [tools, '--fail-on', 'High'], {}, 12],
      ['none never fails on findings', [tools, '--fail-on', 'none'], {}, 0],
      ['case-insensitive', [tools, '--fail-on', 'critical'], {}, 12],
      ['accepted Criticals do not count', [tools, '--policy', accepting, '--fail-on', 'Critical'], {}, 0],
      ['Medium left, fail on High', [tools, '--policy', accepting, '--fail-on', 'High'], {}, 0],
      ['Medium left, fail on Medium', [tools, '--policy', accepting, '--fail-on', 'Medium'], {}, 14],
      ['Medium left, fail on Low', [tools, '--policy', accepting, '--fail-on', 'Low'], {}, 14],
      ['--exit-code replaces the code', [tools, '--policy', accepting, '--fail-on', 'Medium', '--exit-code', '1'], {}, 1],
      ['--exit-code alone: any failure', [tools, '--exit-code', '3'], {}, 3],
      ['--exit-code alone, clean image', [clean, '--exit-code', '3'], {}, 0],
      ['clean image, fail on Low', [clean, '--fail-on', 'Low'], {}, 0],
      ['CRITICAL_EXIT_CODE honoured', [tools, '--fail-on', 'High'], { CRITICAL_EXIT_CODE: '42' }, 42],
      [
        'below the threshold is 0 whatever the variables',
        [tools, '--policy', accepting, '--fail-on', 'High'],
        { MEDIUM_EXIT_CODE: '42' },
        0,
      ],
      ['several images: the highest over all', [clean, tools, '--fail-on', 'Critical'], {}, 12],
      ['not a severity', [tools, '--fail-on', 'Severe'], {}, 2],
      ['not an exit code', [tools, '--exit-code', '300'], {}, 2],
    ];
    for (const [what, args, env, code] of matrix) {
      const r = await runCli([...args, '--reports-dir', join(dir, 'r')], { env, cwd: dir });
      assert.equal(r.code, code, `${what}: ${r.stderr}`);
    }
  } finally {
    await cleanup();
  }
});

describeOrSkip('policy against a real registry', { skip: registrySkipReason() }, () => {
  test('image globs scope rules to repositories of a registry: * stays in one, ** reaches nested ones', async () => {
    const registry = await startRegistry({ kind: 'none' });
    const { dir, cleanup } = await tempDir();
    try {
      const image = buildImage(toolsSpec);
      for (const repository of ['team/app', 'team/sub/app', 'other/app']) await new Pusher(registry.url, repository).image(image, '1.0');
      const host = registry.host;
      await writeFile(
        join(dir, '.oci-scan.yaml'),
        [
          'version: 1',
          'checks:',
          `  compilers: { severity: Low, images: ["${host}/team/**"] }`,
          'accept:',
          '  - check: suid',
          '    paths: ["/usr/bin/passwd", "/usr/lib/openssh/*"]',
          '    reason: "passwd must be setuid for password changes"',
          `    images: ["${host}/team/*"]`,
          '',
        ].join('\n'),
      );
      const refs = ['team/app', 'team/sub/app', 'other/app'].map((r) => `${host}/${r}:1.0`);
      const r = await scanJson(dir, refs);
      assert.equal(r.byId.length, 3, r.stderr);
      assert.deepEqual(
        [0, 1, 2].map((i) => result(r.byId, 'suid', i).Pass),
        [true, false, false],
        'team/* matches team/app only',
      );
      assert.deepEqual(
        [0, 1, 2].map((i) => result(r.byId, 'compilers', i).Severity),
        ['Low', 'Low', 'Medium'],
        'team/** matches team/sub/app too',
      );
      assert.equal(result(r.byId, 'suid', 0).Accepted?.length, 2);
      assert.equal(r.code, 12, 'the other images still have their setuid files');
    } finally {
      await cleanup();
      await registry.stop();
    }
  });
});

test('policy: accepted findings stay visible in every format — SARIF suppressions with the reason, JUnit, the table summary', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tools = await layout(join(dir, 'tools'), toolsSpec);
    await writeFile(
      join(dir, 'p.yaml'),
      'version: 1\naccept:\n  - check: suid\n    paths: ["/usr/bin/passwd"]\n    reason: "passwd must be setuid"\n',
    );
    const sarif = join(dir, 'out.sarif');
    const junit = join(dir, 'junit.xml');
    const r = await runCli(
      ['--policy', join(dir, 'p.yaml'), '--format', `sarif=${sarif}`, '--format', `junit=${junit}`, '--format', 'table', tools],
      { cwd: dir },
    );
    assert.equal(r.code, 12, r.stderr);
    // The table's summary counts the accepted finding.
    assert.match(r.stdout, /1 accepted/);
    const log = JSON.parse(await readFile(sarif, 'utf8')) as {
      runs: Array<{
        results: Array<{
          ruleId: string;
          locations?: Array<{ physicalLocation?: { artifactLocation?: { uri?: string } } }>;
          suppressions?: Array<{ kind: string; justification?: string }>;
        }>;
      }>;
    };
    const suid = log.runs[0]?.results.filter((x) => x.ruleId === 'suid') ?? [];
    const uriOf = (x: (typeof suid)[number]): string => x.locations?.[0]?.physicalLocation?.artifactLocation?.uri ?? '';
    const passwd = suid.find((x) => uriOf(x).endsWith('usr/bin/passwd'));
    const keysign = suid.find((x) => uriOf(x).endsWith('ssh-keysign'));
    assert.ok(passwd && keysign, JSON.stringify(suid));
    assert.equal(passwd.suppressions?.[0]?.kind, 'external');
    assert.match(passwd.suppressions?.[0]?.justification ?? '', /passwd must be setuid/);
    assert.equal(keysign.suppressions, undefined, 'a finding nobody accepted is not suppressed');
    assert.match(
      await readFile(junit, 'utf8'),
      /usr\/bin\/passwd[\s\S]*passwd must be setuid|passwd must be setuid[\s\S]*usr\/bin\/passwd/,
    );
  } finally {
    await cleanup();
  }
});
