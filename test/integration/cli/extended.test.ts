/**
 * The extended checks through the built CLI (docs/checks.md, "Extended checks"): off by default
 * (the report keeps its 17 results), on with `--checks extended` and a policy's profile, after
 * the 17 whose results do not change; in every format under their ids; a planted secret is in
 * no output at all (legacy files, json, sarif, junit, table, stdout, stderr with debug logs);
 * a policy accepts `empty-password` by path; a cached default scan is not reused for them.
 *
 * Provenance: the image is built by test/helpers/image-builder.ts (a history written as
 * Docker's classic builder writes it) and written as an OCI layout in a temporary directory.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ALL_CHECKS, EXTENDED_CHECKS } from '../../../src/checks/index.js';
import type { ScanDocument } from '../../../src/report/formats/json.js';
import type { ImageSpec } from '../../helpers/image-builder.js';
import { ociLayoutRef, runCli, tempDir } from '../../helpers/scan.js';

/** Planted secrets: none of these may appear in any output. */
const AWS_KEY = 'AKIAZ7QWERTYUIOPASDF';
const DB_PASSWORD = 'Tr0ub4dor-and-3-horses';
const BUILD_TOKEN = `ghp_${'Q'.repeat(18)}${'7'.repeat(18)}`;
const SECRETS = [AWS_KEY, DB_PASSWORD, BUILD_TOKEN];

const nop = (line: string): { created_by: string; empty_layer: boolean } => ({
  created_by: `/bin/sh -c #(nop)  ${line}`,
  empty_layer: true,
});

const spec: ImageSpec = {
  layers: [
    {
      entries: [
        { type: 'file', path: 'etc/os-release', content: 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n' },
        { type: 'file', path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' },
        { type: 'file', path: 'etc/group', content: 'root:x:0:\napp:x:1000:\n' },
        { type: 'file', path: 'etc/shadow', mode: 0o640, content: 'root::19000:0:99999:7:::\napp:!:19000::::::\n' },
      ],
    },
    { entries: [{ type: 'file', path: 'app/server', mode: 0o755, content: 'x' }] },
  ],
  config: {
    User: '1000:1000',
    Labels: { vendor: 'v' },
    Cmd: ['/app/server'],
    Env: ['PATH=/usr/bin:/bin', `AWS_ACCESS_KEY_ID=${AWS_KEY}`, `DB_PASSWORD=${DB_PASSWORD}`, 'PASSWORD_FILE=/run/secrets/db'],
  },
  history: [
    { created_by: '/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ' },
    nop(`ENV AWS_ACCESS_KEY_ID=${AWS_KEY}`),
    { created_by: `|1 GH_TOKEN=${BUILD_TOKEN} /bin/sh -c apt-get update` },
  ],
};

const EXTENDED_IDS = EXTENDED_CHECKS.map((c) => c.id);

test('off by default, after the 17 with --checks extended, in every format and never with a secret', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, spec);
    const plain = await runCli([ref, '--format', 'json']);
    const before = (JSON.parse(plain.stdout) as ScanDocument).images[0]?.results ?? [];
    assert.deepEqual(
      before.map((r) => r.Id),
      ALL_CHECKS.map((c) => c.id),
      plain.stderr,
    );

    const out = (name: string): string => join(dir, name);
    const r = await runCli([
      ref,
      '--checks',
      'extended',
      '--log-level',
      'debug',
      '--format',
      'legacy',
      '--reports-dir',
      out('reports'),
      '--format',
      `json=${out('doc.json')}`,
      '--format',
      `sarif=${out('doc.sarif')}`,
      '--format',
      `junit=${out('junit.xml')}`,
      '--format',
      `table=${out('table.txt')}`,
    ]);
    assert.equal(r.code, 12, r.stderr);
    const doc = JSON.parse(await readFile(out('doc.json'), 'utf8')) as ScanDocument;
    const results = doc.images[0]?.results ?? [];
    assert.deepEqual(
      results.map((x) => x.Id),
      [...ALL_CHECKS.map((c) => c.id), ...EXTENDED_IDS],
    );
    // Positions 0–16 hold exactly what a default scan says.
    assert.deepEqual(
      results.slice(0, 17).map((x) => [x.Id, x.Pass, x.Description, x.Files]),
      before.map((x) => [x.Id, x.Pass, x.Description, x.Files]),
    );
    const byId = new Map(results.map((x) => [x.Id, x]));
    assert.equal(byId.get('secrets-env')?.Pass, false);
    assert.match(
      byId.get('secrets-env')?.Description ?? '',
      /AWS_ACCESS_KEY_ID \(AWS access key id\) in Env: "AKIA…" \(20 chars, sha256:[0-9a-f]{8}\)/,
    );
    assert.match(
      byId.get('secrets-env')?.Description ?? '',
      /GH_TOKEN \(GitHub token\) in history entry 2 \(RUN, layer sha256:[0-9a-f]{64}\) build argument/,
    );
    assert.doesNotMatch(byId.get('secrets-env')?.Description ?? '', /PASSWORD_FILE/);
    assert.equal(byId.get('build-history')?.Pass, false);
    assert.equal(byId.get('empty-password')?.Pass, false);
    assert.deepEqual(byId.get('empty-password')?.Files, [{ [doc.images[0]?.layers[0] ?? '']: ['/etc/shadow'] }]);
    assert.equal(byId.get('healthcheck')?.Pass, false);
    assert.equal(byId.get('add-instruction')?.Pass, true, byId.get('add-instruction')?.Description);
    assert.equal(byId.get('duplicate-ids')?.Pass, true);

    const [legacyName] = await readdir(out('reports'));
    const texts: Record<string, string> = {
      legacy: await readFile(join(out('reports'), legacyName ?? ''), 'utf8'),
      json: await readFile(out('doc.json'), 'utf8'),
      sarif: await readFile(out('doc.sarif'), 'utf8'),
      junit: await readFile(out('junit.xml'), 'utf8'),
      table: await readFile(out('table.txt'), 'utf8'),
      stdout: r.stdout,
      'stderr (debug logs)': r.stderr,
    };
    for (const [name, text] of Object.entries(texts)) {
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${name} holds a planted secret`);
      assert.ok(text.includes('secrets-env') || name === 'stdout' || name === 'stderr (debug logs)', `${name} names secrets-env`);
    }
    assert.ok(r.stderr.includes('"msg"'), 'debug logs were written');
    const legacy = JSON.parse(texts['legacy'] ?? '{}') as Record<string, Array<{ Id: string }>>;
    assert.deepEqual(
      Object.values(legacy)[0]?.map((x) => x.Id),
      [...ALL_CHECKS.map((c) => c.id), ...EXTENDED_IDS],
    );
    const sarif = JSON.parse(texts['sarif'] ?? '{}') as {
      runs: Array<{
        tool: { driver: { rules: Array<{ id: string; fullDescription: { text: string } }> } };
        results: Array<{ ruleId: string }>;
      }>;
    };
    const rules = sarif.runs[0]?.tool.driver.rules ?? [];
    assert.equal(rules.find((x) => x.id === 'healthcheck')?.fullDescription.text, "the config's Healthcheck");
    assert.ok(sarif.runs[0]?.results.some((x) => x.ruleId === 'empty-password'));
    assert.match(texts['junit'] ?? '', /name="empty-password/);
  } finally {
    await cleanup();
  }
});

test('a policy: profile extended, empty-password accepted by path, secrets-env disabled; --checks default overrides the profile', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, spec);
    const policy = join(dir, 'policy.yaml');
    await writeFile(
      policy,
      'version: 1\nprofile: extended\nchecks:\n  secrets-env: { disabled: true }\n  build-history: { enabled: false }\naccept:\n  - check: empty-password\n    paths: [/etc/shadow]\n    reason: root is locked by the entrypoint\n',
    );
    const r = await runCli([ref, '--policy', policy, '--format', 'json']);
    const results = (JSON.parse(r.stdout) as ScanDocument).images[0]?.results ?? [];
    assert.deepEqual(
      results.map((x) => x.Id),
      [...ALL_CHECKS.map((c) => c.id), ...EXTENDED_IDS.filter((id) => id !== 'build-history')],
      r.stderr,
    );
    const empty = results.find((x) => x.Id === 'empty-password');
    assert.equal(empty?.Pass, true);
    assert.deepEqual(
      empty?.Accepted?.map((a) => a.Path),
      ['/etc/shadow'],
    );
    assert.deepEqual(results.find((x) => x.Id === 'secrets-env')?.Description, 'Disabled by policy');

    const d = await runCli([ref, '--policy', policy, '--checks', 'default', '--format', 'json']);
    assert.deepEqual(
      (JSON.parse(d.stdout) as ScanDocument).images[0]?.results.map((x) => x.Id),
      ALL_CHECKS.map((c) => c.id),
    );
  } finally {
    await cleanup();
  }
});

test('a cached default scan is not reused where the extended checks need more facts', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ref = await ociLayoutRef(dir, spec);
    const env = { OCI_SCAN_CACHE_DIR: join(dir, 'cache') };
    const first = await runCli([ref, '--format', 'json'], { env });
    assert.equal(first.code, 15, first.stderr);
    const r = await runCli([ref, '--checks', 'extended', '--format', 'json'], { env });
    const empty = (JSON.parse(r.stdout) as ScanDocument).images[0]?.results.find((x) => x.Id === 'empty-password');
    assert.equal(empty?.Pass, false, empty?.Description);
    assert.match(empty?.Description ?? '', /empty password field in \/etc\/shadow for root/);
  } finally {
    await cleanup();
  }
});
