/**
 * The command table and the scan command's arguments (src/cli/commands/): a command word counts
 * only as the whole first argument (`audit` runs the audit command), reserved words are refused
 * with the way to scan an image so named, and the scan options are resolved (several IMAGEs, formats, conflicts, the cache).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOciScanError } from '../../../src/errors.js';
import { COMMANDS, resolveCommand } from '../../../src/cli/commands/index.js';
import { parseScanArgs, scanCommand, type ScanConfig } from '../../../src/cli/commands/scan.js';

/** The scan configuration of `argv` (not --help, not --list-checks). */
async function configOf(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ScanConfig> {
  const config = await parseScanArgs(argv, env);
  assert.ok(config && !('listChecks' in config), argv.join(' '));
  return config;
}

test('resolveCommand: scan is the default; a command word counts only as the whole first argument', async () => {
  const cases: Array<[argv: string[], args: string[]]> = [
    [['app:1.0'], ['app:1.0']],
    [['scan', 'audit'], ['audit']],
    [['scan', 'scan'], ['scan']],
    [['audit:1.0'], ['audit:1.0']],
    [['docker://audit'], ['docker://audit']],
    [['library/audit'], ['library/audit']],
    [
      ['--platform', 'all', 'audit'],
      ['--platform', 'all', 'audit'],
    ],
    [[], []],
  ];
  for (const [argv, args] of cases) {
    const resolved = await resolveCommand(argv);
    assert.equal(resolved.command, scanCommand, argv.join(' '));
    assert.deepEqual(resolved.args, args, argv.join(' '));
  }
});

test('resolveCommand: audit is a command now; reserved words (none left) are refused (USAGE) with the way to scan an image so named', async () => {
  const audit = await resolveCommand(['audit', 'registry.lan/team']);
  assert.equal(audit.command.name, 'audit');
  assert.deepEqual(audit.args, ['registry.lan/team']);
  const reserved = COMMANDS.filter((c) => c.load === undefined).map((c) => c.name);
  assert.deepEqual(reserved, []);
  for (const name of reserved) {
    await assert.rejects(
      resolveCommand([name, '--platform', 'all']),
      (err: unknown) =>
        isOciScanError(err, 'USAGE') && err.message.includes(`oci-scan scan ${name}`) && err.message.includes(`docker://${name}`),
    );
  }
});

test('parseScanArgs: every IMAGE, in order; COMPLIANCE_IMAGE_FULL_REF only without one; formats and their conflicts', async () => {
  const env = { COMPLIANCE_IMAGE_FULL_REF: 'from-env:1' };
  assert.deepEqual((await configOf(['a:1', 'b:2', '--platform', 'all', 'c:3'], env)).images, ['a:1', 'b:2', 'c:3']);
  assert.deepEqual((await configOf([], env)).images, ['from-env:1']);
  assert.deepEqual((await configOf([], {})).images, []);

  const legacy = await configOf(['a:1'], { COMPLIANCE_JSON_STDOUT: 'true', COMPLIANCE_REPORTS_DIR: 'out' });
  assert.deepEqual(legacy.outputs, [{ format: 'legacy', dest: '' }]);
  assert.equal(legacy.jsonStdout, true);
  assert.equal(legacy.reportsDir, 'out');
  const json = await configOf(['a:1', '--format', 'json', '-o', 'doc.json'], { COMPLIANCE_JSON_STDOUT: 'true' });
  assert.deepEqual(json.outputs, [{ format: 'json', dest: 'doc.json' }]);
  assert.equal(json.jsonStdout, false, 'COMPLIANCE_JSON_STDOUT is for the legacy reports');
  assert.deepEqual((await configOf(['a:1', '--format', 'json'], {})).outputs, [{ format: 'json', dest: '-' }]);
  const several = await configOf(
    ['a:1', '--format', 'sarif=out.sarif', '--format', 'junit=j.xml', '--format', 'table', '--format', 'legacy'],
    {},
  );
  assert.deepEqual(several.outputs, [
    { format: 'sarif', dest: 'out.sarif' },
    { format: 'junit', dest: 'j.xml' },
    { format: 'table', dest: '-' },
    { format: 'legacy', dest: '' },
  ]);
  // A repeatable option takes one value: the IMAGE after it stays an IMAGE.
  const after = await configOf(
    ['--format', 'json', 'a:1', '--insecure-registry', 'reg:5000', 'b:2', '--registry-mirror', 'docker.io=m:5000', 'c:3'],
    {},
  );
  assert.deepEqual(after.images, ['a:1', 'b:2', 'c:3']);
  assert.deepEqual(after.outputs, [{ format: 'json', dest: '-' }]);
  assert.deepEqual(after.registry.insecureRegistries, ['reg:5000']);
  assert.equal((await configOf(['a:1', '--timeout', '1m'], {})).timeoutSeconds, 60);
  assert.equal((await configOf(['a:1', '--timeout', '1.5h'], {})).timeoutSeconds, 5400);
  assert.equal((await configOf(['a:1', '--timeout', '90'], {})).timeoutSeconds, 90);
  await assert.rejects(
    parseScanArgs(['a', '--timeout', '1 minute'], {}),
    (err: unknown) => isOciScanError(err, 'USAGE') && err.message.includes('"1 minute"'),
  );

  for (const argv of [
    ['a', '-o', 'x'],
    ['a', '--format', 'json', '--json-stdout'],
    ['a', '--format', 'json', '--reports-dir', 'r'],
    ['a', '--format', 'json', '-o', ''],
    ['a', '--format', 'xml'],
    ['a', '--format', 'sarif', '--format', 'json'],
    ['a', '--format', 'sarif', '--format', 'junit', '-o', 'x'],
    ['a', '--format', 'legacy=dir'],
    ['a', '--format', 'json=out', '--format', 'json=other'],
    ['a', '--platform'],
    ['a', '--reports-dir'],
    ['a', '--insecure-registry'],
    ['a', '--ca-file'],
    ['a', '--format'],
    ['a', '--progress', 'fancy'],
  ]) {
    await assert.rejects(parseScanArgs(argv, {}), (err: unknown) => isOciScanError(err, 'USAGE'), argv.join(' '));
  }
  await assert.rejects(
    parseScanArgs(['a', '--platform', 'linux'], {}),
    (err: unknown) => isOciScanError(err, 'USAGE') && err.setting === 'platform' && !err.message.includes('--'),
  );
  await assert.rejects(
    parseScanArgs(['a'], { HIGH_EXIT_CODE: '300' }),
    (err: unknown) => isOciScanError(err, 'USAGE') && /HIGH_EXIT_CODE/.test(err.message),
  );
});

test('parseScanArgs: the cache directory (--cache-dir, OCI_SCAN_CACHE_DIR, XDG_CACHE_HOME, HOME), its size, --no-cache', async () => {
  const home = { HOME: '/home/u' };
  assert.deepEqual((await configOf(['a:1'], home)).cache, { dir: '/home/u/.cache/oci-scan', maxBytes: 256 * 1024 * 1024 });
  assert.equal((await configOf(['a:1'], { ...home, XDG_CACHE_HOME: '/xdg' })).cache?.dir, '/xdg/oci-scan');
  assert.equal(
    (await configOf(['a:1'], { ...home, XDG_CACHE_HOME: 'relative' })).cache?.dir,
    '/home/u/.cache/oci-scan',
    'a relative XDG_CACHE_HOME is ignored',
  );
  assert.equal((await configOf(['a:1'], { ...home, XDG_CACHE_HOME: '/xdg', OCI_SCAN_CACHE_DIR: '/env' })).cache?.dir, '/env');
  assert.equal((await configOf(['a:1', '--cache-dir', '/flag'], { OCI_SCAN_CACHE_DIR: '/env' })).cache?.dir, '/flag');
  assert.equal((await configOf(['a:1', '--cache-max-size', '1g'], home)).cache?.maxBytes, 1024 ** 3);
  assert.equal((await configOf(['a:1', '--no-cache'], home)).cache, undefined);
  await assert.rejects(
    configOf(['a:1', '--cache-max-size', 'big'], home),
    (err: unknown) => isOciScanError(err, 'USAGE') && err.message.includes('--cache-max-size "big" is not a size'),
  );
  await assert.rejects(configOf(['a:1', '--cache-dir', '/a', '--cache-dir', '/b'], home), (err: unknown) => isOciScanError(err, 'USAGE'));
  await assert.rejects(configOf(['a:1', '--cache-dir'], home), (err: unknown) => isOciScanError(err, 'USAGE'));
});

test('options: a mistyped one gets one clean line with the nearest option; format names in any case; -o alone takes the format from its extension', async () => {
  const usage = async (argv: readonly string[]): Promise<string> => {
    try {
      await parseScanArgs(argv, {});
    } catch (err) {
      assert.ok(isOciScanError(err, 'USAGE'), String(err));
      return err.message;
    }
    assert.fail(`${argv.join(' ')} was accepted`);
  };
  assert.equal(
    await usage(['app', '--insecure-registri', 'r']),
    'unknown option --insecure-registri: did you mean --insecure-registry? (see oci-scan --help)',
  );
  assert.equal(await usage(['app', '--plaform', 'all']), 'unknown option --plaform: did you mean --platform? (see oci-scan --help)');
  assert.equal(await usage(['app', '--zzzzzz']), 'unknown option --zzzzzz (see oci-scan --help)', 'nothing near: no guess');
  assert.deepEqual((await configOf(['app', '--format', 'SARIF=x.sarif', '--format', 'Table'], {})).outputs, [
    { format: 'sarif', dest: 'x.sarif' },
    { format: 'table', dest: '-' },
  ]);
  for (const [file, format] of [
    ['out.sarif', 'sarif'],
    ['out.JSON', 'json'],
    ['junit.xml', 'junit'],
    ['table.txt', 'table'],
  ] as const) {
    assert.deepEqual((await configOf(['app', '-o', file], {})).outputs, [{ format, dest: file }], file);
  }
  assert.match(await usage(['app', '-o', 'out.bin']), /its extension names no format/);
});

test('a reports directory for a run that writes no legacy report: --reports-dir is refused (the message offers -o only when it was not given); COMPLIANCE_REPORTS_DIR is noted as unused', async () => {
  const refused = async (argv: readonly string[]): Promise<string> => {
    try {
      await parseScanArgs(argv, {});
    } catch (err) {
      assert.ok(isOciScanError(err, 'USAGE'));
      return err.message;
    }
    assert.fail('accepted');
  };
  assert.match(
    await refused(['app', '--format', 'sarif', '--reports-dir', 'r']),
    /which --format sarif does not write: add --format legacy, or write the document to a file with -o FILE/,
  );
  assert.doesNotMatch(await refused(['app', '--format', 'sarif', '-o', 'x.sarif', '--reports-dir', 'r']), /-o FILE/);
  assert.equal((await configOf(['app', '--format', 'sarif'], { COMPLIANCE_REPORTS_DIR: 'r' })).unusedReportsDir, 'r');
  assert.equal((await configOf(['app', '--format', 'legacy'], { COMPLIANCE_REPORTS_DIR: 'r' })).unusedReportsDir, undefined);
});

test('-q silences progress in scan as in audit, unless --progress or OCI_SCAN_PROGRESS asks for it', async () => {
  assert.equal((await configOf(['app', '-q'], {})).progress, 'none');
  assert.equal((await configOf(['app', '-q', '--progress', 'plain'], {})).progress, 'plain');
  assert.equal((await configOf(['app', '-q'], { OCI_SCAN_PROGRESS: 'tty' })).progress, 'tty');
  assert.equal((await configOf(['app'], {})).progress, 'auto');
});

test('--checks default|extended|all: the check set of the run; anything else is a usage error', async () => {
  assert.equal((await configOf(['app:1.0'], {})).checkSet, undefined);
  for (const set of ['default', 'extended', 'all'] as const) assert.equal((await configOf(['app:1.0', '--checks', set], {})).checkSet, set);
  await assert.rejects(
    parseScanArgs(['app:1.0', '--checks', 'everything'], {}),
    (e: unknown) => isOciScanError(e, 'USAGE') && /^--checks "everything": use default/.test(e.message),
  );
});
