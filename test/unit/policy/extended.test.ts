/**
 * The switch of the extended checks (docs/checks.md, "Extended checks"): `--checks`, a
 * policy's `profile` and `checks.<id>.enabled` decide which run; they follow the 17 (whose
 * positions never move); a policy disables, re-rates and accepts them by path like the 17;
 * what they collect changes the layer-facts key; the audit's verdict key follows the set;
 * `--list-checks` says which are on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scan } from 'oci-scan';
import { ALL_CHECKS, createChecks, EXTENDED_CHECKS, extendedIdsOf, matchersOf, watchPathsOf } from '../../../src/checks/index.js';
import type { Check, CheckOutcome } from '../../../src/checks/types.js';
import { auditVerdictKey } from '../../../src/audit/run.js';
import { checkListText, checkState } from '../../../src/cli/list-checks.js';
import { acceptFindings, checkDataOf, enabledExtended, policyChecks, scanChecks } from '../../../src/policy/apply.js';
import { checkPolicy, parsePolicy } from '../../../src/policy/load.js';
import type { Policy } from '../../../src/policy/types.js';
import { factsKey } from '../../../src/store/facts-store.js';
import { testScanOptions } from '../../helpers/scan.js';

const REF = 'registry.local/team/app:1.0';
const EXTENDED_IDS = EXTENDED_CHECKS.map((c) => c.id);
const DEFAULT_IDS = ALL_CHECKS.map((c) => c.id);
const ids = (checks: readonly Check[]): string[] => checks.map((c) => c.id);

describe('which checks run', () => {
  it('no set and no policy: exactly the 17, ALL_CHECKS itself', () => {
    assert.equal(scanChecks(undefined, REF, undefined, undefined), ALL_CHECKS);
    assert.equal(scanChecks(undefined, REF, undefined, 'default'), ALL_CHECKS);
  });
  it('--checks extended and --checks all: the 17 in their places, then every extended check', () => {
    for (const set of ['extended', 'all'] as const)
      assert.deepEqual(ids(scanChecks(undefined, REF, undefined, set)), [...DEFAULT_IDS, ...EXTENDED_IDS]);
  });
  it('profile: extended in a policy, and forbidden-programs stays right after the 17', () => {
    const policy: Policy = { version: 1, profile: 'extended', data: { forbiddenPrograms: { add: ['telnet'] } } };
    assert.deepEqual(ids(scanChecks(policy, REF, undefined, undefined)), [...DEFAULT_IDS, 'forbidden-programs', ...EXTENDED_IDS]);
  });
  it('--checks overrides the profile; enabled rules still apply', () => {
    const policy: Policy = { version: 1, profile: 'extended', checks: { healthcheck: { enabled: true } } };
    assert.deepEqual(ids(scanChecks(policy, REF, undefined, 'default')), [...DEFAULT_IDS, 'healthcheck']);
  });
  it('checks.<id>.enabled: true adds one check, in the extended order whatever the policy order', () => {
    const policy: Policy = { version: 1, checks: { 'secrets-env': { enabled: true }, healthcheck: { enabled: true } } };
    assert.deepEqual(ids(policyChecks(policy, REF)), [...DEFAULT_IDS, 'healthcheck', 'secrets-env']);
  });
  it('enabled: false leaves one out of an extended profile; images limit a rule', () => {
    const policy: Policy = {
      version: 1,
      profile: 'extended',
      checks: { 'build-history': { enabled: false }, healthcheck: { enabled: false, images: ['registry.local/other/*'] } },
    };
    assert.deepEqual(
      enabledExtended(policy, REF),
      EXTENDED_IDS.filter((id) => id !== 'build-history'),
    );
    assert.deepEqual(
      enabledExtended(policy, 'registry.local/other/x:1'),
      EXTENDED_IDS.filter((id) => id !== 'build-history' && id !== 'healthcheck'),
    );
  });
  it('a disabled extended check stays in its place and passes; a severity rule re-rates it', async () => {
    const policy: Policy = {
      version: 1,
      profile: 'extended',
      checks: { 'secrets-env': { disabled: true }, healthcheck: { severity: 'High' } },
    };
    const checks = policyChecks(policy, REF);
    const secrets = checks.find((c) => c.id === 'secrets-env');
    assert.ok(secrets);
    assert.deepEqual(await secrets.run({} as never), { pass: true, description: 'Disabled by policy' });
    assert.equal(checks.find((c) => c.id === 'healthcheck')?.severity, 'High');
    assert.deepEqual(ids(checks), [...DEFAULT_IDS, ...EXTENDED_IDS]);
  });
  it('the policy data reaches secrets-env', () => {
    const policy: Policy = { version: 1, profile: 'extended', data: { secretEnv: { addKeys: ['DSN'] } } };
    assert.deepEqual(checkDataOf(policy).secretEnv, { addKeys: ['DSN'] });
    const secrets = policyChecks(policy, REF).find((c) => c.id === 'secrets-env');
    const outcome = secrets?.run({
      config: { config: { Env: ['SENTRY_DSN=https://abc@sentry.io/1'] } },
      layers: [],
      notScanned: [],
    } as never) as CheckOutcome;
    assert.equal(outcome.pass, false);
  });
});

describe('the library option', () => {
  it('scan() refuses a checkSet that is no set, naming the values', async () => {
    await assert.rejects(
      scan('oci:/nonexistent', { checkSet: 'most' as never }),
      /scan\(\) option checkSet must be one of default, extended, all/,
    );
  });
});

describe('accepting the findings of an extended check by path', () => {
  it('empty-password: /etc/shadow accepted moves the finding and the check passes', () => {
    const layer = `sha256:${'1'.repeat(64)}`;
    const check = EXTENDED_CHECKS.find((c) => c.id === 'empty-password') as Check;
    const outcome: CheckOutcome = { pass: false, description: 'Login without a password: …', files: [{ [layer]: ['/etc/shadow'] }] };
    const accepted = acceptFindings(check, outcome, { notScanned: [] }, [
      { check: 'empty-password', paths: ['/etc/shadow'], reason: 'root is locked at deploy' },
    ]);
    assert.deepEqual(accepted, {
      pass: true,
      description: 'All findings accepted by policy (1 accepted)',
      accepted: [{ Layer: layer, Path: '/etc/shadow', Reason: 'root is locked at deploy' }],
    });
  });
});

describe('what is collected and what is reused', () => {
  it('the layer-facts key changes when the extended checks need files the 17 do not read', () => {
    const key = (checks: readonly Check[]): string =>
      factsKey(`sha256:${'1'.repeat(64)}`, { matchers: matchersOf(checks), watchPaths: watchPathsOf(checks) });
    assert.notEqual(key(createChecks({}, extendedIdsOf('extended'))), key(ALL_CHECKS));
    assert.ok(watchPathsOf(createChecks({}, extendedIdsOf('extended'))).has('/etc/shadow'));
    // Config-only extended checks collect nothing: the key stays that of the 17.
    assert.equal(key(createChecks({}, ['healthcheck', 'secrets-env'])), key(ALL_CHECKS));
  });
  it('the audit verdict key changes with the check set, and not for default', () => {
    const tool = { name: 'oci-scan', version: '1.0.0' };
    const key = (extra: Parameters<typeof testScanOptions>[0]): string =>
      auditVerdictKey(
        {
          tool,
          scan: {
            ...testScanOptions(extra),
            store: { get: () => Promise.resolve(undefined), put: () => Promise.resolve() },
            session: {} as never,
          },
        },
        new Date('2026-01-01T00:00:00Z'),
      );
    assert.equal(key({ checkSet: 'default' }), key({}));
    assert.notEqual(key({ checkSet: 'extended' }), key({}));
  });
});

describe('the policy file', () => {
  it('accepts profile, enabled and data.secretEnv', () => {
    const policy = parsePolicy(
      'version: 1\nprofile: extended\nchecks:\n  healthcheck: { enabled: false }\ndata:\n  secretEnv: { addKeys: [DSN], removeKeys: [PASS], ignoreNames: [TOKEN_ISSUER] }\n',
      'p.yaml',
    );
    assert.equal(policy.profile, 'extended');
  });
  it('refuses an unknown profile, naming the line', () => {
    assert.throws(
      () => parsePolicy('version: 1\nprofile: everything\n', 'p.yaml'),
      /policy p\.yaml:2: profile must be one of default, extended, all/,
    );
  });
  it('refuses enabled: false on one of the 17 (they hold their places)', () => {
    assert.throws(
      () => checkPolicy({ version: 1, checks: { sudo: { enabled: false } } }),
      /checks\.sudo\.enabled: false is for extended checks only; sudo always runs: use disabled: true/,
    );
  });
  it('accepts the extended ids in checks and accept', () => {
    assert.doesNotThrow(() =>
      checkPolicy({
        version: 1,
        checks: { 'duplicate-ids': { severity: 'High' } },
        accept: [{ check: 'empty-password', paths: ['/etc/shadow'], reason: 'x' }],
      }),
    );
  });
});

describe('--list-checks', () => {
  it('the 17 on, the extended ones off by default; JSON says which set and state', () => {
    const json = JSON.parse(checkListText('json')) as Array<{ id: string; set: string; state: string }>;
    assert.deepEqual(
      json.map((c) => c.id),
      [...DEFAULT_IDS, ...EXTENDED_IDS],
    );
    assert.ok(json.slice(0, 17).every((c) => c.set === 'default' && c.state === 'on'));
    assert.ok(json.slice(17).every((c) => c.set === 'extended' && c.state === 'off'));
  });
  it('with --checks extended, with enabled rules and with disabled ones', () => {
    assert.equal(checkState('healthcheck', true, { checkSet: 'extended' }), 'on');
    assert.equal(checkState('healthcheck', true, { policy: { version: 1, checks: { healthcheck: { enabled: true } } } }), 'on');
    assert.equal(
      checkState('healthcheck', true, { policy: { version: 1, checks: { healthcheck: { enabled: true, images: ['x/*'] } } } }),
      'some images',
    );
    assert.equal(
      checkState('healthcheck', true, { checkSet: 'extended', policy: { version: 1, checks: { healthcheck: { disabled: true } } } }),
      'disabled',
    );
    assert.equal(checkState('sudo', false, { policy: { version: 1, checks: { sudo: { disabled: true } } } }), 'disabled');
  });
  it('the table fits 80 columns and marks checks whose state differs from their section', () => {
    const table = checkListText('table', 80, { policy: { version: 1, checks: { 'secrets-env': { enabled: true } } } });
    assert.ok(
      table.split('\n').every((l) => l.length <= 80),
      table,
    );
    assert.match(table, /^secrets-env +Critical +Credentials in the environment and history \[on\]$/m);
    assert.match(table, /^Extended checks: off unless enabled/m);
  });
});
