/**
 * User parity with runc (docs/security.md, "Runtime parity"): generated /etc/passwd and
 * /etc/group files and USER strings are resolved by our getExecUser (src/checks/passwd.ts)
 * and by runc's own libcontainer/user GetExecUser (test/oracle/runcuser through
 * test/helpers/runc-oracle.ts), and the two must agree on the uid and gid or on the error.
 * The default-user check itself runs on every case too: it may never pass when runc would run
 * the container as uid or gid 0 (after the runtimes' 32-bit truncation) or refuse it.
 *
 * The files are bytes: names with invalid UTF-8, BOMs, Unicode and lone-byte white space,
 * comment, blank and short lines, duplicates, CRLF, numbers Atoi clamps or rejects, passwd
 * lines at bufio.Scanner's 64 KiB limit and group lines at bufio.Reader's 4096-byte chunks.
 * RUNC_USER_CASES cases (default 10,000) from FUZZ_SEED (default the fuzz tests' fixed seed).
 * Needs `go` and Debian's golang-github-opencontainers-runc-dev.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import fc from 'fast-check';
import { defaultUserCheck } from '../../../src/checks/default-user.js';
import { getExecUser, parseGroup, parsePasswd, toUint32, type ExecUser } from '../../../src/checks/passwd.js';
import type { CheckInput } from '../../../src/checks/types.js';
import { checkInput, type TestEntry } from '../../helpers/check-input.js';
import { closeRuncOracle, resolveWithRunc, runcOracleSkip, type RuncAnswer, type UserCase } from '../../helpers/runc-oracle.js';
import { describeOrSkip } from '../../helpers/skip.js';

const DEFAULT_CASES = 10_000;
const DEFAULT_SEED = 20261129;

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${raw} is not a whole number`);
  return n;
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const raw = (...bytes: Array<number | string>): Buffer =>
  Buffer.concat(bytes.map((b) => (typeof b === 'number' ? Buffer.from([b]) : utf8(b))));

/** USER parts: names, numbers Atoi reads in every way, and text runc compares byte for byte. */
const USER_PARTS = [
  'app',
  'svc',
  'root',
  'admin',
  'nobody',
  'App',
  '#app',
  ' app',
  'app ',
  'ápp',
  'app\uFFFD',
  'app\uD800',
  '\uFEFFapp',
  '\u00A0app',
  'app\u2028',
  '0',
  '1000',
  '1001',
  '65534',
  '+0',
  '-0',
  '0000',
  '+1000',
  '-1',
  '4294967296',
  '4294967295',
  '2147483647',
  '2147483648',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '99999999999999999999',
  '1_000',
  '0x3e8',
  '１０００',
  ' 0',
  '0 ',
  '',
];

/** Name fields of file lines: the USER names, plus bytes no USER string can hold. */
const NAME_FIELDS: Buffer[] = [
  ...USER_PARTS.filter((p) => !p.includes('\uD800')).map(utf8),
  raw('app', 0xff),
  raw('app', 0xfe),
  raw('app', 0xc3),
  raw('app', 0xef, 0xbf),
  raw(0xed, 0xa0, 0x80),
  raw('app', 0xed, 0xa0, 0x80),
  raw(0x85, 'app'),
  raw(0xa0, 'app'),
  raw(0xc2, 0x85, 'app'),
  raw(0xef, 0xbb, 0xbf, 'app'),
  raw('ápp'.normalize('NFD')),
];

/** Id fields: what Atoi accepts, clamps and rejects. */
const ID_FIELDS = [
  '0',
  '1000',
  '1001',
  '65534',
  '',
  ' 1000',
  '1000 ',
  'abc',
  '+0',
  '-0',
  '00',
  '+1000',
  '-1',
  '4294967296',
  '4294967295',
  '2147483648',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '99999999999999999999',
  '1_000',
  '0x3e8',
  '１０００',
];

/** White space Go trims (ASCII, U+0085, U+00A0, U+2028, U+3000) and bytes it does not (lone 0x85/0xA0, BOM, U+200B, U+180E). */
const PADS: Buffer[] = [
  Buffer.alloc(0),
  utf8(' '),
  utf8('\t'),
  utf8('\r'),
  utf8('\v'),
  utf8('\f'),
  raw(0xc2, 0x85),
  raw(0xc2, 0xa0),
  raw(0xe2, 0x80, 0xa8),
  raw(0xe3, 0x80, 0x80),
  raw(0xe1, 0x9a, 0x80),
  raw(0x85),
  raw(0xa0),
  raw(0xef, 0xbb, 0xbf),
  raw(0xe2, 0x80, 0x8b),
  raw(0xe1, 0xa0, 0x8e),
];

const idField = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ID_FIELDS) }, { weight: 1, arbitrary: fc.nat().map(String) });
const pad = fc.oneof({ weight: 4, arbitrary: fc.constant(Buffer.alloc(0)) }, { weight: 1, arbitrary: fc.constantFrom(...PADS) });

/** One line: padding, fields joined by ':' (cut to `fields` of them), padding. */
function line(kind: 'passwd' | 'group'): fc.Arbitrary<Buffer> {
  const rest =
    kind === 'passwd'
      ? fc.tuple(idField, idField, fc.constantFrom('', 'App'), fc.constantFrom('/home/app', '/'), fc.constantFrom('/bin/sh', ''))
      : fc.tuple(idField, fc.constantFrom('', 'app', 'app,svc', 'root'));
  const whole = kind === 'passwd' ? 7 : 4;
  const fields = fc
    .tuple(fc.constantFrom(...NAME_FIELDS), fc.constantFrom('x', '', '*'), rest, fc.integer({ min: 1, max: whole + 1 }))
    .map(([name, pass, more, n]) => {
      const all: Buffer[] = [name, utf8(pass), ...more.map((m) => utf8(m)), utf8('extra')];
      return Buffer.concat(all.slice(0, n).flatMap((f, i) => (i === 0 ? [f] : [utf8(':'), f])));
    });
  return fc.oneof(
    { weight: 12, arbitrary: fc.tuple(pad, fields, pad).map((parts) => Buffer.concat(parts)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(utf8(''), utf8('   '), utf8('# comment'), utf8('#app:x:0:0'), utf8(' #app:x:0:0'), raw(0xc2, 0xa0)),
    },
  );
}

/**
 * A line of exactly `length` bytes that names `app` (uid/gid 0 or 1000): at passwd's 64 KiB
 * limit, or a group line around bufio.Reader's 4096-byte chunks, with a '\r' where a chunk ends.
 */
function longLine(kind: 'passwd' | 'group'): fc.Arbitrary<Buffer> {
  const lengths = kind === 'passwd' ? [65_534, 65_535, 65_536, 65_537] : [4095, 4096, 4097, 8191, 8192, 8193, 12_288];
  return fc
    .tuple(fc.constantFrom(...lengths), fc.constantFrom('0', '1000'), fc.constantFrom('a', ',', ' '), fc.boolean())
    .map(([length, id, fill, cr]) => {
      const head = utf8(kind === 'passwd' ? `app:x:${id}:${id}:` : `app:x:${id}:`);
      const body = Buffer.alloc(length - head.length, fill);
      const out = Buffer.concat([head, body]);
      if (cr && length >= 4096) out[4095] = 0x0d;
      return out;
    });
}

/** A whole file: lines with '\n' or '\r\n', maybe a BOM first, maybe no final newline, rarely a long line. */
function file(kind: 'passwd' | 'group'): fc.Arbitrary<Buffer> {
  const lines = fc.array(fc.oneof({ weight: 300, arbitrary: line(kind) }, { weight: 1, arbitrary: longLine(kind) }), { maxLength: 8 });
  return fc
    .tuple(fc.boolean(), lines, fc.constantFrom('\n', '\r\n'), fc.integer({ min: 0, max: 3 }), fc.option(longLine(kind), { freq: 60 }))
    .map(([bom, ls, eol, end, last]) => {
      const parts = ls.flatMap((l) => [l, utf8(eol)]);
      // end 0: no newline after the last line; 3: a long line last, without a newline.
      if (end === 0 && parts.length > 0) parts.pop();
      if (last !== null && end === 3) parts.push(last);
      return Buffer.concat([bom ? raw(0xef, 0xbb, 0xbf) : Buffer.alloc(0), ...parts]);
    });
}

const userPart = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...USER_PARTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });
const userSpec = fc.oneof(
  { weight: 2, arbitrary: userPart },
  { weight: 6, arbitrary: fc.tuple(userPart, userPart).map(([u, g]) => `${u}:${g}`) },
  { weight: 1, arbitrary: fc.tuple(userPart, userPart, userPart).map(([u, g, x]) => `${u}:${g}:${x}`) },
);
const maybe = (a: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer | undefined> =>
  fc.oneof({ weight: 9, arbitrary: a }, { weight: 1, arbitrary: fc.constant(undefined) });
const userCase: fc.Arbitrary<UserCase> = fc.record({ user: userSpec, passwd: maybe(file('passwd')), group: maybe(file('group')) });

/** Our answer in the oracle's words. */
function ours(c: UserCase): ExecUser {
  return getExecUser(c.user, c.passwd && parsePasswd(c.passwd, false), c.group && parseGroup(c.group, false));
}

function sameAnswer(go: RuncAnswer, me: ExecUser): boolean {
  if (go.error !== null) return me.kind === 'error' && go.error.startsWith(`${me.error}:`);
  return me.kind === 'ok' && go.uid === String(me.uid) && go.gid === String(me.gid);
}

/** The final filesystem of one layer holding the case's files (missing ones absent), recorded by the real recorder. */
function checkInputOf(c: UserCase): CheckInput {
  const entries: TestEntry[] = [];
  if (c.passwd) entries.push({ type: 'file', path: 'etc/passwd', content: c.passwd });
  if (c.group) entries.push({ type: 'file', path: 'etc/group', content: c.group });
  return checkInput({ layers: [{ entries }], config: { User: c.user } });
}

/** Where the check's verdict contradicts runc's: a pass on an image runc runs as root, or would not run. */
function checkProblem(go: RuncAnswer, c: UserCase): string | undefined {
  const outcome = defaultUserCheck.run(checkInputOf(c));
  assert.ok(!(outcome instanceof Promise), 'check 3 answers at once');
  if (!outcome.pass) return undefined;
  if (go.error !== null) return `the check passed (${outcome.description}) but runc refuses: ${go.error}`;
  if (toUint32(BigInt(go.uid)) === 0 || toUint32(BigInt(go.gid)) === 0)
    return `the check passed (${outcome.description}) but runc runs it as uid ${go.uid}, gid ${go.gid}`;
  return undefined;
}

const show = (b: Uint8Array | undefined): string =>
  b === undefined
    ? 'absent'
    : b.length > 300
      ? `${b.length} bytes, starting ${JSON.stringify(Buffer.from(b.subarray(0, 120)).toString('latin1'))}`
      : JSON.stringify(Buffer.from(b).toString('latin1'));
const describeCase = (c: UserCase): string =>
  `USER ${JSON.stringify(c.user)}, passwd ${show(c.passwd)}, group ${show(c.group)} (bytes shown as latin1)`;

/** Compares ours and runc's answers on `cases`; returns the disagreements, described. */
async function disagreements(cases: readonly UserCase[]): Promise<string[]> {
  const out: string[] = [];
  const batch = 1000;
  for (let i = 0; i < cases.length; i += batch) {
    const slice = cases.slice(i, i + batch);
    const answers = await resolveWithRunc(slice);
    slice.forEach((c, j) => {
      const go = answers[j];
      assert.ok(go, 'runcuser answered every case');
      const me = ours(c);
      if (!sameAnswer(go, me))
        out.push(
          `${describeCase(c)}: runc ${JSON.stringify(go)}, ours ${JSON.stringify(me, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
        );
      const problem = checkProblem(go, c);
      if (problem !== undefined) out.push(`${describeCase(c)}: ${problem}`);
    });
  }
  return out;
}

const skip = runcOracleSkip('runc user differential');

describeOrSkip('USER resolution: ours against runc libcontainer/user GetExecUser', { skip }, () => {
  after(() => closeRuncOracle());

  /** Named classes: each the way runc reads it, so that the case proves what it names. */
  const named: Array<[string, UserCase, RuncAnswer]> = [
    [
      'an invalid byte in a name does not match U+FFFD: the uid-0 line written in valid UTF-8 does',
      { user: 'app\uFFFD:app', passwd: raw('app', 0xff, ':x:1000:1000\napp\uFFFD:x:0:0\n'), group: utf8('app:x:1000:\n') },
      { uid: '0', gid: '1000', error: null },
    ],
    [
      'two different invalid bytes are different names',
      { user: 'app\uFFFD:app', passwd: raw('app', 0xfe, ':x:0:0\napp', 0xff, ':x:0:0\n'), group: utf8('app:x:1000:\n') },
      { error: 'user-not-found: unable to find user app\uFFFD: no matching entries in passwd file' },
    ],
    [
      'a lone surrogate in USER is U+FFFD, as Go decodes it',
      { user: 'app\uD800:app', passwd: utf8('app\uFFFD:x:1000:1000\n'), group: utf8('app:x:1000:\n') },
      { uid: '1000', gid: '1000', error: null },
    ],
    [
      'a group name with an invalid byte does not match',
      { user: 'app:st\uFFFDff', passwd: utf8('app:x:1000:1000\n'), group: raw('st', 0xe4, 'ff:x:1000:\nst\uFFFDff:x:0:\n') },
      { uid: '1000', gid: '0', error: null },
    ],
    [
      'a lone 0x85 byte is not trimmed (NEL is C2 85)',
      { user: 'app:app', passwd: raw(0x85, 'app:x:0:0\napp:x:1000:1000\n'), group: utf8('app:x:1000:\n') },
      { uid: '1000', gid: '1000', error: null },
    ],
    [
      'NEL (C2 85) is trimmed',
      { user: 'app:app', passwd: raw(0xc2, 0x85, 'app:x:0:0\napp:x:1000:1000\n'), group: utf8('app:x:1000:\n') },
      { uid: '0', gid: '1000', error: null },
    ],
    [
      'a passwd line of 21846 invalid bytes is well under 64 KiB (not 3 bytes each)',
      {
        user: 'app:app',
        passwd: Buffer.concat([utf8('app:x:1000:1000\n'), Buffer.alloc(21_846, 0xff), utf8('\n')]),
        group: utf8('app:x:1000:\n'),
      },
      { uid: '1000', gid: '1000', error: null },
    ],
    [
      'a last group line of exactly 4096 bytes without a newline is lost',
      { user: 'app:app', passwd: utf8('app:x:1000:1000\n'), group: Buffer.concat([utf8('app:x:0:'), Buffer.alloc(4096 - 8, 'a')]) },
      { error: 'group-not-found: unable to find group app: no matching entries in group file' },
    ],
    [
      'a last group line of 4097 bytes is read',
      { user: 'app:app', passwd: utf8('app:x:1000:1000\n'), group: Buffer.concat([utf8('app:x:0:'), Buffer.alloc(4097 - 8, 'a')]) },
      { uid: '1000', gid: '0', error: null },
    ],
  ];

  it('named classes: runc reads them as stated, and so do we', async () => {
    const answers = await resolveWithRunc(named.map(([, c]) => c));
    const failures: string[] = [];
    named.forEach(([what, c, expected], i) => {
      const go = answers[i];
      assert.ok(go);
      if (JSON.stringify(go) !== JSON.stringify(expected))
        failures.push(`${what}: runc answered ${JSON.stringify(go)}, the case states ${JSON.stringify(expected)}`);
      const me = ours(c);
      if (!sameAnswer(go, me))
        failures.push(
          `${what}: runc ${JSON.stringify(go)}, ours ${JSON.stringify(me, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
        );
      const problem = checkProblem(go, c);
      if (problem !== undefined) failures.push(`${what}: ${problem}`);
    });
    assert.equal(failures.length, 0, failures.join('\n'));
  });

  it('generated passwd/group files and USER strings: same uid/gid or same error', async () => {
    const numRuns = envInt('RUNC_USER_CASES') ?? DEFAULT_CASES;
    const seed = envInt('FUZZ_SEED') ?? DEFAULT_SEED;
    const cases = fc.sample(userCase, { numRuns, seed });
    const found = await disagreements(cases);
    process.stdout.write(`runc user differential: ${cases.length} cases (seed ${seed}), ${found.length} disagreements\n`);
    assert.equal(
      found.length,
      0,
      `${found.length} of ${cases.length} cases disagree (seed ${seed}); the first ones:\n${found.slice(0, 8).join('\n')}`,
    );
  });
});
