/**
 * Check 3 on /etc/passwd and /etc/group as bytes, end to end: a layer tar written by
 * test/helpers/image-builder.ts → the real inspector and recorder → the final filesystem →
 * the check. The recorder keeps the files' exact bytes, so a name with an invalid UTF-8 byte
 * is not the name USER spells with U+FFFD (runc compares bytes; the runc differential test
 * proves the rules, this proves the bytes reach them).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { defaultUserCheck } from '../../../src/checks/default-user.js';
import { watchPathsOf, ALL_CHECKS } from '../../../src/checks/index.js';
import { mergeLayers } from '../../../src/layer/final-fs.js';
import { inspectLayer } from '../../../src/layer/inspect.js';
import { buildTar } from '../../helpers/image-builder.js';

const raw = (...parts: Array<string | number>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p, 'utf8'))));

async function runCheck(user: string, passwd: Buffer, group: Buffer): Promise<{ pass: boolean; description: string }> {
  const watchPaths = watchPathsOf(ALL_CHECKS);
  const tar = buildTar([
    { type: 'file', path: 'etc/passwd', content: passwd },
    { type: 'file', path: 'etc/group', content: group },
  ]);
  const facts = await inspectLayer(Readable.from([tar]), { matchers: [], watchPaths, what: 'test layer' });
  const fs = mergeLayers([facts], watchPaths);
  const digest = `sha256:${'1'.repeat(64)}`;
  return defaultUserCheck.run({
    name: { display: 'test/app:1.0', name: 'app', repository: 'test/app', tag: '1.0', tagOrigin: 'reference' },
    config: { architecture: 'amd64', os: 'linux', config: { User: user } },
    layers: [{ digest, facts }],
    notScanned: [],
    fs,
  });
}

describe('check 3 compares the files as bytes', () => {
  it('the recorder keeps the exact bytes of a watched file', async () => {
    const passwd = raw('app', 0xff, ':x:1000:1000\n', 0xc3, 0x28, '\n');
    const facts = await inspectLayer(Readable.from([buildTar([{ type: 'file', path: 'etc/passwd', content: passwd }])]), {
      matchers: [],
      watchPaths: new Set(['/etc/passwd']),
      what: 'test layer',
    });
    const watched = facts.watched['/etc/passwd'];
    assert.ok(watched?.type === 'file');
    assert.deepEqual(Buffer.from(watched.content, 'latin1'), passwd);
  });

  it('USER app\\uFFFD is not the name app\\xff: the uid-0 line spelled with U+FFFD is the one runc picks', async () => {
    const outcome = await runCheck('app\uFFFD:app', raw('app', 0xff, ':x:1000:1000\napp\uFFFD:x:0:0\n'), raw('app:x:1000:\n'));
    assert.deepEqual(outcome, {
      pass: false,
      description: 'The default user is root: "app\uFFFD", which has uid 0 in /etc/passwd (USER app\uFFFD:app)',
    });
  });

  it('a group name with an invalid byte does not match the group USER names', async () => {
    const outcome = await runCheck('app:st\uFFFDff', raw('app:x:1000:1000\n'), raw('st', 0xe4, 'ff:x:1000:\nst\uFFFDff:x:0:\n'));
    assert.deepEqual(outcome, {
      pass: false,
      description: 'The default group is root: "st\uFFFDff", which has gid 0 in /etc/group (USER app:st\uFFFDff)',
    });
  });

  it('two different invalid bytes are different names: not found, the container would not start', async () => {
    const outcome = await runCheck('app\uFFFD:app', raw('app', 0xfe, ':x:1000:1000\n'), raw('app:x:1000:\n'));
    assert.deepEqual(outcome, {
      pass: false,
      description: 'user "app\uFFFD" not found in /etc/passwd: the container would not start (USER app\uFFFD:app)',
    });
  });

  it('a long passwd line of invalid bytes is measured in bytes (21846, not 3 each)', async () => {
    const outcome = await runCheck(
      'app:app',
      Buffer.concat([raw('app:x:1000:1000\n'), Buffer.alloc(21_846, 0xff), raw('\n')]),
      raw('app:x:1000:\n'),
    );
    assert.deepEqual(outcome, {
      pass: true,
      description: 'The default user and group are app:app (uid 1000 in /etc/passwd, gid 1000 in /etc/group)',
    });
  });

  it('the last group line of exactly 4096 bytes without a newline is lost, as bufio.Reader loses it', async () => {
    const group = Buffer.concat([raw('app:x:1000:'), Buffer.alloc(4096 - 11, 0x61)]);
    const outcome = await runCheck('app:app', raw('app:x:1000:1000\n'), group);
    assert.deepEqual(outcome, {
      pass: false,
      description: 'group app not found in /etc/group: the container would not start (USER app:app)',
    });
  });
});
