/**
 * Parsing and validating a policy (src/policy/load.ts, validate.ts): the issue's example
 * parses as written, YAML dates stay text, and every problem names its line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { OciScanError } from '../../../src/errors.js';
import { checkPolicy, loadPolicyFile, MAX_POLICY_BYTES, parsePolicy } from '../../../src/policy/load.js';
import { tempDir } from '../../helpers/scan.js';
import { POLICY_SCHEMA_URL } from '../../../src/policy/validate.js';

/** The format as documented in docs/ci.md. */
const EXAMPLE = `version: 1
checks:
  layer-count: { disabled: true }
  compilers: { severity: Low }
accept:
  - check: suid
    paths: ["/usr/bin/passwd", "/usr/lib/openssh/*"]   # globs; "**" crosses directories
    reason: "passwd must be setuid for password changes"
    expires: 2027-06-30                                 # optional
    images: ["registry.local/team/*"]                   # optional
data:
  forbiddenPrograms: { add: ["telnet"], sudo: { add: ["doas"] } }
  criticalPorts: { add: ["8080/tcp"] }
  compilers: { add: ["tinycc"], remove: ["go"] }
  maxLayers: 10
  requiredLabels: ["org.opencontainers.image.source"]
  secretFiles: { addNames: ["vault-token"], removeRules: ["aws-access-key-id"] }   # extended check secret-files
`;

/** The line of the USAGE error `fn` throws. */
function lineOf(fn: () => unknown): { line: number; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof OciScanError && err.code === 'USAGE', String(err));
    const m = /^policy p\.yaml:(\d+): (.*): fix the policy file$/.exec(err.message);
    assert.ok(m, err.message);
    return { line: Number(m[1]), message: m[2] ?? '' };
  }
  assert.fail('no error');
}

test('the documented example parses; an unquoted YAML date stays the text YYYY-MM-DD', () => {
  const policy = parsePolicy(EXAMPLE, 'p.yaml');
  assert.equal(policy.accept?.[0]?.expires, '2027-06-30');
  assert.deepEqual(policy.checks?.['layer-count'], { disabled: true });
  assert.equal(policy.data?.maxLayers, 10);
});

test('the schema itself compiles in strict mode', async () => {
  const schema = JSON.parse(await readFile(POLICY_SCHEMA_URL, 'utf8')) as object;
  assert.doesNotThrow(() => new Ajv2020({ strict: true }).compile(schema));
});

test('each problem names the line of the offending value or key', () => {
  const bad = (line: number, replacement: string): string =>
    EXAMPLE.split('\n')
      .map((l, i) => (i === line - 1 ? replacement : l))
      .join('\n');
  assert.deepEqual(
    lineOf(() => parsePolicy(bad(9, '    why: "x"'), 'p.yaml')),
    { line: 9, message: 'accept[0] has an unknown key "why"' },
  );
  assert.deepEqual(
    lineOf(() => parsePolicy(EXAMPLE.replace('    reason: "passwd must be setuid for password changes"\n', ''), 'p.yaml')),
    { line: 6, message: 'accept[0] needs "reason" (every accepted finding says why)' },
  );
  assert.equal(lineOf(() => parsePolicy(bad(15, '  maxLayers: 0'), 'p.yaml')).line, 15);
  assert.equal(lineOf(() => parsePolicy(bad(13, '  criticalPorts: { add: ["http"] }'), 'p.yaml')).line, 13);
  assert.equal(lineOf(() => parsePolicy(bad(8, '    reason: "  "'), 'p.yaml')).message, 'accept[0].reason must not be blank');
  assert.equal(lineOf(() => parsePolicy(bad(1, 'version: 2'), 'p.yaml')).message, 'version must be 1');
  assert.equal(lineOf(() => parsePolicy(`${EXAMPLE}data: {}\n`, 'p.yaml')).line, 18, 'a duplicate key');
  assert.equal(
    lineOf(() => parsePolicy(bad(3, '  layer-count: { disabled: true'), 'p.yaml')).line,
    4,
    'unclosed flow mapping: where the parser noticed',
  );
});

test('a JSON policy is YAML too, with its lines', () => {
  const json = '{\n  "version": 1,\n  "checks": {\n    "suid": { "severity": "Urgent" }\n  }\n}\n';
  assert.deepEqual(
    lineOf(() => parsePolicy(json, 'p.yaml')),
    { line: 4, message: 'checks.suid.severity must be one of Critical, High, Medium, Low' },
  );
});

test('an object policy (the library API) is refused naming the key', () => {
  assert.throws(
    () => checkPolicy({ version: 1, accept: [{ check: 'suid', paths: ['/x'] }] }),
    (err: unknown) => err instanceof OciScanError && err.code === 'USAGE' && /accept\[0\] needs "reason"/.test(err.message),
  );
  assert.throws(() => checkPolicy({ version: 1, checks: { nope: { disabled: true } } }), /"nope" that is not a check id/);
  assert.deepEqual(checkPolicy({ version: 1 }), { version: 1 });
});

test('data.secretFiles: a rule regex that does not compile or backtracks catastrophically is a one-line usage error naming it', () => {
  const policy = (regex: string): unknown => ({
    version: 1,
    data: { secretFiles: { addNames: ['vault.yaml'], removeRules: ['npm-token'], addRules: [{ id: 'acme-key', regex }] } },
  });
  assert.throws(
    () => checkPolicy(policy('acme_[')),
    (err: unknown) =>
      err instanceof OciScanError &&
      err.code === 'USAGE' &&
      /data\.secretFiles\.addRules\[0\]\.regex is not a valid JavaScript regular expression/.test(err.message) &&
      !err.message.includes('\n'),
  );
  assert.throws(() => checkPolicy(policy('(\\w+)*@')), /addRules\[0\]\.regex has a quantified group that holds a quantifier/);
  assert.throws(
    () => checkPolicy({ version: 1, data: { secretFiles: { addRules: [{ id: 'Bad Id', regex: 'x' }] } } }),
    /addRules\[0\]\.id/,
  );
  assert.deepEqual(checkPolicy(policy('acme_[0-9a-f]{32}')), policy('acme_[0-9a-f]{32}'));
  assert.deepEqual(checkPolicy({ version: 1, checks: { 'secret-files': { severity: 'High' } } }), {
    version: 1,
    checks: { 'secret-files': { severity: 'High' } },
  });
});

test('hostile policies (docs/security.md, "Limits"): alias bombs and files over 1 MiB are refused', async () => {
  const laughs = ['version: 1', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++)
    laughs.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    );
  assert.throws(
    () => parsePolicy(laughs.join('\n'), 'p.yaml'),
    (err: unknown) => err instanceof OciScanError && err.code === 'USAGE' && /^policy p\.yaml: cannot be read/.test(err.message),
  );
  const { dir, cleanup } = await tempDir();
  try {
    const big = join(dir, 'big.yaml');
    await writeFile(big, `version: 1\n#${'x'.repeat(MAX_POLICY_BYTES)}\n`);
    await assert.rejects(
      loadPolicyFile(big),
      (err: unknown) => err instanceof OciScanError && err.code === 'USAGE' && /larger than 1048576 bytes/.test(err.message),
    );
  } finally {
    await cleanup();
  }
});
