/**
 * The extended checks (docs/checks.md, "Extended checks") as pure functions of their input:
 * config, history (created_by lines as the classic builder, buildah, BuildKit and kaniko write
 * them) and the final filesystem recorded by test/helpers/check-input.ts. Every false alarm
 * the rules avoid has a test of its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addInstructionCheck } from '../../../src/checks/add-instruction.js';
import { buildHistoryCheck } from '../../../src/checks/build-history.js';
import { duplicateIdsCheck } from '../../../src/checks/duplicate-ids.js';
import { emptyPasswordCheck } from '../../../src/checks/empty-password.js';
import { healthcheckCheck } from '../../../src/checks/healthcheck.js';
import { historySteps, parseCreatedBy } from '../../../src/checks/history.js';
import { fingerprint } from '../../../src/checks/redact.js';
import {
  createSecretsEnvCheck,
  notSecretBecause,
  secretNameRule,
  secretsEnvCheck,
  shellAssignments,
  urlPasswords,
} from '../../../src/checks/secrets-env.js';
import { sensitiveVolumesCheck } from '../../../src/checks/sensitive-volumes.js';
import type { Check, CheckOutcome } from '../../../src/checks/types.js';
import type { HistoryEntry, RuntimeConfig } from '../../../src/image/config.js';
import { checkInput, testDigest, type TestEntry } from '../../helpers/check-input.js';

const D1 = testDigest(0);
const D2 = testDigest(1);
const file = (path: string, content: string): TestEntry => ({ type: 'file', path, content });

/** A history entry as the classic builder writes it (`#(nop)` for instructions that make no layer). */
const nop = (line: string): HistoryEntry => ({ created_by: `/bin/sh -c #(nop)  ${line}`, author: '', comment: '', empty_layer: true });
const layer = (createdBy: string): HistoryEntry => ({ created_by: createdBy, author: '', comment: '', empty_layer: false });
const BASE_ROOTFS = layer('/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ');

/** Runs `check` (a synchronous one) on an image of `entries` in one layer (two when history says so), `config` and `history`. */
function run(check: Check, spec: { config?: RuntimeConfig; history?: HistoryEntry[]; layers?: TestEntry[][] } = {}): CheckOutcome {
  const layers = (spec.layers ?? [[]]).map((entries) => ({ entries }));
  const outcome = check.run(
    checkInput({ layers, config: spec.config ?? {}, ...(spec.history ? { history: spec.history } : {}), watch: check.watchPaths ?? [] }),
  );
  assert.ok(!(outcome instanceof Promise));
  return outcome;
}

/** The description of `secrets-env` for `Env` entries, asserting the check fails. */
function secretsOf(env: string[], history: HistoryEntry[] = []): string {
  const r = run(secretsEnvCheck, { config: { Env: env }, history, layers: history.filter((h) => !h.empty_layer).map(() => []) });
  assert.equal(r.pass, false, r.description);
  return r.description;
}

/** Asserts `secrets-env` passes for `Env` entries (and history). */
function noSecrets(env: string[], history: HistoryEntry[] = []): void {
  const r = run(secretsEnvCheck, { config: { Env: env }, history, layers: history.filter((h) => !h.empty_layer).map(() => []) });
  assert.equal(r.pass, true, r.description);
}

describe('the history parser', () => {
  const cases: Array<[string, string, ReturnType<typeof parseCreatedBy>]> = [
    ['classic ENV', '/bin/sh -c #(nop)  ENV A=1 B="x y"', { instruction: 'ENV', args: 'A=1 B="x y"', buildArgs: [] }],
    ['classic ADD', '/bin/sh -c #(nop) ADD file:abc in /app/ ', { instruction: 'ADD', args: 'file:abc in /app/', buildArgs: [] }],
    ['classic RUN', '/bin/sh -c apt-get update', { instruction: 'RUN', args: 'apt-get update', buildArgs: [] }],
    [
      'classic RUN with build arguments',
      '|2 A=1 TOKEN=s3cr3t /bin/sh -c make',
      { instruction: 'RUN', args: 'make', buildArgs: ['A=1', 'TOKEN=s3cr3t'] },
    ],
    ['BuildKit RUN', 'RUN /bin/sh -c apt-get update # buildkit', { instruction: 'RUN', args: 'apt-get update', buildArgs: [] }],
    [
      'BuildKit RUN with build arguments',
      'RUN |1 A=1 /bin/sh -c make # buildkit',
      { instruction: 'RUN', args: 'make', buildArgs: ['A=1'] },
    ],
    ['BuildKit ENV', 'ENV PATH=/usr/bin', { instruction: 'ENV', args: 'PATH=/usr/bin', buildArgs: [] }],
    ['kaniko RUN', 'RUN apt-get update', { instruction: 'RUN', args: 'apt-get update', buildArgs: [] }],
    ['bash with pipefail', '/bin/bash -o pipefail -c curl x | sh', { instruction: 'RUN', args: 'curl x | sh', buildArgs: [] }],
    ['no instruction', 'created by a tool', { args: 'created by a tool', buildArgs: [] }],
  ];
  for (const [name, text, expected] of cases) it(name, () => assert.deepEqual(parseCreatedBy(text), expected));

  it('names the layer of each non-empty entry when the history lines up with the layers, none otherwise', () => {
    const history = [BASE_ROOTFS, nop('CMD ["sh"]'), layer('/bin/sh -c true')];
    assert.deepEqual(
      historySteps({ history }, [D1, D2]).map((s) => s.layer),
      [D1, undefined, D2],
    );
    assert.deepEqual(
      historySteps({ history }, [D1]).map((s) => s.layer),
      [undefined, undefined, undefined],
    );
  });
});

describe('fingerprint', () => {
  it('shows at most 4 leading characters, the length and a sha256 prefix', () => {
    assert.equal(fingerprint('AKIAIOSFODNN7EXAMPLE'), '"AKIA…" (20 chars, sha256:1a5d44a2)');
  });
  it('shows at most a quarter of a short secret', () => {
    assert.match(fingerprint('hunter2'), /^"h…" \(7 chars, sha256:[0-9a-f]{8}\)$/);
    assert.match(fingerprint('abc'), /^"…" \(3 chars, /);
  });
});

describe('healthcheck', () => {
  it('fails without a Healthcheck', () =>
    assert.deepEqual(run(healthcheckCheck), { pass: false, description: 'HEALTHCHECK is not defined' }));
  it('fails on HEALTHCHECK NONE', () =>
    assert.equal(
      run(healthcheckCheck, { config: { Healthcheck: { Test: ['NONE'], Interval: 0, Timeout: 0, StartPeriod: 0, Retries: 0 } } }).pass,
      false,
    ));
  it('fails on a CMD without a command', () =>
    assert.equal(
      run(healthcheckCheck, { config: { Healthcheck: { Test: ['CMD'], Interval: 0, Timeout: 0, StartPeriod: 0, Retries: 0 } } }).pass,
      false,
    ));
  it('passes with a command, which it does not quote', () => {
    const r = run(healthcheckCheck, {
      config: {
        Healthcheck: { Test: ['CMD-SHELL', 'curl -f http://u:pw@localhost/'], Interval: 0, Timeout: 0, StartPeriod: 0, Retries: 0 },
      },
    });
    assert.deepEqual(r, { pass: true, description: 'HEALTHCHECK is defined (CMD-SHELL)' });
  });
});

describe('sensitive-volumes', () => {
  for (const v of ['/', '/proc', '/sys/fs/cgroup', '/dev', '/var/run/docker.sock', '/run/docker.sock']) {
    it(`fails on ${v}`, () =>
      assert.deepEqual(run(sensitiveVolumesCheck, { config: { Volumes: { [v]: {} } } }), {
        pass: false,
        description: `Sensitive VOLUME: ${v}`,
      }));
  }
  it('normalises the path it compares, and names both forms', () => {
    assert.deepEqual(run(sensitiveVolumesCheck, { config: { Volumes: { '//var/run/./docker.sock/': {} } } }), {
      pass: false,
      description: 'Sensitive VOLUME: "//var/run/./docker.sock/" (/var/run/docker.sock)',
    });
  });
  it('passes on application volumes, including names that only start like a sensitive one', () => {
    assert.deepEqual(run(sensitiveVolumesCheck, { config: { Volumes: { '/data': {}, '/proceedings': {}, '/var/run/app.sock': {} } } }), {
      pass: true,
      description: 'No sensitive VOLUME among 3',
    });
  });
});

describe('add-instruction', () => {
  it('does not count the base root filesystem', () => {
    assert.equal(run(addInstructionCheck, { history: [BASE_ROOTFS, nop('CMD ["sh"]')], layers: [[]] }).pass, true);
  });
  it('fails on a later ADD of local content, naming the entry and its layer', () => {
    const r = run(addInstructionCheck, {
      history: [BASE_ROOTFS, layer('/bin/sh -c #(nop) ADD file:0123456789abcdef0123 in /app/ ')],
      layers: [[], []],
    });
    assert.deepEqual(r, {
      pass: false,
      description: `history entry 1 (ADD, layer ${D2}): ADD of local content (file:0123456789ab…) into /app/`,
    });
  });
  it('says when an ADD fetched a URL, naming the host only (never its credentials or query)', () => {
    const r = run(addInstructionCheck, {
      history: [BASE_ROOTFS, layer('ADD https://user:hunter2@example.com:8443/x.tgz?sig=abc /opt/ # buildkit')],
      layers: [[], []],
    });
    assert.equal(r.pass, false);
    assert.match(r.description, /ADD fetched a URL \(from example\.com:8443\) into \/opt\//);
    assert.doesNotMatch(r.description, /hunter2|sig=abc/);
  });
  it('does not count the root filesystem when buildah marked its entry empty_layer (a build without --layers)', () => {
    const squashed = [
      { ...BASE_ROOTFS, empty_layer: true },
      { ...layer('/bin/sh -c apt-get update'), empty_layer: true },
      layer('/bin/sh -c #(nop) CMD ["sh"]'),
    ];
    assert.equal(run(addInstructionCheck, { history: squashed, layers: [[]] }).pass, true);
  });
  it('counts an ADD to / that came after other content', () => {
    assert.equal(
      run(addInstructionCheck, { history: [BASE_ROOTFS, layer('/bin/sh -c #(nop) ADD file:abc in / ')], layers: [[], []] }).pass,
      false,
    );
  });
});

describe('build-history', () => {
  const fails = (command: string, problem: RegExp): void => {
    const r = run(buildHistoryCheck, { history: [BASE_ROOTFS, layer(`/bin/sh -c ${command}`)], layers: [[], []] });
    assert.equal(r.pass, false, command);
    assert.match(r.description, problem);
    assert.match(r.description, /^history entry 1 \(RUN, layer /);
  };
  const passes = (command: string): void => {
    const r = run(buildHistoryCheck, { history: [BASE_ROOTFS, layer(`/bin/sh -c ${command}`)], layers: [[], []] });
    assert.equal(r.pass, true, `${command}: ${r.description}`);
  };
  it('apt-get update alone fails', () => fails('apt-get update', /apt-get update without an install/));
  it('apt-get update with an install in the same RUN passes', () =>
    passes('apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*'));
  it('apk update alone fails', () => fails('apk update', /apk update without an add/));
  it('dist-upgrade fails', () => fails('apt-get update && apt-get -y dist-upgrade', /dist-upgrade/));
  it('sudo at a command start fails', () => fails('sudo make install', /sudo used/));
  it('installing the sudo package is not using sudo', () => passes('apt-get update && apt-get install -y sudo'));
  it('curl piped to sh fails', () => fails('curl -fsSL https://example.com/install.sh | sh', /remote script piped to a shell/));
  it('wget -O- piped to bash fails', () => fails('wget -qO- https://example.com/x | sudo -E bash -', /remote script piped to a shell/));
  it('sh -c "$(curl …)" fails', () => fails('sh -c "$(curl -fsSL https://example.com/x)"', /remote script/));
  it('curl to a file, then a checksum, passes', () =>
    passes('curl -fsSLo /tmp/x https://example.com/x && echo "abc  /tmp/x" | sha256sum -c - && sh /tmp/x'));
  it('never quotes the command', () => {
    const r = run(buildHistoryCheck, { history: [layer('/bin/sh -c TOKEN=hunter2 curl -fsSL https://example.com/x | sh')], layers: [[]] });
    assert.equal(r.pass, false);
    assert.doesNotMatch(r.description, /hunter2|example\.com/);
  });
});

describe('empty-password', () => {
  const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n';
  it('fails on an empty field in /etc/shadow, naming the account and the file with its layer', () => {
    const r = run(emptyPasswordCheck, {
      layers: [[file('etc/passwd', PASSWD), file('etc/shadow', 'root::19000:0:99999:7:::\napp:!:19000::::::\n')]],
    });
    assert.deepEqual(r, {
      pass: false,
      description: 'Login without a password: empty password field in /etc/shadow for root',
      files: [{ [D1]: ['/etc/shadow'] }],
    });
  });
  it('fails on an empty field in /etc/passwd (where shadow is not consulted)', () => {
    const r = run(emptyPasswordCheck, { layers: [[file('etc/passwd', 'root::0:0:root:/root:/bin/sh\n')]] });
    assert.deepEqual(r, {
      pass: false,
      description: 'Login without a password: empty password field in /etc/passwd for root',
      files: [{ [D1]: ['/etc/passwd'] }],
    });
  });
  for (const [name, field] of [
    ['locked !', '!'],
    ['star', '*'],
    ['double bang', '!!'],
    ['locked hash', '!$6$abc$def'],
    ['hash', '$6$salt$hash'],
  ] as const) {
    it(`${name} is not empty`, () =>
      assert.equal(
        run(emptyPasswordCheck, { layers: [[file('etc/passwd', PASSWD), file('etc/shadow', `root:${field}:19000:0:99999:7:::\n`)]] }).pass,
        true,
      ));
  }
  it('names the layer that wrote the file last', () => {
    const r = run(emptyPasswordCheck, { layers: [[file('etc/shadow', 'root:*:1::::::\n')], [file('etc/shadow', 'root::1::::::\n')]] });
    assert.deepEqual(r.files, [{ [D2]: ['/etc/shadow'] }]);
  });
  it('passes when a later layer locks the account', () => {
    assert.equal(
      run(emptyPasswordCheck, { layers: [[file('etc/shadow', 'root::1::::::\n')], [file('etc/shadow', 'root:*:1::::::\n')]] }).pass,
      true,
    );
  });
  it('passes without account files', () =>
    assert.deepEqual(run(emptyPasswordCheck), { pass: true, description: 'No /etc/shadow or /etc/passwd' }));
});

describe('duplicate-ids', () => {
  it('fails on a second uid 0 and a shared gid, naming both files', () => {
    const r = run(duplicateIdsCheck, {
      layers: [
        [
          file('etc/passwd', 'root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n'),
          file('etc/group', 'root:x:0:\napp:x:1000:\nstaff:x:1000:\n'),
        ],
      ],
    });
    assert.deepEqual(r, {
      pass: false,
      description: 'Duplicate ids: /etc/passwd: uid 0 (root): root, toor; /etc/group: gid 1000: app, staff',
      files: [{ [D1]: ['/etc/group', '/etc/passwd'] }],
    });
  });
  it('compares ids as numbers (007 is 7)', () => {
    assert.equal(run(duplicateIdsCheck, { layers: [[file('etc/passwd', 'a:x:7:7::/:/bin/sh\nb:x:007:7::/:/bin/sh\n')]] }).pass, false);
  });
  it('passes when every id is its own', () => {
    assert.deepEqual(
      run(duplicateIdsCheck, {
        layers: [
          [file('etc/passwd', 'root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n'), file('etc/group', 'root:x:0:\napp:x:1000:\n')],
        ],
      }),
      { pass: true, description: 'No duplicate uid or gid' },
    );
  });
});

describe('secrets-env: what is a credential', () => {
  it('an AWS access key id in Env, whatever the name: redacted', () => {
    const d = secretsOf(['PATH=/usr/bin', 'MY_SETTING=AKIAIOSFODNN7EXAMPLE']);
    assert.equal(d, 'Credentials found (values redacted): MY_SETTING (AWS access key id) in Env: "AKIA…" (20 chars, sha256:1a5d44a2)');
  });
  it('a password by its name', () =>
    assert.match(
      secretsOf(['DB_PASSWORD=correct-horse-battery']),
      /^Credentials found \(values redacted\): DB_PASSWORD in Env: "corr…" \(21 chars, sha256:[0-9a-f]{8}\)$/,
    ));
  it('camelCase and compact names', () => {
    assert.match(secretsOf(['dbPassword=correct-horse']), /dbPassword in Env/);
    assert.match(secretsOf(['MYSQLPASSWORD=correct-horse']), /MYSQLPASSWORD in Env/);
  });
  it('a URL with a password: only the password is fingerprinted', () => {
    const d = secretsOf(['DATABASE_URL=postgres://app:hunter22@db:5432/app']);
    assert.match(d, /DATABASE_URL \(password in a URL\) in Env: "hu…" \(8 chars/);
  });
  for (const [kind, value] of [
    ['GitHub', `ghp_${'a'.repeat(36)}`],
    ['GitLab', `glpat-${'b'.repeat(20)}`],
    ['Slack', 'xoxb-1234567890-abcdefghij'],
    ['npm', `npm_${'c'.repeat(36)}`],
    ['PyPI', `pypi-${'d'.repeat(40)}`],
  ] as const) {
    it(`a ${kind} token by its shape`, () => {
      const d = secretsOf([`SOMETHING=${value}`]);
      assert.match(d, new RegExp(`${kind} token`));
      assert.ok(!d.includes(value));
    });
  }
  it('ENV in the history, with its entry and layer', () => {
    const d = secretsOf([], [BASE_ROOTFS, nop('ENV API_TOKEN=abcdef123456')]);
    assert.match(d, /API_TOKEN in history entry 1 \(ENV\): "abc…" \(12 chars/);
  });
  it('ARG defaults and RUN build arguments in the history', () => {
    assert.match(secretsOf([], [nop('ARG NPM_TOKEN=s3cr3t-value')]), /NPM_TOKEN in history entry 0 \(ARG\)/);
    assert.match(
      secretsOf([], [layer('|1 GITHUB_TOKEN=s3cr3t-value /bin/sh -c make')]),
      /GITHUB_TOKEN in history entry 0 \(RUN, layer [^)]+\) build argument/,
    );
  });
  it('assignments of a RUN command: X=… cmd, export X=…', () => {
    assert.match(secretsOf([], [layer('/bin/sh -c SECRET_KEY=abc123xyz make')]), /SECRET_KEY in history entry 0/);
    assert.match(secretsOf([], [layer('/bin/sh -c set -e; export API_KEY="k-123456"; make')]), /API_KEY in history entry 0/);
  });
  it('a token anywhere in a RUN line', () => {
    assert.match(
      secretsOf([], [layer(`/bin/sh -c curl -H "Authorization: token ghp_${'e'.repeat(36)}" https://api.github.com/`)]),
      /^Credentials found \(values redacted\): GitHub token in history entry 0/,
    );
  });
  it('a policy adds a key word, removes one, ignores a name', () => {
    const env = { config: { Env: ['SENTRY_DSN=https://abc@sentry.io/1', 'SESSION_TOKEN=abcdefgh', 'TOKEN_ISSUER=acme'] } };
    assert.match(run(createSecretsEnvCheck({ addKeys: ['DSN'] }), env).description, /SENTRY_DSN in Env/);
    assert.equal(run(createSecretsEnvCheck({ removeKeys: ['TOKEN'] }), { config: { Env: ['SESSION_TOKEN=abcdefgh'] } }).pass, true);
    assert.equal(run(createSecretsEnvCheck({ ignoreNames: ['TOKEN_ISSUER'] }), { config: { Env: ['TOKEN_ISSUER=acme'] } }).pass, true);
    assert.equal(run(secretsEnvCheck, { config: { Env: ['TOKEN_ISSUER=acme'] } }).pass, false);
  });
});

describe('secrets-env: false alarms it does not raise', () => {
  it('package pins in a RUN line (libcrypto3=3.1.4-r1)', () =>
    noSecrets([], [layer('/bin/sh -c apk add --no-cache libcrypto3=3.1.4-r1 libssl3=3.1.4-r1 secret-tool=0.20-1')]));
  it('a package pin read as an assignment is not a credential either', () =>
    assert.equal(notSecretBecause('libsecret', '0.20.5-r0'), 'a package pin'));
  it('GPG_KEY holding a key fingerprint', () =>
    noSecrets([
      'GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D',
      'NODE_GPG_KEYS=4ED778F539E3634C779C87C6D7062848A1AB005C 141F07595B7B3FFE74309A937405533BE57C7D57',
    ]));
  it('PASSWORD_FILE=/run/secrets/x', () => noSecrets(['PASSWORD_FILE=/run/secrets/db', 'MYSQL_ROOT_PASSWORD_FILE=/run/secrets/root']));
  it('a path as a password value', () => noSecrets(['DB_PASSWORD=/run/secrets/db']));
  it('$VAR references', () =>
    noSecrets(
      ['DB_PASSWORD=$DB_PASSWORD_FROM_VAULT', 'API_TOKEN=${API_TOKEN}'],
      [layer('/bin/sh -c TOKEN=$(cat /run/secrets/t) make'), nop('ENV REPO_URL=https://ci:${CI_TOKEN}@git.example.com/x.git')],
    ));
  it('empty values', () => noSecrets(['DB_PASSWORD='], [nop('ARG NPM_TOKEN'), nop('ARG GITHUB_TOKEN='), nop('ENV API_KEY=""')]));
  it('well-known non-secret names: *_VERSION, *_SHA256, *_URL without credentials', () =>
    noSecrets([
      'TOKEN_VERSION=1.2',
      'SECRET_TOOL_SHA256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'TOKEN_URL=https://auth.example.com/token',
    ]));
  it('flags', () => noSecrets(['USE_TOKEN=true', 'PASSWORD_AUTH=no']));
  it('names that only contain a key word inside another word', () => noSecrets(['SECRETS_DIR=secrets', 'TOKENIZER=bert', 'BYPASS=maybe']));
});

describe('the key-name rule', () => {
  const isSecret = secretNameRule();
  for (const name of [
    'PASSWORD',
    'DB_PASSWORD',
    'AWS_SECRET_ACCESS_KEY',
    'GITHUB_TOKEN',
    'api-key',
    'stripeApiKey',
    'PRIVATE_KEY',
    'DB_PASS',
  ])
    it(`${name} names a credential`, () => assert.ok(isSecret(name)));
  for (const name of ['PATH', 'GPG_KEY', 'TOKENIZER', 'PASS_MAX_DAYS', 'BYPASS', 'PASSWORD_FILE', 'TOKEN_URL', 'NODE_VERSION', 'KEYBOARD'])
    it(`${name} does not`, () => assert.ok(!isSecret(name)));
});

describe('URL passwords', () => {
  it('the password of each URL with userinfo; none for a user alone, a $VAR, or an @ after the path', () => {
    assert.deepEqual(
      urlPasswords(
        'git clone https://ci:tok3n@git.example.com/x.git; curl ftp://anon@h/ https://u:$T@h/ https://h/a:b@c redis://:pw@cache:6379',
      ),
      ['tok3n', 'pw'],
    );
  });
});

describe('shell assignments', () => {
  it('only at a command start, after export/env, never as arguments', () => {
    assert.deepEqual(shellAssignments('A=1 B="two words" make X=3 && export C=4 D=5; env E=6 run; apk add libcrypto3=3.1.4-r1'), [
      { name: 'A', value: '1' },
      { name: 'B', value: 'two words' },
      { name: 'C', value: '4' },
      { name: 'D', value: '5' },
      { name: 'E', value: '6' },
    ]);
  });
});
