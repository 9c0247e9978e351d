/**
 * The CI integrations (docs/ci.md): the GitLab template ci/gitlab/*.yml, the GitHub action
 * action.yml, and every fenced yaml block of docs/ci.md, README.md and docs/registry.md parse
 * as YAML; every oci-scan option their command lines name, and those of the fenced sh blocks
 * of README.md and docs/, is one the CLI's own parser (parseCommandLine) accepts; every input is used, and those named after a CLI option are wired
 * to that option; the documented uses of the action and of the template pass only inputs they
 * declare. Then the template's script and the action's scan step run for real (sh / bash) on
 * the demo image, with the checkout's CLI in place of the package they would install.
 *
 * Convention the files follow, so that the options can be found: oci-scan's arguments are the
 * words after the word `oci-scan` (or the checkout's `…/cli/main.js`) on a line, or after
 * `set --` (sh) or `args+=(` (bash), where the scripts collect them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { FAIL_ON_VALUES } from '../../src/cli/exit-codes.js';
import { parseCommandLine } from '../../src/cli/commands/index.js';
import { isOciScanError } from '../../src/errors.js';
import { CLI, tempDir } from '../helpers/scan.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO = join(ROOT, 'fixtures/demo');

/** Every YAML document of `text` as plain data; fails on a syntax error or a warning. */
function yamlDocuments(text: string, what: string): unknown[] {
  return parseAllDocuments(text).map((doc, i) => {
    assert.deepEqual(
      [...doc.errors, ...doc.warnings].map((e) => e.message),
      [],
      `${what}, document ${i + 1}`,
    );
    return doc.toJS() as unknown;
  });
}

/** The command lines of the fenced ```sh blocks of a Markdown text: `\`-continued lines joined, `# comments` dropped. */
function fencedShellLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)].map((m) => m[1] ?? '');
  return blocks.flatMap((b) => b.replace(/\\\n\s*/g, ' ').split('\n')).map((l) => l.replace(/(?:^|\s)#\s.*$/, ''));
}

/** The fenced ```yaml blocks of a Markdown text. */
function fencedYaml(markdown: string): string[] {
  return [...markdown.matchAll(/^```ya?ml\n([\s\S]*?)^```/gm)].map((m) => m[1] ?? '');
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every value of a parsed document, depth first (objects, arrays, scalars). */
function* walk(value: unknown): Generator<unknown> {
  yield value;
  if (Array.isArray(value)) for (const v of value) yield* walk(v);
  else if (isRecord(value)) for (const v of Object.values(value)) yield* walk(v);
}

/**
 * The command lines of a document: each line of each string, and each container's command and
 * args joined (Kubernetes; a container of an oci-scan image without `command` runs its
 * entrypoint, oci-scan).
 */
function commandLines(doc: unknown): string[] {
  const lines: string[] = [];
  for (const value of walk(doc)) {
    if (typeof value === 'string') lines.push(...value.split('\n'));
    if (isRecord(value) && Array.isArray(value['args']) && typeof value['image'] === 'string') {
      const command = Array.isArray(value['command']) ? value['command'].map(String) : /oci-scan/.test(value['image']) ? ['oci-scan'] : [];
      lines.push([...command, ...value['args'].map(String)].join(' '));
    }
  }
  return lines;
}

/** The oci-scan invocations on `line`: the command words (`cache prune`) and the `--options` (see the header). */
function ociScanArgs(line: string): { words: string[]; options: string[] } | undefined {
  const tokens = line
    .replace(/\b(args\+?=\()/g, '$1 ')
    .split(/\s+/)
    .map((t) => t.replace(/^[("']+|[)"';]+$/g, ''));
  let start = -1;
  tokens.forEach((t, i) => {
    if (
      t === 'oci-scan' ||
      t.endsWith('/oci-scan') ||
      t.endsWith('/cli/main.js') ||
      (t === 'set' && tokens[i + 1] === '--') ||
      t === 'args+=('
    )
      start = i + (t === 'set' ? 2 : 1);
  });
  if (start < 0) return undefined;
  const rest = tokens.slice(start);
  const action =
    (rest[0] === 'cache' && rest[1] && !rest[1].startsWith('-')) || (rest[0] === 'audit' && rest[1] === 'merge') ? [rest[1]] : [];
  const words = rest[0] === 'cache' || rest[0] === 'scan' || rest[0] === 'audit' || rest[0] === 'verify' ? [rest[0], ...action] : [];
  const options = rest.filter((t) => /^--[a-z]/.test(t)).map((t) => t.slice(2).split('=')[0] ?? '');
  return { words, options };
}

/** The options of every oci-scan invocation in `lines`, with the command words each goes with. */
function optionsIn(lines: readonly string[]): Array<{ words: string[]; option: string; line: string }> {
  return lines.flatMap((line) => {
    const found = ociScanArgs(line);
    return found ? found.options.map((option) => ({ words: found.words, option, line: line.trim() })) : [];
  });
}

/** The CLI parser's complaint when `--option` is not one of the command's options; undefined when it is. */
async function unknownOption(words: readonly string[], option: string): Promise<string | undefined> {
  // --help and --version print and exit: both are documented options of every command.
  if (option === 'help' || option === 'version') return undefined;
  try {
    await parseCommandLine([...words, `--${option}`], {});
    return undefined;
  } catch (err) {
    // A missing value, a bad value: the option exists. Only an unknown one is reported.
    return isOciScanError(err, 'USAGE') && /unknown option/i.test(err.message) ? err.message : undefined;
  }
}

/** Asserts that every option found in `lines` exists in the CLI; returns the option names. */
async function assertOptionsExist(lines: readonly string[], what: string): Promise<Set<string>> {
  const found = optionsIn(lines);
  for (const { words, option, line } of found) {
    const complaint = await unknownOption(words, option);
    assert.equal(complaint, undefined, `${what}: "${line}" names --${option}, which oci-scan ${words.join(' ')} does not have`);
  }
  return new Set(found.map((f) => f.option));
}

/** Runs `command` to its end; never rejects for a non-zero exit. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** This process's environment without what oci-scan or a parent npm would read, plus `extra`. */
function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(npm_|COMPLIANCE_|OCI_SCAN_|DOCKER_AUTH_CONFIG$|DOCKER_CONFIG$)/.test(k)) env[k] = v;
  return { ...env, NO_COLOR: '1', OCI_SCAN_PROGRESS: 'none', ...extra };
}

/** An input's default ('' when it has none). */
/** The package the template's script is given in these tests (the npx stand-in runs the checkout instead). */
const TARBALL = './oci-scan-0.1.0.tgz';

function inputValue(inputs: Record<string, Json>, name: string): string {
  const spec = inputs[name];
  return isRecord(spec) && spec['default'] !== undefined && spec['default'] !== null ? String(spec['default']) : '';
}

describe('the option finder (the tests below rely on it)', () => {
  it('finds oci-scan options after oci-scan, main.js, set -- and args+=( only, and the CLI refuses an unknown one', async () => {
    assert.deepEqual(
      optionsIn(['npx --yes --package "oci-scan@1" -- oci-scan "$IMAGE" --format table --fail-on=High']).map((f) => f.option),
      ['format', 'fail-on'],
    );
    assert.deepEqual(
      optionsIn(['  json|sarif) set -- "$@" --format "$f=$dir/x"', 'args+=(--policy "$P")', 'npm ci --no-audit']).map((f) => f.option),
      ['format', 'policy'],
    );
    assert.deepEqual(optionsIn(['oci-scan cache prune --cache-max-size 1g']), [
      { words: ['cache', 'prune'], option: 'cache-max-size', line: 'oci-scan cache prune --cache-max-size 1g' },
    ]);
    assert.deepEqual(
      optionsIn(['oci-scan audit reg:5000/team --latest-tags 3', 'oci-scan audit merge r/* --reports-dir m']).map((f) => [
        ...f.words,
        f.option,
      ]),
      [
        ['audit', 'latest-tags'],
        ['audit', 'merge', 'reports-dir'],
      ],
    );
    assert.match((await unknownOption([], 'latest-tags')) ?? '', /latest-tags/);
    assert.equal(await unknownOption(['audit'], 'latest-tags'), undefined);
    assert.match((await unknownOption([], 'bogus-option')) ?? '', /bogus-option/);
    assert.match((await unknownOption(['cache', 'info'], 'fail-on')) ?? '', /fail-on/);
    assert.equal(await unknownOption([], 'fail-on'), undefined);
    assert.equal(await unknownOption([], 'no-cache'), undefined);
  });
});

describe('GitLab: ci/gitlab/oci-scan.yml', () => {
  const file = join(ROOT, 'ci/gitlab/oci-scan.yml');
  /** Inputs that are no oci-scan option, and the inputs whose option has another name. */
  const NOT_OPTIONS = new Set(['image', 'stage', 'package', 'node-image']);
  const OPTION_OF: Record<string, string> = { formats: 'format' };
  let text = '';
  let inputs: Record<string, Json> = {};
  let job: Record<string, Json> = {};
  let script = '';
  /** Job variable → the input it carries. */
  let carriers = new Map<string, string>();

  before(async () => {
    text = await readFile(file, 'utf8');
    const docs = yamlDocuments(text, file);
    assert.equal(docs.length, 2, 'a spec: inputs: header, ---, then the job');
    const [header, jobs] = docs;
    assert.ok(isRecord(header) && isRecord(header['spec']) && isRecord(header['spec']['inputs']));
    inputs = header['spec']['inputs'];
    assert.ok(isRecord(jobs));
    assert.deepEqual(Object.keys(jobs), ['oci-scan']);
    const only = jobs['oci-scan'];
    assert.ok(isRecord(only));
    job = only;
    assert.ok(Array.isArray(job['script']));
    script = job['script'].join('\n');
    assert.ok(isRecord(job['variables']));
    carriers = new Map(
      Object.entries(job['variables']).flatMap(([k, v]) => {
        const m = /^\$\[\[ inputs\.([\w-]+) \]\]$/.exec(String(v));
        return m?.[1] ? [[k, m[1]]] : [];
      }),
    );
  });

  it('declares the inputs the issue names, each with a description, and uses every one it declares', () => {
    for (const name of ['image', 'policy', 'fail-on', 'formats', 'reports-dir', 'stage'])
      assert.ok(name in inputs, `input ${name} missing`);
    for (const [name, spec] of Object.entries(inputs))
      assert.ok(
        isRecord(spec) && typeof spec['description'] === 'string' && spec['description'] !== '',
        `input ${name} has no description`,
      );
    const body = text.slice(text.indexOf('\n---\n'));
    const used = new Set([...body.matchAll(/\$\[\[ inputs\.([\w-]+) \]\]/g)].map((m) => m[1]));
    assert.deepEqual([...used].sort(), Object.keys(inputs).sort(), 'every input used, every used input declared');
  });

  it('wires every input named after an option to that option of the CLI, through a variable the script reads', async () => {
    const options = await assertOptionsExist(script.split('\n'), file);
    for (const name of Object.keys(inputs)) {
      const carrier = [...carriers].find(([, input]) => input === name)?.[0];
      if (name === 'stage') {
        assert.equal(job['stage'], '$[[ inputs.stage ]]');
        continue;
      }
      if (name === 'node-image') {
        assert.equal(job['image'], '$[[ inputs.node-image ]]');
        continue;
      }
      assert.ok(carrier, `input ${name} reaches the script through no variable`);
      assert.match(script, new RegExp(`\\$\\{?${carrier}\\b`), `the script never reads ${carrier} (input ${name})`);
      if (NOT_OPTIONS.has(name)) continue;
      const option = OPTION_OF[name] ?? name;
      assert.equal(await unknownOption([], option), undefined, `input ${name} names --${option}, which the CLI does not have`);
      assert.ok(options.has(option), `input ${name}: the script never passes --${option}`);
    }
    const failOn = inputs['fail-on'];
    assert.ok(isRecord(failOn) && Array.isArray(failOn['options']));
    for (const value of failOn['options'])
      assert.ok(value === '' || (FAIL_ON_VALUES as readonly string[]).includes(String(value)), `fail-on option ${String(value)}`);
  });

  it('keeps the reports as artifacts, JUnit as the JUnit report; the package is a required input, with no default', () => {
    const artifacts = job['artifacts'];
    assert.ok(isRecord(artifacts) && isRecord(artifacts['reports']));
    assert.equal(artifacts['when'], 'always');
    assert.deepEqual(artifacts['paths'], ['$[[ inputs.reports-dir ]]/']);
    assert.equal(artifacts['reports']['junit'], '$[[ inputs.reports-dir ]]/junit.xml');
    const packageInput = inputs['package'];
    assert.ok(isRecord(packageInput));
    // A GitLab input without a default is required: no default can name a package nobody here owns.
    assert.equal(packageInput['default'], undefined);
  });

  describe('its script, run with sh on the demo image', () => {
    let tmp: { dir: string; cleanup: () => Promise<void> };
    before(async () => {
      tmp = await tempDir('oci-scan-gitlab-');
      // npx as the script calls it; instead of installing the package it runs the checkout's
      // CLI, and records what it was asked to install and the DOCKER_AUTH_CONFIG it saw.
      await mkdir(join(tmp.dir, 'bin'));
      await writeFile(
        join(tmp.dir, 'bin/npx'),
        [
          '#!/bin/sh',
          'if [ "$1" != --yes ] || [ "$2" != --package ] || [ "$4" != -- ] || [ "$5" != oci-scan ]; then echo "npx stand-in: unexpected call: $*" >&2; exit 99; fi',
          'printf %s "$3" > "$RECORD_DIR/package"',
          'printf %s "${DOCKER_AUTH_CONFIG:-}" > "$RECORD_DIR/auth"',
          'shift 5',
          `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"`,
          '',
        ].join('\n'),
      );
      await chmod(join(tmp.dir, 'bin/npx'), 0o755);
    });
    after(() => tmp.cleanup());

    /** Runs the job's script in a new project directory with the inputs' defaults overridden by `given`. */
    async function runJob(
      name: string,
      given: Record<string, string>,
      extraEnv: Record<string, string> = {},
    ): Promise<{ code: number; stdout: string; stderr: string; project: string; record: string }> {
      const project = join(tmp.dir, name);
      const record = join(tmp.dir, `${name}-record`);
      await mkdir(project);
      await mkdir(record);
      const env = baseEnv({
        PATH: `${join(tmp.dir, 'bin')}:${process.env['PATH'] ?? ''}`,
        CI_PROJECT_DIR: project,
        RECORD_DIR: record,
        ...extraEnv,
      });
      given = { package: TARBALL, ...given };
      for (const [variable, value] of Object.entries(job['variables'] as Record<string, Json>)) {
        const input = carriers.get(variable);
        const raw = input ? (given[input] ?? inputValue(inputs, input)) : String(value);
        // GitLab expands $VARIABLES in variables: the ones this run sets.
        env[variable] = raw.replace(/\$(\w+)/g, (whole, v: string) => env[v] ?? whole);
      }
      // GitLab substitutes inputs into the file's text before the job runs.
      const text = script.replace(/\$\[\[ inputs\.([\w-]+) \]\]/g, (_, input: string) => given[input] ?? String(inputValue(inputs, input)));
      const ran = await run('sh', ['-e', '-c', text], { cwd: project, env });
      return { ...ran, project, record };
    }

    it("writes the legacy report, junit.xml and the asked formats to the reports directory, and fails the job with the scan's code", async () => {
      const ran = await runJob('default', { image: `oci:${DEMO}:1.0`, formats: 'table sarif json' });
      assert.equal(ran.code, 12, ran.stderr);
      assert.deepEqual((await readdir(join(ran.project, 'oci-scan-reports'))).sort(), [
        'demo_1.0-compliance.json',
        'junit.xml',
        'oci-scan.json',
        'oci-scan.sarif',
      ]);
      assert.match(await readFile(join(ran.project, 'oci-scan-reports/junit.xml'), 'utf8'), /<testsuite [^>]*failures="7"/);
      assert.match(ran.stdout, /7 failed \(4 Critical, 1 High, 1 Medium, 1 Low\), 10 passed/);
      assert.equal(await readFile(join(ran.record, 'package'), 'utf8'), TARBALL);
      // The cache went where GitLab's cache: keeps it.
      assert.ok((await readdir(join(ran.project, '.oci-scan-cache'))).length > 0);
    });

    it('passes fail-on, policy and reports-dir to oci-scan', async () => {
      const passed = await runJob('fail-on-none', { image: `oci:${DEMO}:1.0`, 'fail-on': 'none', 'reports-dir': 'out' });
      assert.equal(passed.code, 0, passed.stderr);
      assert.deepEqual((await readdir(join(passed.project, 'out'))).sort(), ['demo_1.0-compliance.json', 'junit.xml']);
      const project = join(tmp.dir, 'policy');
      const policyFile = join(tmp.dir, 'strict-policy.yaml');
      await writeFile(policyFile, 'version: 1\naccept:\n  - check: suid\n');
      const refused = await runJob('policy', { image: `oci:${DEMO}:1.0`, policy: policyFile });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /^oci-scan: policy .*strict-policy\.yaml/m);
      assert.deepEqual(await readdir(join(project, 'oci-scan-reports')), []);
    });

    it('refuses a package that would resolve to the unscoped public name, with one line, before running npx', async () => {
      for (const spec of ['oci-scan', 'oci-scan@0.1.0', '0.1.0', 'latest', '']) {
        const ran = await runJob(`unowned-${spec.replace(/\W/g, '_') || 'empty'}`, { image: `oci:${DEMO}:1.0`, package: spec });
        assert.equal(ran.code, 2, `${spec}: ${ran.stderr}`);
        assert.match(
          ran.stderr,
          /^oci-scan template: package: .* would install the unscoped name oci-scan from the public npm registry/,
          spec,
        );
        assert.deepEqual(await readdir(ran.record), [], `${spec}: npx was not called`);
      }
    });

    it('refuses an unknown format with one line, before running oci-scan', async () => {
      const ran = await runJob('bad-format', { image: `oci:${DEMO}:1.0`, formats: 'table xml' });
      assert.equal(ran.code, 2);
      assert.match(ran.stderr, /formats: "xml" is not one of/);
      assert.deepEqual(await readdir(ran.record), []);
    });

    it('takes inputs as data: shell syntax in an input runs nothing', async () => {
      const ran = await runJob('hostile', {
        image: '$(touch pwned-1)`touch pwned-2`',
        policy: '"; touch pwned-3; "',
        'reports-dir': 'r$(touch pwned-4)',
        platform: "'; touch pwned-5; '",
      });
      // oci-scan ran (npx was called) and refused the values.
      assert.equal(ran.code, 2, ran.stderr);
      assert.deepEqual(await readdir(ran.record), ['auth', 'package']);
      assert.deepEqual(
        (await readdir(ran.project)).filter((f) => f.startsWith('pwned')),
        [],
      );
    });

    // oci-scan itself reads a DOCKER_AUTH_CONFIG that is a path (test/unit/auth/credentials.test.ts).
    it('passes DOCKER_AUTH_CONFIG on unchanged, a file-type variable (a path) as well as a document', async () => {
      const document = '{"auths":{"registry.example.com":{"auth":"dXNlcjp0b2tlbg=="}}}';
      const authFile = join(tmp.dir, 'docker-auth.json');
      await writeFile(authFile, document);
      const fromFile = await runJob('auth-file', { image: `oci:${DEMO}:1.0` }, { DOCKER_AUTH_CONFIG: authFile });
      assert.equal(fromFile.code, 12, fromFile.stderr);
      assert.equal(await readFile(join(fromFile.record, 'auth'), 'utf8'), authFile);
      const inline = await runJob('auth-inline', { image: `oci:${DEMO}:1.0` }, { DOCKER_AUTH_CONFIG: document });
      assert.equal(await readFile(join(inline.record, 'auth'), 'utf8'), document);
    });
  });
});

describe('GitHub: action.yml', () => {
  const file = join(ROOT, 'action.yml');
  /** Inputs that are no oci-scan option. */
  const NOT_OPTIONS = new Set(['image', 'package', 'upload-sarif', 'sarif-category']);
  let text = '';
  let action: Record<string, Json> = {};
  let inputs: Record<string, Json> = {};
  let steps: Array<Record<string, Json>> = [];
  let scanStep: Record<string, Json> = {};
  let carriers = new Map<string, string>();

  before(async () => {
    text = await readFile(file, 'utf8');
    const [doc, ...more] = yamlDocuments(text, file);
    assert.equal(more.length, 0);
    assert.ok(isRecord(doc) && isRecord(doc['inputs']) && isRecord(doc['runs']) && Array.isArray(doc['runs']['steps']));
    action = doc;
    inputs = doc['inputs'];
    assert.equal(doc['runs']['using'], 'composite');
    steps = doc['runs']['steps'].filter(isRecord);
    const scan = steps.find((s) => s['id'] === 'scan');
    assert.ok(scan && isRecord(scan['env']) && typeof scan['run'] === 'string');
    scanStep = scan;
    carriers = new Map(
      Object.entries(scan['env']).flatMap(([k, v]) => {
        const m = /^\$\{\{ inputs\.([\w-]+) \}\}$/.exec(String(v));
        return m?.[1] ? [[k, m[1]]] : [];
      }),
    );
  });

  it('uses every input it declares and declares every input it uses; image is required', () => {
    const used = new Set([...text.matchAll(/\binputs\.([\w-]+)/g)].map((m) => m[1]));
    assert.deepEqual([...used].sort(), Object.keys(inputs).sort());
    const image = inputs['image'];
    assert.ok(isRecord(image));
    assert.equal(image['required'], true);
    for (const [name, spec] of Object.entries(inputs))
      assert.ok(
        isRecord(spec) && typeof spec['description'] === 'string' && spec['description'] !== '',
        `input ${name} has no description`,
      );
  });

  it('wires every input named after an option to that option of the CLI, through a variable the scan step reads', async () => {
    const runText = String(scanStep['run']);
    const options = await assertOptionsExist(runText.split('\n'), `${file} (scan step)`);
    for (const name of Object.keys(inputs)) {
      if (name === 'upload-sarif' || name === 'sarif-category') continue;
      const carrier = [...carriers].find(([, input]) => input === name)?.[0];
      assert.ok(carrier, `input ${name} reaches the scan step through no variable`);
      assert.match(runText, new RegExp(`\\$\\{?${carrier}\\b`), `the scan step never reads ${carrier} (input ${name})`);
      if (NOT_OPTIONS.has(name)) continue;
      assert.equal(await unknownOption([], name), undefined, `input ${name} names --${name}, which the CLI does not have`);
      assert.ok(options.has(name), `input ${name}: the scan step never passes --${name}`);
    }
  });

  it('uploads the SARIF file with upload-sarif, and every output is one the scan step writes', () => {
    const upload = steps.find((s) => String(s['uses']).startsWith('github/codeql-action/upload-sarif@'));
    assert.ok(upload && isRecord(upload['with']));
    assert.equal(upload['with']['sarif_file'], '${{ steps.scan.outputs.sarif-file }}');
    assert.equal(upload['with']['category'], '${{ inputs.sarif-category }}');
    assert.match(String(upload['if']), /inputs\.upload-sarif == 'true'/);
    assert.ok(isRecord(action['outputs']));
    for (const [name, spec] of Object.entries(action['outputs'])) {
      assert.ok(isRecord(spec));
      const m = /^\$\{\{ steps\.scan\.outputs\.([\w-]+) \}\}$/.exec(String(spec['value']));
      assert.ok(m?.[1], `output ${name}`);
      assert.match(String(scanStep['run']), new RegExp(`echo "${m[1]}=`), `the scan step never writes ${m[1]}`);
    }
  });

  describe('its scan step, run with bash on the demo image from this checkout', () => {
    let tmp: { dir: string; cleanup: () => Promise<void> };
    before(async () => {
      tmp = await tempDir('oci-scan-action-');
    });
    after(() => tmp.cleanup());

    /** Runs the scan step as GitHub would (bash -e -o pipefail), inputs' defaults overridden by `given`; returns its outputs. */
    async function runStep(
      name: string,
      given: Record<string, string>,
    ): Promise<{ code: number; stderr: string; outputs: Record<string, string>; workspace: string }> {
      const workspace = join(tmp.dir, name);
      await mkdir(workspace);
      const outputFile = join(tmp.dir, `${name}.output`);
      await writeFile(outputFile, '');
      const env = baseEnv({ GITHUB_OUTPUT: outputFile, GITHUB_ACTION_PATH: ROOT, XDG_CACHE_HOME: join(tmp.dir, `${name}-cache`) });
      for (const [variable, value] of Object.entries(scanStep['env'] as Record<string, Json>)) {
        const input = carriers.get(variable);
        assert.ok(input, `${variable}: ${String(value)} is no input`);
        env[variable] = given[input] ?? inputValue(inputs, input);
      }
      // GitHub substitutes expressions into the script's text before bash sees it.
      const script = String(scanStep['run']).replace(
        /\$\{\{ inputs\.([\w-]+) \}\}/g,
        (_, input: string) => given[input] ?? String(inputValue(inputs, input)),
      );
      const ran = await run('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', script], { cwd: workspace, env });
      const outputs = Object.fromEntries(
        (await readFile(outputFile, 'utf8'))
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      return { code: ran.code, stderr: ran.stderr, outputs, workspace };
    }

    it('writes SARIF, the json document and the asked formats, and gives the exit code and the highest severity as outputs', async () => {
      const ran = await runStep('default', { image: `oci:${DEMO}:1.0`, format: 'legacy junit table' });
      assert.equal(ran.code, 0, ran.stderr);
      assert.deepEqual(ran.outputs, {
        'exit-code': '12',
        'reports-dir': 'oci-scan-reports',
        'sarif-file': 'oci-scan-reports/oci-scan.sarif',
        'json-file': 'oci-scan-reports/oci-scan.json',
        highest: 'Critical',
      });
      assert.deepEqual((await readdir(join(ran.workspace, 'oci-scan-reports'))).sort(), [
        'demo_1.0-compliance.json',
        'junit.xml',
        'oci-scan.json',
        'oci-scan.sarif',
      ]);
      const sarif = JSON.parse(await readFile(join(ran.workspace, 'oci-scan-reports/oci-scan.sarif'), 'utf8')) as {
        version: string;
        runs: unknown[];
      };
      assert.equal(sarif.version, '2.1.0');
      assert.equal(sarif.runs.length, 1);
    });

    it('passes fail-on, exit-code and platform on; an image that cannot be read gives its code and no highest severity', async () => {
      const below = await runStep('fail-on-none', { image: `oci:${DEMO}:1.0`, 'fail-on': 'none' });
      assert.equal(below.outputs['exit-code'], '0');
      assert.equal(below.outputs['highest'], 'Critical');
      const custom = await runStep('exit-code', { image: `oci:${DEMO}:1.0`, 'fail-on': 'High', 'exit-code': '3' });
      assert.equal(custom.outputs['exit-code'], '3');
      const platform = await runStep('platform', { image: `oci:${DEMO}:1.0`, platform: 'windows' });
      assert.equal(platform.outputs['exit-code'], '2');
      assert.match(platform.stderr, /^oci-scan: platform "windows" is not os\/arch/m);
      const missing = await runStep('missing', { image: `oci:${DEMO}-missing:1.0` });
      assert.equal(missing.outputs['exit-code'], '20');
      assert.equal(missing.outputs['highest'] ?? '', '');
    });

    it('refuses a package that would resolve to the unscoped public name; its default is its own checkout', async () => {
      assert.ok(isRecord(inputs['package']));
      assert.equal(inputs['package']['default'], '', "empty: the action's own checkout");
      for (const spec of ['oci-scan', 'oci-scan@0.1.0', '0.1.0', 'v0.1.0']) {
        const ran = await runStep(`unowned-${spec.replace(/\W/g, '_')}`, { image: `oci:${DEMO}:1.0`, package: spec });
        assert.equal(ran.code, 2, `${spec}: ${ran.stderr}`);
        assert.deepEqual(ran.outputs, {}, `${spec}: nothing ran`);
      }
    });

    it('takes inputs as data: shell syntax in an input runs nothing', async () => {
      const ran = await runStep('hostile', {
        image: '$(touch pwned-1)`touch pwned-2`',
        policy: '"; touch pwned-3; "',
        'log-level': '$(touch pwned-4)',
        platform: "'; touch pwned-5; '",
      });
      // The step ran to its end (it wrote its outputs), and oci-scan refused the values.
      assert.match(ran.outputs['exit-code'] ?? '', /^[1-9]\d*$/, ran.stderr);
      assert.deepEqual(
        (await readdir(ran.workspace)).filter((f) => f.startsWith('pwned')),
        [],
      );
    });

    it("the last step exits with the scan's code", async () => {
      const last = steps.at(-1);
      assert.ok(last && isRecord(last['env']));
      const ran = await run('bash', ['-e', '-c', String(last['run'])], { cwd: tmp.dir, env: baseEnv({ SCAN_EXIT_CODE: '13' }) });
      assert.equal(ran.code, 13);
      assert.deepEqual(Object.values(last['env']), ['${{ steps.scan.outputs.exit-code }}']);
    });
  });
});

/**
 * The commands in `text` that would install or run the unscoped name `oci-scan` from the public
 * npm registry, which this project does not own: `npx oci-scan` without `--no-install`,
 * `--package oci-scan[@…]`, `npm install|i|add|exec oci-scan[@…]`, an input default naming it.
 */
function unownedInstalls(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.replace(/["']/g, '');
    if (/\bnpx\b(?:\s+--?[\w-]+)*\s+oci-scan(?:@\S*)?(?:\s|$)/.test(l) && !/\bnpx\b.*(?:--no-install|--no\b|--package|-p\s)/.test(l))
      found.push(line.trim());
    else if (/(?:--package|-p)[=\s]+oci-scan(?:@\S*)?(?:\s|$)/.test(l)) found.push(line.trim());
    else if (/\bnpm\s+(?:install|i|add|exec|x)\b(?:\s+--?[\w-]+)*\s+oci-scan(?:@\S*)?(?:\s|$)/.test(l)) found.push(line.trim());
    else if (/^\s*default:\s*oci-scan@/.test(l)) found.push(line.trim());
  }
  return found;
}

describe('no snippet, template or action installs a package nobody here owns', () => {
  it('the finder finds the forms (it would have found the old ones)', () => {
    assert.deepEqual(
      unownedInstalls(
        [
          '    - npx oci-scan --format table',
          'npm install oci-scan',
          'npm i -g oci-scan@0.1.0',
          '      default: oci-scan@0.1.0',
          'npx --yes --package "oci-scan@1" -- oci-scan "$IMAGE"',
        ].join('\n'),
      ).length,
      5,
    );
    assert.deepEqual(
      unownedInstalls(
        [
          'npx --yes --package "$OCI_SCAN_PACKAGE" -- oci-scan IMAGE',
          'npx --no-install oci-scan IMAGE',
          'npm install ./oci-scan-0.1.0.tgz',
          'npm install @your-org/oci-scan@0.1.0',
          'uses: example-org/oci-scan@v0.1.0',
        ].join('\n'),
      ),
      [],
    );
  });

  it('in the code blocks of README.md and docs/, action.yml, the GitLab template, the examples and the Containerfile', async () => {
    const docs = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const whole = [
      'action.yml',
      'ci/gitlab/oci-scan.yml',
      'Containerfile',
      ...(await readdir(join(ROOT, 'examples'))).map((f) => `examples/${f}`),
    ];
    const found: string[] = [];
    for (const f of docs) {
      // Code only (fenced blocks, and inline code that is a whole command): prose may warn against the name.
      const text = await readFile(join(ROOT, f), 'utf8');
      const code = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1] ?? '').join('\n');
      found.push(...unownedInstalls(code).map((l) => `${f}: ${l}`));
    }
    for (const f of whole) found.push(...unownedInstalls(await readFile(join(ROOT, f), 'utf8')).map((l) => `${f}: ${l}`));
    assert.deepEqual(found, []);
  });
});

describe('the shell blocks of README.md and docs/', () => {
  it('name only options the CLI has, for the command they run (scan, audit, cache, verify)', async () => {
    const docs = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const found = new Map<string, number>();
    for (const f of docs) {
      const lines = fencedShellLines(await readFile(join(ROOT, f), 'utf8'));
      found.set(f, optionsIn(lines).length);
      await assertOptionsExist(lines, f);
    }
    // The README's everyday examples alone name ten (--format, --quiet, --policy, --latest-tags, …).
    assert.ok(
      (found.get('README.md') ?? 0) >= 10 && [...found.values()].reduce((a, b) => a + b) >= 15,
      `the finder lost the command lines: ${JSON.stringify([...found])}`,
    );
  });
});

describe('the yaml blocks of docs/ci.md, README.md and docs/registry.md', () => {
  const files = ['docs/ci.md', 'README.md', 'docs/registry.md'];
  let blocks: Array<{ file: string; docs: unknown[] }> = [];

  before(async () => {
    blocks = [];
    for (const f of files) {
      for (const [i, block] of fencedYaml(await readFile(join(ROOT, f), 'utf8')).entries())
        blocks.push({ file: f, docs: yamlDocuments(block, `${f}, yaml block ${i + 1}`) });
    }
  });

  it('parse, and every oci-scan option their commands name exists in the CLI', async () => {
    assert.ok(blocks.filter((b) => b.file === 'docs/ci.md').length >= 6);
    let found = 0;
    for (const { file, docs } of blocks) {
      const lines = docs.flatMap(commandLines);
      found += optionsIn(lines).length;
      await assertOptionsExist(lines, file);
    }
    assert.ok(found >= 10, `only ${found} options found: the finder lost the command lines`);
  });

  it('use the action with inputs it declares and read outputs it has', async () => {
    const [action] = yamlDocuments(await readFile(join(ROOT, 'action.yml'), 'utf8'), 'action.yml');
    assert.ok(isRecord(action) && isRecord(action['inputs']) && isRecord(action['outputs']));
    const { inputs, outputs } = action;
    const uses = blocks.flatMap(({ docs }) =>
      docs.flatMap((d) =>
        [...walk(d)].filter((v): v is Record<string, Json> => isRecord(v) && /^[\w-]+\/oci-scan@/.test(String(v['uses']))),
      ),
    );
    assert.ok(uses.length > 0, 'docs/ci.md has no workflow using the action');
    for (const step of uses) {
      assert.ok(isRecord(step['with']));
      for (const key of Object.keys(step['with'])) assert.ok(key in inputs, `the example passes ${key}, which action.yml does not declare`);
      for (const [name, spec] of Object.entries(inputs))
        if (isRecord(spec) && spec['required'] === true)
          assert.ok(name in step['with'], `the example leaves out the required input ${name}`);
      const text = JSON.stringify(blocks.map((b) => b.docs));
      for (const m of text.matchAll(new RegExp(`steps\\.${String(step['id'])}\\.outputs\\.([\\w-]+)`, 'g')))
        assert.ok((m[1] ?? '') in outputs, `the example reads output ${m[1]}, which action.yml does not have`);
    }
  });

  it('include the GitLab template with inputs it declares and values it allows', async () => {
    const [header] = yamlDocuments(await readFile(join(ROOT, 'ci/gitlab/oci-scan.yml'), 'utf8'), 'ci/gitlab/oci-scan.yml');
    assert.ok(isRecord(header) && isRecord(header['spec']) && isRecord(header['spec']['inputs']));
    const declared = header['spec']['inputs'];
    const includes = blocks.flatMap(({ docs }) =>
      docs.flatMap((d) =>
        [...walk(d)].filter((v): v is Record<string, Json> => isRecord(v) && /ci\/gitlab\/oci-scan\.yml$/.test(String(v['file']))),
      ),
    );
    assert.ok(includes.length > 0, 'docs/ci.md has no include of the template');
    for (const include of includes) {
      assert.ok(isRecord(include['inputs']));
      for (const [key, value] of Object.entries(include['inputs'])) {
        const spec = declared[key];
        assert.ok(isRecord(spec), `the include passes ${key}, which the template does not declare`);
        if (Array.isArray(spec['options']))
          assert.ok(spec['options'].includes(value), `${key}: ${String(value)} is not one of its options`);
      }
    }
  });

  it('give the Kubernetes Job its credentials as $DOCKER_CONFIG/config.json from a dockerconfigjson Secret', () => {
    const jobs = blocks.flatMap(({ docs }) => docs.filter((d): d is Record<string, Json> => isRecord(d) && d['kind'] === 'Job'));
    assert.equal(jobs.length, 1);
    const spec = [...walk(jobs[0])].find((v): v is Record<string, Json> => isRecord(v) && Array.isArray(v['containers']));
    assert.ok(spec && Array.isArray(spec['containers']) && Array.isArray(spec['volumes']));
    assert.equal(spec['restartPolicy'], 'Never');
    const [container] = spec['containers'];
    assert.ok(isRecord(container) && Array.isArray(container['env']) && Array.isArray(container['volumeMounts']));
    const dockerConfig = container['env'].find((e) => isRecord(e) && e['name'] === 'DOCKER_CONFIG');
    assert.ok(isRecord(dockerConfig));
    const mount = container['volumeMounts'].find((m) => isRecord(m) && m['mountPath'] === dockerConfig['value']);
    assert.ok(isRecord(mount), 'no volume mounted at $DOCKER_CONFIG');
    const volume = spec['volumes'].find((v) => isRecord(v) && v['name'] === mount['name']);
    assert.ok(isRecord(volume) && isRecord(volume['secret']));
    assert.deepEqual(volume['secret']['items'], [{ key: '.dockerconfigjson', path: 'config.json' }]);
  });
});
