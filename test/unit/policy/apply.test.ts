/**
 * Applying a policy (src/policy/apply.ts): checks built from its data with their matchers'
 * fingerprints following the data, rules per image, accepted findings moved out of outcomes
 * (never from layers whose findings were not all listed, never passing unverified layers),
 * and one warning per expired acceptance. Also the library API with a policy object.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { scan, OciScanError, type Policy } from 'oci-scan';
import { ALL_CHECKS, createChecks, matchersOf } from '../../../src/checks/index.js';
import type { Check, CheckOutcome } from '../../../src/checks/types.js';
import { createFileExtendedChecks } from '../../../src/checks/extended-files.js';
import { acceptFindings, activeAcceptances, checkDataOf, policyChecks } from '../../../src/policy/apply.js';
import type { Acceptance } from '../../../src/policy/types.js';
import { factsKey } from '../../../src/store/facts-store.js';
import { checkInput } from '../../helpers/check-input.js';

const L1 = `sha256:${'1'.repeat(64)}`;
const L2 = `sha256:${'2'.repeat(64)}`;
const suid = ALL_CHECKS.find((c) => c.id === 'suid') as Check;
const scanned = { notScanned: [] };

const failing: CheckOutcome = {
  pass: false,
  description: 'Found file',
  files: [{ [L1]: ['/usr/bin/passwd', '/usr/bin/su'] }, { [L2]: ['/opt/x'] }],
};
const rule = (paths: string[], extra: Partial<Acceptance> = {}): Acceptance => ({ check: 'suid', paths, reason: 'known', ...extra });

test('fingerprints follow the data: other names, other facts-store keys', () => {
  const key = (checks: readonly Check[]): string => factsKey(L1, { matchers: matchersOf(checks), watchPaths: new Set() });
  const base = key(ALL_CHECKS);
  assert.equal(key(createChecks({})), base, 'no data: the default checks, the same key');
  assert.equal(key(createChecks({ maxLayers: 5, requiredLabels: ['x'] })), base, 'config-only data reads no layer');
  assert.notEqual(key(createChecks({ compilers: { add: ['tinycc'] } })), base);
  assert.notEqual(key(createChecks({ compilers: { remove: ['go'] } })), base);
  assert.notEqual(key(createChecks({ programsOf: { sudo: ['doas'] } })), base);
  assert.notEqual(key(createChecks({ forbiddenPrograms: ['telnet'] })), base);
  assert.notEqual(key(createChecks({ forbiddenPrograms: ['telnet'] })), key(createChecks({ forbiddenPrograms: ['rsh'] })));
});

test('policyChecks: rules apply to the images their globs match; a disabled check reads nothing and passes', () => {
  const policy: Policy = {
    version: 1,
    checks: { suid: { disabled: true, images: ['registry.local/team/*'] }, compilers: { severity: 'Low' } },
  };
  const team = policyChecks(policy, 'registry.local/team/app:1.0');
  const other = policyChecks(policy, 'registry.local/other/app:1.0');
  const teamSuid = team.find((c) => c.id === 'suid');
  assert.equal(teamSuid?.matcher, undefined);
  assert.deepEqual(teamSuid?.run({} as never), { pass: true, description: 'Disabled by policy' });
  assert.equal(
    other.find((c) => c.id === 'suid'),
    suid,
  );
  assert.equal(team.find((c) => c.id === 'compilers')?.severity, 'Low');
  assert.deepEqual(
    team.map((c) => c.id),
    ALL_CHECKS.map((c) => c.id),
    'same checks, same order',
  );
});

test('checkDataOf: ports default to tcp; per-check names only where given', () => {
  const data = checkDataOf({
    version: 1,
    data: { criticalPorts: { add: ['8080', '53/udp'] }, forbiddenPrograms: { sudo: { add: ['doas'] } } },
  });
  assert.deepEqual(
    data.criticalPorts?.map((p) => `${p.port}/${p.protocol}`),
    ['8080/tcp', '53/udp'],
  );
  assert.deepEqual(data.programsOf, { sudo: ['doas'] });
  assert.equal(data.forbiddenPrograms, undefined);
});

test('checkDataOf: data.secretFiles reaches the secret-files check built from it', async () => {
  const data = checkDataOf({ version: 1, data: { secretFiles: { addNames: ['vault-token'] } } });
  assert.deepEqual(data.secretFiles, { addNames: ['vault-token'] });
  const check = createFileExtendedChecks(data).find((c) => c.id === 'secret-files');
  assert.ok(check);
  const outcome = await check.run(
    checkInput({ layers: [{ entries: [{ type: 'file', path: 'app/vault-token', content: 's' }] }], checks: [check] }),
  );
  assert.equal(outcome.pass, false);
});

test('acceptFindings: partial acceptance keeps the check failing and says how many; full acceptance passes', () => {
  const partial = acceptFindings(suid, failing, scanned, [rule(['/usr/bin/*'])]);
  assert.equal(partial.pass, false);
  assert.deepEqual(partial.files, [{ [L2]: ['/opt/x'] }]);
  assert.deepEqual(
    partial.accepted?.map((a) => `${a.Layer === L1 ? 1 : 2}:${a.Path}`),
    ['1:/usr/bin/passwd', '1:/usr/bin/su'],
  );
  assert.equal(partial.description, 'Found file (2 accepted by policy)');

  const all = acceptFindings(suid, failing, scanned, [rule(['/usr/bin/*']), rule(['/opt/**'], { expires: '2999-01-01' })]);
  assert.equal(all.pass, true);
  assert.equal(all.files, undefined);
  assert.equal(all.description, 'All findings accepted by policy (3 accepted)');
  assert.deepEqual(all.accepted?.[2], { Layer: L2, Path: '/opt/x', Reason: 'known', Expires: '2999-01-01' });

  assert.equal(acceptFindings(suid, failing, scanned, [{ ...rule(['/**']), check: 'sgid' }]), failing, "another check's rule");
});

test('acceptFindings: a layer whose findings were not all listed is left as it is; unverified layers keep the check failing', () => {
  const truncated: CheckOutcome = { ...failing, counts: { [L1]: 5000 } };
  const r = acceptFindings(suid, truncated, scanned, [rule(['/**'])]);
  assert.equal(r.pass, false);
  assert.deepEqual(r.files, [{ [L1]: ['/usr/bin/passwd', '/usr/bin/su'] }]);
  assert.deepEqual(
    r.accepted?.map((a) => a.Path),
    ['/opt/x'],
  );

  const unverified = acceptFindings(suid, failing, { notScanned: [{ digest: L2, reason: 'foreign' }] }, [rule(['/**'])]);
  assert.equal(unverified.pass, false);
  assert.equal(unverified.files, undefined);
  assert.equal(unverified.accepted?.length, 3);
});

test('activeAcceptances: expired ones are left out with one warning each, whatever the images; image globs apply', () => {
  const old = rule(['/**'], { expires: '2026-01-31' });
  const today = rule(['/**'], { expires: '2026-02-01' });
  const scoped = rule(['/**'], { images: ['registry.local/team/*'] });
  const policy: Policy = { version: 1, accept: [old, today, scoped] };
  const warned: Acceptance[] = [];
  const now = new Date('2026-02-01T23:59:00Z');
  assert.deepEqual(
    activeAcceptances(policy, 'registry.local/team/a:1', now, (r) => warned.push(r)),
    [today, scoped],
    'an acceptance holds through its expiry day',
  );
  assert.deepEqual(
    activeAcceptances(policy, 'other/b:1', now, (r) => warned.push(r)),
    [today],
  );
  assert.deepEqual(warned, [old]);
});

const demo = fileURLToPath(new URL('../../../../fixtures/demo', import.meta.url));

test('library API: scan(input, { policy }) applies the same policy object; a bad one rejects with USAGE', async () => {
  const policy = {
    version: 1,
    checks: { 'layer-count': { disabled: true } },
    accept: [{ check: 'suid', paths: ['/usr/bin/passwd', '/usr/bin/su'], reason: 'demo' }],
    data: { compilers: { remove: ['gcc'] }, forbiddenPrograms: { add: ['gcc-12'] } },
  } satisfies Policy;
  const [result] = await scan(`oci:${demo}:1.0`, { policy });
  const byId = new Map(result?.results.map((r) => [r.Id, r]));
  assert.equal(byId.get('layer-count')?.Description, 'Disabled by policy');
  assert.equal(byId.get('suid')?.Pass, true);
  assert.deepEqual(
    byId.get('suid')?.Accepted?.map((a) => a.Path),
    ['/usr/bin/passwd', '/usr/bin/su'],
  );
  assert.equal(byId.get('compilers')?.Pass, true, 'gcc removed, with its versioned and target-prefixed forms');
  assert.deepEqual(
    byId.get('forbidden-programs')?.Files?.flatMap((l) => Object.values(l).flat()),
    ['/usr/bin/gcc-12'],
  );
  assert.equal(result?.report[`oci:${demo}:1.0`]?.find((r) => r.Id === 'suid')?.Accepted?.length, 2, 'the legacy report carries Accepted');

  await assert.rejects(
    scan(`oci:${demo}:1.0`, { policy: { version: 1, accept: [{ check: 'suid', paths: ['/x'] }] } as unknown as Policy }),
    (err: unknown) => err instanceof OciScanError && err.code === 'USAGE' && /needs "reason"/.test(err.message),
  );
});
