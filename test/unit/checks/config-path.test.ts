/**
 * The image's own PATH (docs/checks.md, checks 9–16): the directories of the config's last
 * `PATH=` entry are PATH directories for the symlink rule, as runc sets the environment in
 * order (a later entry replaces an earlier one) and looks programs up in it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configPathDirs } from '../../../src/checks/findings.js';
import { ALL_CHECKS } from '../../../src/checks/index.js';
import type { CheckOutcome } from '../../../src/checks/types.js';
import type { RuntimeConfig } from '../../../src/image/config.js';
import { checkInput, testDigest, type TestEntry } from '../../helpers/check-input.js';

const D1 = testDigest(0);
const exe = (path: string): TestEntry => ({ type: 'file', path, content: 'x', mode: 0o755 });
const link = (path: string, target: string): TestEntry => ({ type: 'symlink', path, target });

/** Runs file check `id` (they yield to the event loop while they work: a promise). */
async function run(id: string, entries: readonly TestEntry[], config: RuntimeConfig): Promise<CheckOutcome> {
  const check = ALL_CHECKS.find((c) => c.id === id);
  assert.ok(check, id);
  return check.run(checkInput({ layers: [{ entries }], config }));
}

describe('configPathDirs: the PATH the runtime sets', () => {
  const cases: Array<[string, RuntimeConfig, string[]]> = [
    ['no Env', {}, []],
    ['Env without PATH', { Env: ['HOME=/root', 'XPATH=/x', 'PATHX=/y'] }, []],
    ['one PATH', { Env: ['PATH=/opt/tools/bin:/usr/bin'] }, ['/opt/tools/bin', '/usr/bin']],
    ['the last PATH= wins', { Env: ['PATH=/first', 'LANG=C', 'PATH=/second:/third'] }, ['/second', '/third']],
    [
      'relative and empty entries are under WorkingDir',
      { Env: ['PATH=bin::../x/./y/'], WorkingDir: '/srv/app' },
      ['/srv/app/bin', '/srv/app', '/srv/x/y'],
    ],
    ['relative entries without WorkingDir are under /', { Env: ['PATH=tools'] }, ['/tools']],
    ['an empty PATH is the working directory', { Env: ['PATH='] }, ['/']],
  ];
  for (const [what, config, expected] of cases) {
    it(what, () => assert.deepEqual(configPathDirs({ architecture: 'amd64', os: 'linux', config }), expected));
  }
});

describe('checks 9–16: a symlink in a directory of the config PATH is on PATH', () => {
  const tools: TestEntry[] = [
    exe('bin/busybox'),
    link('opt/tools/bin/nc', '/bin/busybox'),
    link('opt/tools/bin/gcc', '/bin/busybox'),
    link('srv/app/bin/sudo', '/bin/busybox'),
  ];

  it('a link to nc in /opt/tools/bin fails nc when the config PATH names it, not otherwise', async () => {
    assert.deepEqual(await run('nc', tools, {}), { pass: true, description: 'File(s) nc not found' });
    assert.deepEqual(await run('nc', tools, { Env: ['PATH=/usr/bin:/opt/tools/bin'] }), {
      pass: false,
      description: 'Found file',
      files: [{ [D1]: ['/opt/tools/bin/nc'] }],
    });
  });

  it('only the last PATH= counts', async () => {
    assert.deepEqual(await run('nc', tools, { Env: ['PATH=/opt/tools/bin', 'PATH=/usr/bin'] }), {
      pass: true,
      description: 'File(s) nc not found',
    });
    assert.deepEqual(await run('nc', tools, { Env: ['PATH=/usr/bin', 'PATH=/opt/tools/bin'] }), {
      pass: false,
      description: 'Found file',
      files: [{ [D1]: ['/opt/tools/bin/nc'] }],
    });
  });

  it('compilers follow the same rule', async () => {
    assert.deepEqual(await run('compilers', tools, {}), { pass: true, description: 'Compiler(s) not found' });
    assert.deepEqual(await run('compilers', tools, { Env: ['PATH=/opt/tools/bin'] }), {
      pass: false,
      description: 'Found file',
      files: [{ [D1]: ['/opt/tools/bin/gcc'] }],
    });
  });

  it('a relative PATH entry is a directory under WorkingDir', async () => {
    assert.deepEqual(await run('sudo', tools, { Env: ['PATH=bin'] }), { pass: true, description: 'File(s) sudo not found' });
    assert.deepEqual(await run('sudo', tools, { Env: ['PATH=bin'], WorkingDir: '/srv/app' }), {
      pass: false,
      description: 'Found file',
      files: [{ [D1]: ['/srv/app/bin/sudo'] }],
    });
  });

  it('a config PATH directory that is itself a link is followed', async () => {
    const entries = [exe('bin/busybox'), link('opt/current', 'tools-2'), link('opt/tools-2/socat', '/bin/busybox')];
    assert.deepEqual(await run('socat', entries, { Env: ['PATH=/opt/current'] }), {
      pass: false,
      description: 'Found file',
      files: [{ [D1]: ['/opt/tools-2/socat'] }],
    });
  });
});
