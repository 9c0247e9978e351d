/**
 * The extended filesystem checks (docs/checks.md, "Extended checks: the filesystem") as pure
 * functions of their input: layers recorded by the inspector's own recorder for these checks'
 * matchers (test/helpers/check-input.ts), the final filesystem merged by the real mergeLayers.
 * The planted secrets are made up, in the formats the rules know; no report text may hold one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFileExtendedChecks, FILE_EXTENDED_CHECKS, type FileExtendedData } from '../../../src/checks/extended-files.js';
import { fingerprint } from '../../../src/checks/redact.js';
import { secretRuleProblem } from '../../../src/checks/secret-scan.js';
import type { CheckOutcome } from '../../../src/checks/types.js';
import { checkInput, testDigest, type TestEntry, type TestLayer } from '../../helpers/check-input.js';

const D1 = testDigest(0);
const D2 = testDigest(1);

const file = (path: string, content: string | Uint8Array = 'x', mode = 0o644): TestEntry => ({ type: 'file', path, content, mode });
const dir = (path: string, mode = 0o755): TestEntry => ({ type: 'dir', path, mode });
const gone = (path: string): TestEntry => {
  const cut = path.lastIndexOf('/');
  return { type: 'file', path: `${path.slice(0, cut + 1)}.wh.${path.slice(cut + 1)}`, content: '' };
};

/** Made-up credentials in the formats the rules match. */
const NPM_TOKEN = 'npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const GITHUB_TOKEN = 'ghp_Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa';
const AWS_KEY_ID = 'AKIAQWERTYUIOPASDFGH';
const KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\nQyNTUxOQAAACDxEXAMPLExEXAMPLE\n-----END OPENSSH PRIVATE KEY-----\n`;
const PLANTED = [NPM_TOKEN, GITHUB_TOKEN, AWS_KEY_ID, KEY_BODY];

async function run(id: string, layers: readonly TestLayer[], data: FileExtendedData = {}): Promise<CheckOutcome> {
  const checks = createFileExtendedChecks(data);
  const check = checks.find((c) => c.id === id);
  assert.ok(check, id);
  const outcome = await check.run(checkInput({ layers, checks }));
  const text = JSON.stringify(outcome);
  for (const secret of PLANTED) assert.ok(!text.includes(secret), `the outcome holds the secret ${secret.slice(0, 6)}…`);
  return outcome;
}

const oneLayer = (...entries: TestEntry[]): TestLayer[] => [{ entries }];

describe('secret-files', () => {
  it('fails on an .npmrc with a token, naming the rule, the line and the fingerprint', async () => {
    const out = await run(
      'secret-files',
      oneLayer(file('root/.npmrc', `registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n`)),
    );
    assert.equal(out.pass, false);
    assert.deepEqual(out.files, [{ [D1]: ['/root/.npmrc'] }]);
    assert.match(
      out.description,
      new RegExp(`/root/\\.npmrc: npmrc-token line 2: ${fingerprint(NPM_TOKEN).replace(/[()]/g, '\\$&')}, npm-token line 2`),
    );
  });

  it('passes an .npmrc that takes its token from the environment, and one without a token', async () => {
    assert.equal((await run('secret-files', oneLayer(file('root/.npmrc', '//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n')))).pass, true);
    assert.equal(
      (await run('secret-files', oneLayer(file('home/app/.npmrc', 'registry=https://npm.example.com/\nfund=false\n')))).pass,
      true,
    );
  });

  it('fails on an SSH private key, by its name and by its content', async () => {
    const out = await run('secret-files', oneLayer(file('root/.ssh/id_ed25519', PRIVATE_KEY, 0o600)));
    assert.equal(out.pass, false);
    assert.match(
      out.description,
      /\/root\/\.ssh\/id_ed25519: ssh-private-key-file: a credential file by its name \(\d+ bytes\), private-key line 2: /,
    );
  });

  it('reports a secret a later layer deletes in the layer that added it, as removed later', async () => {
    const out = await run('secret-files', [
      { entries: [file('app/config/deploy.yml', `github:\n  token: ${GITHUB_TOKEN}\n`)] },
      { entries: [gone('app/config/deploy.yml')] },
    ]);
    assert.equal(out.pass, false);
    assert.deepEqual(out.files, [{ [D1]: ['/app/config/deploy.yml'] }]);
    assert.match(out.description, /github-token line 2: "ghp_…" \(40 chars, sha256:[0-9a-f]{8}\)/);
    assert.match(
      out.description,
      /removed from the final filesystem by a later layer, still present in the image's layers: \/app\/config\/deploy\.yml/,
    );
  });

  it('does not take a public key, a certificate, an example .env or prose about AKIA for a secret', async () => {
    const out = await run(
      'secret-files',
      oneLayer(
        file('etc/app/public.pem', `-----BEGIN PUBLIC KEY-----\n${KEY_BODY}\n-----END PUBLIC KEY-----\n`),
        file('etc/app/server.pem', `-----BEGIN CERTIFICATE-----\n${KEY_BODY}\n-----END CERTIFICATE-----\n`),
        file('app/.env.example', 'API_KEY=your-api-key-here\nAWS_SECRET_ACCESS_KEY=<secret>\nDB_PASSWORD=${DB_PASSWORD}\nPORT=8080\n'),
        file('app/docs/aws.txt', 'Access key ids start with AKIA; the documented example is AKIAIOSFODNN7EXAMPLE.\n'),
        file('app/.env', 'PORT=8080\nNODE_ENV=production\n'),
      ),
    );
    assert.deepEqual(out, { pass: true, description: 'Files holding secrets not found' });
  });

  it('fails on a .env with a credential, a Docker config.json with auths and an AWS key id alone', async () => {
    const out = await run(
      'secret-files',
      oneLayer(
        file('app/.env', `PORT=8080\nSTRIPE_SECRET=${GITHUB_TOKEN.slice(4)}\n`),
        file(
          'root/.docker/config.json',
          JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from('ci:hunter2-long').toString('base64') } } }),
        ),
        file('srv/run.sh', `#!/bin/sh\nexport AWS_ACCESS_KEY_ID=${AWS_KEY_ID}\n`, 0o755),
      ),
    );
    assert.equal(out.pass, false);
    assert.deepEqual(out.files, [{ [D1]: ['/app/.env', '/root/.docker/config.json', '/srv/run.sh'] }]);
    assert.match(out.description, /\/app\/\.env: dotenv-secret line 2: /);
    assert.match(out.description, /\/root\/\.docker\/config\.json: docker-config-auth line 1: /);
    assert.match(out.description, /\/srv\/run\.sh: aws-access-key-id line 2: "AKIA…" \(20 chars/);
    assert.ok(!out.description.includes('hunter2'));
  });

  it('passes a Docker config.json that only names a credential store', async () => {
    assert.equal(
      (await run('secret-files', oneLayer(file('root/.docker/config.json', '{"credsStore":"pass","auths":{"ghcr.io":{}}}')))).pass,
      true,
    );
  });

  it('reads no content from a binary file, nor from one over 1 MiB, but still judges its name', async () => {
    const binary = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]), Buffer.from(`token ${GITHUB_TOKEN}`)]);
    const big = Buffer.alloc(1024 * 1024 + 1, 0x41);
    const out = await run('secret-files', oneLayer(file('app/tool.json', binary), file('app/.env', big), file('app/tls/server.p12', big)));
    assert.deepEqual(out.files, [{ [D1]: ['/app/tls/server.p12'] }]);
    assert.match(out.description, /keystore: a credential file by its name \(1048577 bytes\)/);
  });

  it('takes names and rules from the policy (data.secretFiles)', async () => {
    const layers = oneLayer(
      file('app/secrets.yaml', 'a: b\n'),
      file('app/credentials.json', '{}'),
      file('app/cfg.ini', 'key=acme_0123456789abcdef0123456789abcdef\n'),
      file('app/k.txt', `id ${AWS_KEY_ID}\n`),
    );
    const tuned = await run('secret-files', layers, {
      secretFiles: {
        addNames: ['secrets.yaml'],
        removeNames: ['credentials.json'],
        addRules: [{ id: 'acme-key', regex: 'acme_[0-9a-f]{32}' }],
        removeRules: ['aws-access-key-id'],
      },
    });
    assert.deepEqual(tuned.files, [{ [D1]: ['/app/cfg.ini', '/app/secrets.yaml'] }]);
    assert.match(tuned.description, /\/app\/cfg\.ini: acme-key line 1: /);
    assert.match(tuned.description, /\/app\/secrets\.yaml: policy-name: /);
    const plain = await run('secret-files', layers);
    assert.deepEqual(plain.files, [{ [D1]: ['/app/credentials.json', '/app/k.txt'] }]);
  });

  it('refuses a policy rule that does not compile, backtracks catastrophically, matches nothing or takes a built-in id', () => {
    assert.match(secretRuleProblem({ id: 'x', regex: 'acme_(' }) ?? '', /is not a valid JavaScript regular expression/);
    assert.match(secretRuleProblem({ id: 'x', regex: '(a+)+$' }) ?? '', /catastrophic backtracking/);
    assert.match(secretRuleProblem({ id: 'x', regex: 'x*' }) ?? '', /matches an empty text/);
    assert.match(secretRuleProblem({ id: 'npm-token', regex: 'npm_x' }) ?? '', /built-in rule/);
    assert.equal(secretRuleProblem({ id: 'acme-key', regex: 'acme_[0-9a-f]{32}' }), undefined);
  });

  it('changes the matcher fingerprint (the facts cache key) when the rules change', () => {
    const [a, b] = [createFileExtendedChecks(), createFileExtendedChecks({ secretFiles: { removeRules: ['npm-token'] } })].map(
      (cs) => cs.find((c) => c.id === 'secret-files')?.matcher?.fingerprint,
    );
    assert.ok(a !== undefined && b !== undefined && a !== b);
  });
});

describe('package-caches', () => {
  const LISTS = 'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4';
  const aptLists = [
    dir('var/lib/apt/lists'),
    file(LISTS, 'p'.repeat(3000)),
    file('var/lib/apt/lists/lock', ''),
    dir('var/lib/apt/lists/partial'),
  ];

  it('fails on apt lists left in the image, with their size and layer', async () => {
    const out = await run('package-caches', oneLayer(...aptLists));
    assert.deepEqual(out, {
      pass: false,
      description: `Found package manager caches (apt package lists at /var/lib/apt/lists: 1 file, 2.9 KiB added by layer ${D1})`,
      files: [{ [D1]: ['/var/lib/apt/lists'] }],
    });
  });

  it('passes when a later layer cleans them (rm -rf /var/lib/apt/lists/*), saying the bytes stay in the layers', async () => {
    const out = await run('package-caches', [{ entries: aptLists }, { entries: [gone(LISTS), gone('var/lib/apt/lists/partial')] }]);
    assert.equal(out.pass, true);
    assert.equal(
      out.description,
      `Package manager caches not found (apt package lists at /var/lib/apt/lists added by layer ${D1} (1 file, 2.9 KiB) removed by a later layer, the bytes still in the image's layers)`,
    );
  });

  it('finds pip, npm and apk caches and the .deb archives, and ignores apt lock files alone', async () => {
    const out = await run('package-caches', [
      {
        entries: [
          file('root/.cache/pip/http/a/b/c', 'x'.repeat(10)),
          file('home/app/.npm/_cacache/index-v5/aa/bb', 'y'),
          file('var/cache/apk/APKINDEX.tar.gz', 'z'),
        ],
      },
      {
        entries: [
          file('var/cache/apt/archives/curl_8.0_amd64.deb', 'd'),
          file('var/cache/apt/archives/lock', ''),
          file('var/lib/apt/lists/lock', ''),
        ],
      },
    ]);
    assert.equal(out.pass, false);
    assert.deepEqual(out.files, [
      { [D1]: ['/home/app/.npm/_cacache', '/root/.cache/pip', '/var/cache/apk'] },
      { [D2]: ['/var/cache/apt'] },
    ]);
    assert.equal((await run('package-caches', oneLayer(file('var/lib/apt/lists/lock', ''), dir('var/lib/apt/lists/partial')))).pass, true);
  });
});

describe('leftover-files', () => {
  it('fails on build files, a repository, cloud and SSH settings and editor debris in the final filesystem', async () => {
    const out = await run(
      'leftover-files',
      oneLayer(
        file('app/Dockerfile'),
        file('app/docker-compose.yml'),
        dir('app/.git'),
        file('app/.git/HEAD', 'ref: refs/heads/main\n'),
        file('root/.aws/config'),
        file('home/u/.ssh/known_hosts'),
        file('home/u/.ssh/authorized_keys'),
        file('app/.main.go.swp'),
        file('app/.DS_Store'),
      ),
    );
    assert.equal(out.pass, false);
    assert.deepEqual(out.files, [
      {
        [D1]: [
          '/app/.DS_Store',
          '/app/.git',
          '/app/.git/HEAD',
          '/app/.main.go.swp',
          '/app/Dockerfile',
          '/app/docker-compose.yml',
          '/home/u/.ssh/known_hosts',
          '/root/.aws/config',
        ],
      },
    ]);
  });

  it('passes what a later layer removed, and an authorized_keys', async () => {
    const out = await run('leftover-files', [
      { entries: [file('app/Dockerfile'), file('home/u/.ssh/authorized_keys')] },
      { entries: [gone('app/Dockerfile')] },
    ]);
    assert.deepEqual(out, { pass: true, description: 'Leftover build, repository and editor files not found' });
  });
});

describe('world-writable', () => {
  it('fails on a world-writable file and a directory without the sticky bit; passes /tmp with it and what is below /tmp', async () => {
    const out = await run(
      'world-writable',
      oneLayer(
        dir('tmp', 0o1777),
        file('tmp/x', 'x', 0o666),
        dir('var/tmp', 0o1777),
        file('app/data.txt', 'x', 0o666),
        dir('app/shared', 0o777),
        dir('app/drop', 0o1777),
        file('app/ok', 'x', 0o644),
      ),
    );
    assert.equal(out.pass, false);
    assert.deepEqual(out.files, [{ [D1]: ['/app/data.txt', '/app/shared'] }]);
  });

  it('fails on a /tmp without the sticky bit', async () => {
    assert.deepEqual((await run('world-writable', oneLayer(dir('tmp', 0o777)))).files, [{ [D1]: ['/tmp'] }]);
  });

  it('judges the mode the runtime sees: a later hard link header or directory entry that takes o+w away passes', async () => {
    const layers: TestLayer[] = [
      { entries: [file('app/data.txt', 'x', 0o666), dir('app/shared', 0o777)] },
      {
        entries: [
          dir('app/shared', 0o755),
          file('app/data.txt', 'x', 0o666),
          { type: 'hardlink', path: 'app/data2.txt', target: 'app/data.txt', mode: 0o644 },
        ],
      },
    ];
    assert.deepEqual(await run('world-writable', layers), { pass: true, description: 'World-writable files and directories not found' });
  });

  it('fails on a file a later hard link header makes world-writable, in the layer of the link', async () => {
    const layers: TestLayer[] = [
      { entries: [file('app/data.txt', 'x', 0o644)] },
      { entries: [{ type: 'hardlink', path: 'app/data2.txt', target: 'app/data.txt', mode: 0o646 }] },
    ];
    assert.deepEqual((await run('world-writable', layers)).files, [{ [D2]: ['/app/data.txt', '/app/data2.txt'] }]);
  });
});

describe('FILE_EXTENDED_CHECKS', () => {
  it('lists the four checks in report order, with distinct matcher ids', () => {
    assert.deepEqual(
      FILE_EXTENDED_CHECKS.map((c) => c.id),
      ['package-caches', 'leftover-files', 'world-writable', 'secret-files'],
    );
    const ids = FILE_EXTENDED_CHECKS.flatMap((c) => [...(c.matcher ? [c.matcher.id] : []), ...(c.matchers ?? []).map((m) => m.id)]);
    assert.equal(new Set(ids).size, ids.length);
  });
});
