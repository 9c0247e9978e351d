/**
 * The command table and the scan command's arguments (src/cli/commands/): a command word counts
 * only as the whole first argument, reserved words are refused with the way to scan an image
 * so named, and the scan options are resolved (several IMAGEs, formats, conflicts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOciScanError } from '../../../src/errors.js';
import { COMMANDS, resolveCommand } from '../../../src/cli/commands/index.js';
import { parseScanArgs, scanCommand } from '../../../src/cli/commands/scan.js';

test('resolveCommand: scan is the default; a command word counts only as the whole first argument', () => {
  const cases: Array<[argv: string[], args: string[]]> = [
    [['app:1.0'], ['app:1.0']],
    [['scan', 'audit'], ['audit']],
    [['scan', 'scan'], ['scan']],
    [['audit:1.0'], ['audit:1.0']],
    [['docker://audit'], ['docker://audit']],
    [['library/audit'], ['library/audit']],
    [['--platform', 'all', 'audit'], ['--platform', 'all', 'audit']],
    [[], []],
  ];
  for (const [argv, args] of cases) {
    const resolved = resolveCommand(argv);
    assert.equal(resolved.command, scanCommand, argv.join(' '));
    assert.deepEqual(resolved.args, args, argv.join(' '));
  }
});

test('resolveCommand: reserved words are refused (USAGE) with the way to scan an image so named', () => {
  const reserved = COMMANDS.filter((c) => c.command === undefined).map((c) => c.name);
  assert.deepEqual(reserved, ['audit', 'cache']);
  for (const name of reserved) {
    assert.throws(
      () => resolveCommand([name, '--platform', 'all']),
      (err: unknown) => isOciScanError(err, 'USAGE') && err.message.includes(`oci-scan scan ${name}`) && err.message.includes(`docker://${name}`),
    );
  }
});

test('parseScanArgs: every IMAGE, in order; COMPLIANCE_IMAGE_FULL_REF only without one; formats and their conflicts', async () => {
  const env = { COMPLIANCE_IMAGE_FULL_REF: 'from-env:1' };
  assert.deepEqual((await parseScanArgs(['a:1', 'b:2', '--platform', 'all', 'c:3'], env))?.images, ['a:1', 'b:2', 'c:3']);
  assert.deepEqual((await parseScanArgs([], env))?.images, ['from-env:1']);
  assert.deepEqual((await parseScanArgs([], {}))?.images, []);

  const legacy = await parseScanArgs(['a:1'], { COMPLIANCE_JSON_STDOUT: 'true', COMPLIANCE_REPORTS_DIR: 'out' });
  assert.equal(legacy?.format, 'legacy');
  assert.equal(legacy?.jsonStdout, true);
  assert.equal(legacy?.reportsDir, 'out');
  const json = await parseScanArgs(['a:1', '--format', 'json', '-o', 'doc.json'], { COMPLIANCE_JSON_STDOUT: 'true' });
  assert.equal(json?.format, 'json');
  assert.equal(json?.output, 'doc.json');
  assert.equal(json?.jsonStdout, false, 'COMPLIANCE_JSON_STDOUT is for the legacy reports');
  assert.equal((await parseScanArgs(['a:1', '--format', 'json'], {}))?.output, '-');

  for (const argv of [['a', '-o', 'x'], ['a', '--format', 'json', '--json-stdout'], ['a', '--format', 'json', '--reports-dir', 'r'], ['a', '--format', 'json', '-o', ''], ['a', '--format', 'sarif']]) {
    await assert.rejects(parseScanArgs(argv, {}), (err: unknown) => isOciScanError(err, 'USAGE'), argv.join(' '));
  }
  await assert.rejects(parseScanArgs(['a', '--platform', 'linux'], {}), (err: unknown) => isOciScanError(err, 'USAGE') && err.setting === 'platform' && !err.message.includes('--'));
  await assert.rejects(parseScanArgs(['a'], { HIGH_EXIT_CODE: '300' }), (err: unknown) => isOciScanError(err, 'USAGE') && /HIGH_EXIT_CODE/.test(err.message));
});
