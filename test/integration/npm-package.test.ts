/**
 * The npm package as a user gets it: `npm pack` of a copy of the checkout (its `prepack`
 * script builds dist/src), the tarball installed into an empty prefix by an npm that finds no
 * compiler (no cc, c++, g++, make or python3 on its PATH, node-gyp pointed at a missing file), so
 * that zstd-napi's build fails and npm leaves the optional dependency out: the install must
 * succeed, print no install-script warning about oci-scan's own scripts, and zstd layers are
 * then decoded by the WebAssembly build (docs/api.md "Install"). Then what users run:
 * the `oci-scan` bin through npm's link (`--version`, the demo scan, whose reports must equal
 * the checkout's), `npx` of the tarball, `import { scan } from 'oci-scan'` from an ESM file,
 * a TypeScript file type-checked against the installed types, examples/api-example.mjs
 * (docs/api.md) run from the installed package and from the checkout, and a zstd image scanned
 * by the installed bin as by the checkout.
 *
 * The install reads the dependencies from npm's cache (`--offline`), else from the registry
 * (`--prefer-offline`). When npm cannot install, the tests skip with one loud line, unless
 * OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ALL_CHECKS } from '../../src/checks/index.js';
import { buildImage, writeOciLayout, type EntrySpec } from '../helpers/image-builder.js';
import { runCli, tempDir } from '../helpers/scan.js';
import { missingTools } from '../helpers/tools.js';
import { describeOrSkip } from '../helpers/skip.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO = join(ROOT, 'fixtures/demo');
const EXAMPLE = join(ROOT, 'examples/api-example.mjs');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment for npm and the installed bin: this process's, without what a parent `npm
 * test` exported (npm_config_*, npm_lifecycle_*: they would steer the inner npm) and without
 * the variables oci-scan reads.
 */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^npm_/i.test(k) || k === 'INIT_CWD' || /^(COMPLIANCE_|DOCKER_AUTH_CONFIG$|OCI_SCAN_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', OCI_SCAN_PROGRESS: 'none', npm_config_update_notifier: 'false', ...extra };
}

/**
 * A PATH for npm with no compiler: a directory of links to node, npm, npx and the shell only
 * (node-gyp needs python3, make and a C++ compiler; none is there).
 */
async function compilerlessPath(dir: string): Promise<string> {
  await mkdir(dir);
  for (const tool of ['node', 'npm', 'npx', 'sh', 'bash', 'env']) {
    const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    await symlink(found, join(dir, tool));
  }
  return dir;
}

/** Runs `command` to its end (at most 5 minutes); never rejects for a non-zero exit. */
function exec(command: string, args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? cleanEnv(), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(err);
          return;
        }
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Asserts that a run exited with `code`, showing its output when it did not. */
function assertExit(ran: Ran, code: number, what: string): void {
  assert.equal(
    ran.code,
    code,
    `${what} exited ${ran.code}, expected ${code}\nstdout: ${ran.stdout.slice(-3000)}\nstderr: ${ran.stderr.slice(-3000)}`,
  );
}

/** Asserts the output of examples/api-example.mjs on the demo image (the checks it prints are the demo's, docs/checks.md). */
function assertExampleOutput(ran: Ran, image: string): void {
  assertExit(ran, 12, 'api-example.mjs');
  const lines = ran.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', new RegExp(`^${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(sha256:[0-9a-f]{64}\\)$`));
  const failed = lines.filter((l) => l.startsWith('  FAIL ')).map((l) => l.split(' ').slice(3, 5).join(' '));
  // layer-count is disabled by the example's policy; suid fails with /usr/bin/su only, passwd is accepted.
  assert.deepEqual(failed, [
    'High exposed-ports:',
    'Critical default-user:',
    'Critical suid:',
    'Critical su:',
    'Critical nc:',
    'Medium compilers:',
  ]);
  assert.ok(lines.includes('  FAIL Critical suid: Found file (1 accepted by policy) [/usr/bin/su]'), ran.stdout);
  assert.ok(lines.includes('  ACCEPTED suid: /usr/bin/passwd (passwd must be setuid for password changes)'), ran.stdout);
  assert.equal(lines.at(-1), '  highest: Critical');
  assert.equal(ran.stderr, '');
}

/** Every file below `dir`, relative to it, with `/` separators. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}

const npm = missingTools({ npm: 'npm' });
if (npm.skip) console.error(`!!! npm package tests SKIPPED: ${npm.skip}`);

describeOrSkip('the npm package: pack, install into an empty prefix, use', { skip: npm.skip }, () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let tarball = '';
  let packedFiles: string[] = [];
  let prefix = '';
  let demo = '';
  let version = '';
  /** Why the installed package cannot be tested here (npm could not install), or false. */
  let skip: string | false = false;
  /** What npm printed while installing the tarball (stdout and stderr). */
  let installOutput = '';
  /** The environment of an npm that finds no compiler. */
  let noCompiler: Record<string, string> = {};
  const npxKeys: string[] = [];

  before(async () => {
    tmp = await tempDir('oci-scan-npm-');
    version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    // A copy of the checkout without its build: `npm pack` runs `prepare`, which must build
    // dist/src from scratch, and the copy keeps the checkout's own dist/ untouched meanwhile.
    const checkout = join(tmp.dir, 'checkout');
    await cp(ROOT, checkout, { recursive: true, filter: (src) => !/^(node_modules|dist|\.git|reports)$/.test(relative(ROOT, src)) });
    await symlink(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    const packed = await exec('npm', ['pack', '--json', '--pack-destination', tmp.dir], { cwd: checkout });
    assertExit(packed, 0, 'npm pack');
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    assert.ok(info);
    tarball = join(tmp.dir, info.filename);
    packedFiles = info.files.map((f) => f.path);

    demo = join(tmp.dir, 'demo');
    await cp(DEMO, demo, { recursive: true });
    prefix = join(tmp.dir, 'prefix');
    await mkdir(prefix);
    // No compiler: zstd-napi's install script (prebuild-install, then node-gyp) must fail.
    noCompiler = cleanEnv({
      PATH: await compilerlessPath(join(tmp.dir, 'bin')),
      npm_config_node_gyp: join(tmp.dir, 'no-node-gyp.js'),
      npm_config_ignore_scripts: 'false',
    });
    let why = '';
    for (const mode of ['--offline', '--prefer-offline']) {
      const installed = await exec('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', mode, tarball], {
        cwd: prefix,
        env: noCompiler,
      });
      installOutput = `${installed.stdout}\n${installed.stderr}`;
      if (installed.code === 0) return;
      why += `npm install ${mode}: ${installed.stderr
        .split('\n')
        .filter((l) => /npm (error|ERR)/.test(l))
        .slice(0, 3)
        .join(' / ')}\n`;
    }
    if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1')
      throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but npm could not install the package tarball:\n${why}`);
    skip = `npm could not install the tarball (no registry, and its dependencies are not in npm's cache): ${why}`;
    console.error(`!!! npm package install tests SKIPPED: ${skip}`);
  });

  after(async () => {
    if (npxKeys.length > 0) await exec('npm', ['cache', 'npx', 'rm', ...npxKeys], { cwd: tmp.dir });
    await tmp?.cleanup();
  });

  it('packs dist/src, the schemas, the docs the code reads, README, LICENSE and nothing of the build or the tests', async () => {
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js',
      // The executable's bundle and its code cache (scripts/bundle.js).
      'dist/src/cli/oci-scan.cjs',
      'dist/src/cli/oci-scan.cjs.v8-cache',
      'docs/checks.md',
      'docs/api.md',
      'examples/api-example.mjs',
    ]) {
      assert.ok(packedFiles.includes(needed), `${needed} missing from the tarball`);
    }
    // Every schema of the checkout ships: the code loads them at run time (report and policy validation).
    for (const schema of await readdir(join(ROOT, 'schemas')))
      assert.ok(packedFiles.includes(`schemas/${schema}`), `schemas/${schema} missing from the tarball`);
    const unwanted = packedFiles.filter(
      (f) =>
        /^(test|bench|fixtures|src|dist\/(test|bench|fixtures)|node_modules|\.ci)\//.test(f) ||
        /\.map$|^tsconfig.*\.json$/.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    assert.deepEqual(unwanted, []);
    assert.ok(
      packedFiles.every((f) => /^(dist\/src|schemas|docs|examples)\//.test(f) || ['package.json', 'README.md', 'LICENSE'].includes(f)),
      packedFiles.join('\n'),
    );
    // Every schema file the built code names is in the tarball.
    const code = await Promise.all(packedFiles.filter((f) => /\.c?js$/.test(f)).map((f) => readFile(join(tmp.dir, 'checkout', f), 'utf8')));
    const named = new Set(
      code.flatMap((text) => [...text.matchAll(/['"/]([\w-]+\.schema\.json)['"]/g)].map((m) => `schemas/${m[1] ?? ''}`)),
    );
    assert.ok(named.size >= 4, [...named].join(', '));
    for (const schema of named) assert.ok(packedFiles.includes(schema), `${schema} is loaded by the code but not packed`);
  });

  it('LICENSE is the Apache License 2.0 that package.json names', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    assert.equal(pkg.license, 'Apache-2.0');
    const license = await readFile(join(ROOT, 'LICENSE'), 'utf8');
    assert.match(license, /^\s*Apache License\s+Version 2\.0, January 2004/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
  });

  it('the installed bin prints the package version and scans the demo image as the checkout does', async (t) => {
    if (skip) return t.skip(skip);
    const bin = join(prefix, 'node_modules/.bin/oci-scan');
    const shown = await exec(bin, ['--version'], { cwd: prefix });
    assertExit(shown, 0, 'oci-scan --version');
    assert.equal(shown.stdout.trim(), version);

    const image = `oci:${demo}:1.0`;
    const work = join(tmp.dir, 'bin-run');
    await mkdir(work);
    const installed = await exec(
      bin,
      [
        image,
        '--no-cache',
        '--format',
        'legacy',
        '--format',
        `json=${join(work, 'doc.json')}`,
        '--format',
        `sarif=${join(work, 'scan.sarif')}`,
        '--reports-dir',
        join(work, 'reports'),
      ],
      { cwd: work },
    );
    assertExit(installed, 12, 'installed oci-scan on the demo image');
    const ours = join(tmp.dir, 'checkout-run');
    await mkdir(ours);
    const checkout = await runCli(
      [
        image,
        '--no-cache',
        '--format',
        'legacy',
        '--format',
        `json=${join(ours, 'doc.json')}`,
        '--format',
        `sarif=${join(ours, 'scan.sarif')}`,
        '--reports-dir',
        join(ours, 'reports'),
      ],
      { cwd: ours },
    );
    assert.equal(checkout.code, 12, checkout.stderr);
    assert.equal(installed.stdout.replaceAll(work, '<dir>'), checkout.stdout.replaceAll(ours, '<dir>'));
    const report = 'demo_1.0-compliance.json';
    assert.deepEqual(await listFiles(join(work, 'reports')), [report]);
    assert.deepEqual(
      JSON.parse(await readFile(join(work, 'reports', report), 'utf8')),
      JSON.parse(await readFile(join(ours, 'reports', report), 'utf8')),
    );
    const doc = JSON.parse(await readFile(join(work, 'doc.json'), 'utf8')) as { tool: { name: string; version: string }; highest: string };
    assert.deepEqual(doc.tool, { name: 'oci-scan', version });
    assert.deepEqual(doc, JSON.parse(await readFile(join(ours, 'doc.json'), 'utf8')));
    // SARIF reads each check's help from the shipped docs/checks.md: the same document as the checkout's.
    const sarif = JSON.parse(await readFile(join(work, 'scan.sarif'), 'utf8')) as {
      runs: Array<{ tool: { driver: { rules: unknown[] } } }>;
    };
    assert.equal(sarif.runs[0]?.tool.driver.rules.length, ALL_CHECKS.length);
    assert.deepEqual(sarif, JSON.parse(await readFile(join(ours, 'scan.sarif'), 'utf8')));
  });

  it('a policy file is validated against the packed policy schema', async (t) => {
    if (skip) return t.skip(skip);
    const work = join(tmp.dir, 'policy-run');
    await mkdir(work);
    await writeFile(join(work, '.oci-scan.yaml'), 'version: 1\naccept:\n  - check: suid\n    paths: ["/usr/bin/passwd"]\n');
    const bad = await exec(join(prefix, 'node_modules/.bin/oci-scan'), [`oci:${demo}:1.0`, '--no-cache'], { cwd: work });
    assertExit(bad, 2, 'oci-scan with a policy missing "reason"');
    assert.match(bad.stderr, /^oci-scan: policy .*\.oci-scan\.yaml:\d+: .*reason/m);
  });

  it('npx runs oci-scan from the tarball', async (t) => {
    if (skip) return t.skip(skip);
    const work = join(tmp.dir, 'npx-run');
    await mkdir(work);
    const before = await exec('npm', ['cache', 'npx', 'ls'], { cwd: work });
    // Without a compiler too: npx installs the tarball as npm install does.
    const ran = await exec(
      'npx',
      [
        '--yes',
        '--prefer-offline',
        `--package=${tarball}`,
        '--',
        'oci-scan',
        `oci:${demo}:1.0`,
        '--no-cache',
        '--reports-dir',
        join(work, 'reports'),
      ],
      { cwd: work, env: noCompiler },
    );
    // npx installed the tarball into its cache: remove that entry afterwards.
    const listed = await exec('npm', ['cache', 'npx', 'ls'], { cwd: work });
    npxKeys.push(
      ...listed.stdout
        .split('\n')
        .filter((l) => l.includes(tarball) && !before.stdout.includes(l))
        .map((l) => l.split(':')[0] ?? '')
        .filter((k) => /^[0-9a-f]+$/.test(k)),
    );
    assertExit(ran, 12, 'npx oci-scan');
    assert.match(ran.stdout, /^FAIL\. Severity: Critical\. Checking for a suid bit file\. Found file\.$/m);
    assert.deepEqual(await listFiles(join(work, 'reports')), ['demo_1.0-compliance.json']);
    // Within a project that installed it, plain `npx oci-scan` runs the installed bin.
    const local = await exec('npx', ['--no-install', 'oci-scan', '--version'], { cwd: prefix });
    assertExit(local, 0, 'npx --no-install oci-scan --version');
    assert.equal(local.stdout.trim(), version);
  });

  it('import { scan } from "oci-scan" works from an ESM file of the installing project', async (t) => {
    if (skip) return t.skip(skip);
    const file = join(prefix, 'use.mjs');
    // The second scan asks for a tag the layout does not have (1.0-missing): IMAGE_NOT_FOUND.
    await writeFile(
      file,
      [
        "import { scan, OciScanError, exitCodeFor } from 'oci-scan';",
        'const [result] = await scan(process.argv[2]);',
        'let error;',
        "try { await scan(process.argv[2] + '-missing'); } catch (err) { error = err instanceof OciScanError ? `${err.code} ${exitCodeFor(err.code)}` : String(err); }",
        'console.log(JSON.stringify({ highest: result.highest, ids: result.results.map((r) => r.Id), error }));',
        '',
      ].join('\n'),
    );
    const ran = await exec(process.execPath, [file, `oci:${demo}:1.0`], { cwd: prefix });
    assertExit(ran, 0, 'use.mjs');
    assert.deepEqual(JSON.parse(ran.stdout), { highest: 'Critical', ids: ALL_CHECKS.map((c) => c.id), error: 'IMAGE_NOT_FOUND 20' });
  });

  it('a TypeScript file type-checks against the installed types, and a wrong use does not', async (t) => {
    if (skip) return t.skip(skip);
    const source = [
      "import { scan, isOciScanError, type ErrorCode, type ImageScan, type Policy, type ScanCallOptions, type Severity } from 'oci-scan';",
      "const policy: Policy = { version: 1, accept: [{ check: 'suid', paths: ['/usr/bin/passwd'], reason: 'password changes' }] };",
      "const options: ScanCallOptions = { policy, platform: { os: 'linux', architecture: 'amd64' }, registry: { insecureRegistries: ['localhost:5000'] } };",
      'const results: ImageScan[] = await scan(process.argv[2] ?? "", options);',
      'const highest: Severity | undefined = results[0]?.highest;',
      'try { await scan(""); } catch (err) { if (isOciScanError(err)) { const code: ErrorCode = err.code; console.log(code); } }',
      'console.log(highest, results[0]?.results.map((r) => r.Files?.length ?? 0));',
      '',
    ].join('\n');
    const dir = join(prefix, 'ts');
    await mkdir(dir);
    await writeFile(join(dir, 'ok.mts'), source);
    await writeFile(
      join(dir, 'wrong.mts'),
      "import { scan } from 'oci-scan';\nconst n: number = (await scan('x', { allowUnscannedLayers: 'yes' }))[0]?.highest ?? 0;\nconsole.log(n);\n",
    );
    const tsconfig = (file: string): string =>
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(prefix, 'node_modules/@types'), join(ROOT, 'node_modules/@types')],
        },
        files: [file],
      });
    await writeFile(join(dir, 'tsconfig.ok.json'), tsconfig('ok.mts'));
    await writeFile(join(dir, 'tsconfig.wrong.json'), tsconfig('wrong.mts'));
    const ok = await exec(process.execPath, [TSC, '-p', join(dir, 'tsconfig.ok.json')], { cwd: dir });
    assertExit(ok, 0, 'tsc on a correct use');
    // The types are real, not `any`: a string for a boolean option and a severity used as a number are refused.
    const wrong = await exec(process.execPath, [TSC, '-p', join(dir, 'tsconfig.wrong.json')], { cwd: dir });
    assertExit(wrong, 2, 'tsc on a wrong use');
    assert.match(wrong.stdout, /wrong\.mts\(2,\d+\): error TS2322/);
    assert.match(wrong.stdout, /Type 'string' is not assignable to type 'boolean \| undefined'/);
  });

  it('examples/api-example.mjs runs from the installed package', async (t) => {
    if (skip) return t.skip(skip);
    const image = `oci:${demo}:1.0`;
    assertExampleOutput(
      await exec(process.execPath, [join(prefix, 'node_modules/oci-scan/examples/api-example.mjs'), image], { cwd: prefix }),
      image,
    );
  });

  it('installs without a compiler: zstd-napi left out, no install-script warning about oci-scan', (t) => {
    if (skip) return t.skip(skip);
    assert.ok(existsSync(join(prefix, 'node_modules/oci-scan/package.json')));
    // npm could not build zstd-napi (no compiler) and, the dependency being optional, left it out.
    assert.equal(existsSync(join(prefix, 'node_modules/zstd-napi')), false, 'zstd-napi was installed: the test did not hide the compiler');
    // npm 11 lists a file or git dependency's install-relevant scripts (preinstall, install,
    // postinstall, prepare) not covered by allowScripts; oci-scan's package.json has none.
    const ours = installOutput.split('\n').filter((l) => /oci-scan@/.test(l) && /\b(preinstall|install|postinstall|prepare)\b/.test(l));
    assert.deepEqual(ours, [], installOutput);
  });

  it('the packed package.json has no script npm runs when installing it (dist/src is built by prepack)', async (t) => {
    if (skip) return t.skip(skip);
    const pkg = JSON.parse(await readFile(join(prefix, 'node_modules/oci-scan/package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      dependencies?: Record<string, string>;
    };
    const scripts = Object.keys(pkg.scripts ?? {});
    assert.deepEqual(
      scripts.filter((s) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(s)),
      [],
    );
    assert.ok(scripts.includes('prepack'), scripts.join(', '));
    assert.ok(pkg.optionalDependencies?.['zstd-napi'], 'zstd-napi is an optional dependency');
    assert.equal(pkg.dependencies?.['zstd-napi'], undefined);
  });

  it('the installed bin scans a zstd image as the checkout does (the WebAssembly decoder, without zstd-napi)', async (t) => {
    if (skip) return t.skip(skip);
    const entries: EntrySpec[] = [
      { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
      { type: 'file', path: 'usr/bin/sudo', mode: 0o4755, content: Buffer.alloc(200_000, 0x61) },
      ...Array.from({ length: 40 }, (_, i): EntrySpec => ({ type: 'file', path: `usr/share/doc/f${i}`, content: `doc ${i} `.repeat(400) })),
    ];
    // zstd-stored frames need no encoder; 'zstd' runs the zstd command (compressed blocks).
    const layers = [
      { entries: entries.slice(0, 1), compression: 'zstd-stored' as const },
      { entries: entries.slice(1), compression: missingTools({ zstd: 'zstd' }).skip ? ('zstd-stored' as const) : ('zstd' as const) },
    ];
    const layout = join(tmp.dir, 'zstd-layout');
    await writeOciLayout(layout, [{ image: buildImage({ layers }), tag: 'z' }]);
    const image = `oci:${layout}:z`;
    const work = join(tmp.dir, 'zstd-run');
    await mkdir(work);
    const installed = await exec(
      join(prefix, 'node_modules/.bin/oci-scan'),
      [image, '--no-cache', '--format', 'legacy', '--reports-dir', join(work, 'reports')],
      { cwd: work },
    );
    const ours = join(tmp.dir, 'zstd-checkout-run');
    await mkdir(ours);
    const checkout = await runCli([image, '--no-cache', '--format', 'legacy', '--reports-dir', join(ours, 'reports')], { cwd: ours });
    assert.equal(checkout.code, 12, checkout.stderr);
    assertExit(installed, checkout.code ?? -1, 'installed oci-scan on the zstd image');
    assert.match(installed.stdout, /^FAIL\. Severity: Critical\. Checking for a suid bit file\. Found file\.$/m);
    assert.equal(installed.stdout.replaceAll(work, '<dir>'), checkout.stdout.replaceAll(ours, '<dir>'));
  });
});

describe('examples/api-example.mjs (docs/api.md) from the checkout', () => {
  it('prints the demo image’s failed checks, the accepted finding and the highest severity', async () => {
    const image = `oci:${DEMO}:1.0`;
    assertExampleOutput(await exec(process.execPath, [EXAMPLE, image], { cwd: ROOT }), image);
  });

  it('exits with the error’s exit code and prints its code when the image cannot be read', async () => {
    const ran = await exec(process.execPath, [EXAMPLE, `oci:${DEMO}-missing:1.0`], { cwd: ROOT });
    assertExit(ran, 20, 'api-example.mjs on a missing layout');
    assert.match(ran.stderr, /^SOURCE_NOT_FOUND: .*fixtures\/demo-missing does not exist/);
    assert.equal(ran.stdout, '');
  });
});
