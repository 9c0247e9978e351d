/** The audit target and the `--repos` file (src/audit/plan.ts). */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isOciScanError } from '../../../src/errors.js';
import { readReposFile, targetLabel } from '../../../src/audit/plan.js';
import { parseTarget } from '../../../src/cli/audit-args.js';
import { tempDir } from '../../helpers/scan.js';

test('parseTarget: REGISTRY[/PREFIX], oci:DIR, --repos FILE', () => {
  assert.deepEqual(parseTarget('registry.local:5000', undefined), { kind: 'registry', registry: 'registry.local:5000', prefix: '' });
  assert.deepEqual(parseTarget('registry.local:5000/team/sub/', undefined), {
    kind: 'registry',
    registry: 'registry.local:5000',
    prefix: 'team/sub',
  });
  assert.deepEqual(parseTarget('docker://harbor.lan/proj', undefined), { kind: 'registry', registry: 'harbor.lan', prefix: 'proj' });
  assert.deepEqual(parseTarget('oci:./mirror', undefined), { kind: 'layout', dir: './mirror' });
  assert.deepEqual(parseTarget(undefined, 'repos.txt'), { kind: 'repos', file: 'repos.txt' });
  assert.equal(targetLabel(parseTarget('registry.local:5000/team', undefined)), 'registry.local:5000/team');
  for (const [text, file] of [
    [undefined, undefined],
    ['', undefined],
    ['oci:', undefined],
    ['host:5000/Team', undefined],
    ['host/x', 'repos.txt'],
    ['http://host/x', undefined],
  ] as const) {
    assert.throws(
      () => parseTarget(text, file),
      (e: unknown) => isOciScanError(e, 'USAGE'),
      String(text),
    );
  }
});

test('readReposFile: HOST/REPOSITORY[:TAG] lines, comments and blank lines skipped, a bad line named by number', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = join(dir, 'repos.txt');
    await writeFile(file, '# the mirror\nharbor.lan/proj/app\n\nharbor.lan/proj/db:15\n');
    assert.deepEqual(await readReposFile(file), [
      { registry: 'harbor.lan', repository: 'proj/app' },
      { registry: 'harbor.lan', repository: 'proj/db', tag: '15' },
    ]);
    await writeFile(file, 'harbor.lan/proj/app\nharbor.lan/proj/App\n');
    await assert.rejects(readReposFile(file), /line 2: .*lower-case/);
    await writeFile(file, 'harbor.lan/proj/app@sha256:' + 'a'.repeat(64) + '\n');
    await assert.rejects(readReposFile(file), /line 1: name a repository/);
    await assert.rejects(readReposFile(join(dir, 'missing.txt')), (e: unknown) => isOciScanError(e, 'USAGE') && /ENOENT/.test(e.message));
  } finally {
    await cleanup();
  }
});
