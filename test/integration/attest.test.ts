/**
 * Attestations end to end with the built CLI (docs/attest.md): `--attach` / `--sign-key` into
 * Debian's docker-registry (Distribution 2.8: no referrers API, so the referrers tag schema) and
 * into a spec-following referrers-API registry (test/helpers/referrers-registry.ts); `verify`
 * with each way an attestation can be wrong; a push refused; and sigstore-js's own verifier
 * (`@sigstore/verify`, offline with the public key) agreeing with ours.
 */
import { after, before, describe, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetch } from 'undici';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { buildImage } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, TEST_PASSWORD, TEST_USER, type RunningRegistry } from '../helpers/registry-server.js';
import { startReferrersRegistry, type ReferrersRegistry } from '../helpers/referrers-registry.js';
import { runCli, tempDir } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { artifactManifest, referrersTag } from '../../src/attest/referrers.js';

const skip = registrySkipReason();

// Provenance: built by image-builder.ts. A clean image (exit 0) and one with a compiler (Medium, exit 14).
const cleanConfig = {
  User: '1000:1000',
  Cmd: ['/app'],
  Labels: { 'org.opencontainers.image.vendor': 'v', 'org.opencontainers.image.version': '1', component: 'c', product: 'p' },
};
const clean = buildImage({ config: cleanConfig, layers: [{ entries: [{ type: 'file', path: 'app', mode: 0o755, content: 'app' }] }] });
const tools = buildImage({
  config: cleanConfig,
  layers: [
    {
      entries: [
        { type: 'file', path: 'app', mode: 0o755, content: 'app' },
        { type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'gcc' },
      ],
    },
  ],
});

const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const DAY = 86400;

interface Keys {
  readonly privateFile: string;
  readonly publicFile: string;
  readonly privatePem: string;
  readonly publicPem: string;
  readonly spki: Buffer;
}

async function makeKeys(dir: string, name: string): Promise<Keys> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privateFile = join(dir, `${name}.key`);
  const publicFile = join(dir, `${name}.pub`);
  await writeFile(privateFile, privatePem, { mode: 0o600 });
  await writeFile(publicFile, publicPem);
  return { privateFile, publicFile, privatePem, publicPem, spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

/** sigstore-js's verdict on a bundle: verified offline with the public key, no transparency log, no timestamp. */
function sigstoreVerifies(bundleJson: unknown, keys: Keys, hint: string): boolean {
  const trust = toTrustMaterial(
    { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] } as never,
    { [hint]: { rawBytes: keys.spki, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } } as never,
  );
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(bundleFromJSON(bundleJson)));
    return true;
  } catch {
    return false;
  }
}

/** A registry seen from the test: manifests, blobs and tags fetched without the client under test. */
class RegistryView {
  constructor(readonly url: string) {}

  async manifest(repo: string, ref: string): Promise<{ status: number; json: Record<string, unknown>; bytes: Buffer }> {
    const res = await fetch(`${this.url}/v2/${repo}/manifests/${ref}`, {
      headers: { accept: `${INDEX}, application/vnd.oci.image.manifest.v1+json` },
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, json: res.status === 200 ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : {}, bytes };
  }

  async blob(repo: string, digest: string): Promise<Buffer> {
    const res = await fetch(`${this.url}/v2/${repo}/blobs/${digest}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** The descriptors of the referrers tag schema's index of `digest`. */
  async tagIndex(
    repo: string,
    digest: string,
  ): Promise<Array<{ digest: string; artifactType?: string; annotations?: Record<string, string> }>> {
    const { status, json } = await this.manifest(repo, referrersTag(digest));
    return status === 200 ? (json['manifests'] as Array<{ digest: string; artifactType?: string }>) : [];
  }

  /** The bundle an artifact manifest holds. */
  async bundle(repo: string, artifact: string): Promise<{ manifest: Record<string, unknown>; bundle: Record<string, unknown> }> {
    const { json } = await this.manifest(repo, artifact);
    const [layer] = json['layers'] as Array<{ digest: string }>;
    return { manifest: json, bundle: JSON.parse((await this.blob(repo, layer?.digest ?? '')).toString('utf8')) as Record<string, unknown> };
  }
}

/** Pushes an artifact (bundle + empty config + manifest naming `subject`) and returns its digest and manifest. */
async function pushArtifact(
  pusher: Pusher,
  bundle: Buffer,
  subject: { mediaType: string; digest: string; size: number },
  annotations: Record<string, string>,
): Promise<{ digest: string; bytes: Buffer }> {
  const { createHash } = await import('node:crypto');
  const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  await pusher.blob(sha(Buffer.from('{}')), Buffer.from('{}'));
  await pusher.blob(sha(bundle), bundle);
  const bytes = artifactManifest(BUNDLE, bundle, subject, annotations);
  await pusher.manifest(sha(bytes), bytes, 'application/vnd.oci.image.manifest.v1+json');
  return { digest: sha(bytes), bytes };
}

const baseEnv = { HOME: '/nonexistent-home-for-tests' };

describeOrSkip('attestations in docker-registry (referrers tag schema)', { skip }, () => {
  let registry: RunningRegistry;
  let view: RegistryView;
  let dir: string;
  let cleanup: () => Promise<void>;
  let keys: Keys;
  let otherKeys: Keys;
  before(async () => {
    registry = await startRegistry({ kind: 'none' });
    view = new RegistryView(registry.url);
    ({ dir, cleanup } = await tempDir('oci-scan-attest-'));
    keys = await makeKeys(dir, 'signer');
    otherKeys = await makeKeys(dir, 'other');
    for (const repo of ['team/app', 'team/tamper', 'team/moved', 'team/old', 'team/policy', 'team/unsigned', 'team/race'])
      await new Pusher(registry.url, repo).image(clean, '1.0');
    await new Pusher(registry.url, 'team/tools').image(tools, '1.0');
  });
  after(async () => {
    await registry?.stop();
    await cleanup?.();
  });

  const scan = (image: string, extra: string[] = [], env: Record<string, string> = {}) =>
    runCli([image, '--attach', '--sign-key', keys.privateFile, '--reports-dir', join(dir, 'reports'), ...extra], {
      env: { ...baseEnv, ...env },
    });
  const verify = (image: string, extra: string[] = [], key = keys.publicFile) =>
    runCli(['verify', image, '--key', key, ...extra], { env: baseEnv });

  test('--attach --sign-key pushes one signed verdict listed in the sha256-HEX index; the same verdict again adds none, a new one is appended', async () => {
    const image = `${registry.host}/team/app:1.0`;
    const first = await scan(image, [], { SOURCE_DATE_EPOCH: '1900000000' });
    assert.equal(first.code, 0, first.stderr);
    let entries = await view.tagIndex('team/app', clean.manifestDigest);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.artifactType, BUNDLE);
    const { manifest } = await view.bundle('team/app', entries[0]?.digest ?? '');
    assert.equal(manifest['artifactType'], BUNDLE);
    assert.deepEqual(manifest['subject'], {
      mediaType: clean.manifestMediaType,
      digest: clean.manifestDigest,
      size: clean.manifest.length,
    });

    const again = await scan(image, [], { SOURCE_DATE_EPOCH: '1900000000' });
    assert.equal(again.code, 0, again.stderr);
    entries = await view.tagIndex('team/app', clean.manifestDigest);
    assert.equal(entries.length, 1, 'the same verdict is not attached twice');

    const later = await scan(image, [], { SOURCE_DATE_EPOCH: '1900000600' });
    assert.equal(later.code, 0, later.stderr);
    entries = await view.tagIndex('team/app', clean.manifestDigest);
    assert.equal(entries.length, 2, 'a second verdict is appended, the first kept');
    assert.equal(new Set(entries.map((e) => e.digest)).size, 2);
  });

  test('verify finds the newest valid verdict, prints its results and exits as the scan did; --format json says what was verified', async () => {
    const image = `${registry.host}/team/tools:1.0`;
    const scanned = await scan(image);
    assert.equal(scanned.code, 14, scanned.stderr);
    const verified = await verify(image);
    assert.equal(verified.code, 14, verified.stderr);
    assert.match(verified.stdout, /^Verified: .*team\/tools:1\.0 \(sha256:[0-9a-f]{64}\) attested by oci-scan /m);
    assert.match(verified.stdout, /FAIL\. Severity: Medium\./);
    const json = await verify(image, ['--format', 'json', '--fail-on', 'High']);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { verified: boolean; digest: string; result: { highest: string } };
    assert.equal(doc.verified, true);
    assert.equal(doc.digest, tools.manifestDigest);
    assert.equal(doc.result.highest, 'Medium');
  });

  test('sigstore-js verifies our bundle offline with the public key, and refuses it with another key', async () => {
    const [entry] = await view.tagIndex('team/app', clean.manifestDigest);
    const { bundle } = await view.bundle('team/app', entry?.digest ?? '');
    const hint = (bundle['verificationMaterial'] as { publicKey: { hint: string } }).publicKey.hint;
    assert.equal(sigstoreVerifies(bundle, keys, hint), true);
    assert.equal(sigstoreVerifies(bundle, otherKeys, hint), false);
  });

  test('a modified envelope fails verify (bad signature) and sigstore-js', async () => {
    const image = `${registry.host}/team/tamper:1.0`;
    assert.equal((await scan(image)).code, 0);
    const [entry] = await view.tagIndex('team/tamper', clean.manifestDigest);
    const { manifest, bundle } = await view.bundle('team/tamper', entry?.digest ?? '');
    const envelope = bundle['dsseEnvelope'] as { payload: string };
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
      predicate: { document: { images: Array<{ highest: string }> } };
    };
    const first = statement.predicate.document.images[0];
    if (first) first.highest = 'Informational';
    envelope.payload = Buffer.from(JSON.stringify({ ...statement, note: 'x' })).toString('base64');
    const hint = (bundle['verificationMaterial'] as { publicKey: { hint: string } }).publicKey.hint;
    assert.equal(sigstoreVerifies(bundle, keys, hint), false, 'the independent verifier refuses the altered envelope');
    const pusher = new Pusher(registry.url, 'team/tamper');
    const forged = await pushArtifact(pusher, Buffer.from(JSON.stringify(bundle)), manifest['subject'] as never, {
      'org.opencontainers.image.created': '2100-01-01T00:00:00.000Z',
    });
    const index = {
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: forged.digest,
          size: forged.bytes.length,
          artifactType: BUNDLE,
          annotations: { 'org.opencontainers.image.created': '2100-01-01T00:00:00.000Z' },
        },
      ],
    };
    await pusher.manifest(referrersTag(clean.manifestDigest), Buffer.from(JSON.stringify(index)), INDEX);
    const verified = await verify(image);
    assert.equal(verified.code, 25, verified.stderr);
    assert.match(
      verified.stderr,
      /^oci-scan: no valid attestation of .*the newest one its signature does not verify: the envelope was altered/m,
    );
    assert.equal(verified.stderr.trim().split('\n').length, 1);
  });

  test('an attestation of another image moved onto this one fails verify (other image)', async () => {
    // The tools image's signed verdict, its artifact rewritten to name the clean image of team/moved as subject.
    const toolsEntries = await view.tagIndex('team/tools', tools.manifestDigest);
    const { bundle } = await view.bundle('team/tools', toolsEntries[0]?.digest ?? '');
    const pusher = new Pusher(registry.url, 'team/moved');
    const moved = await pushArtifact(
      pusher,
      Buffer.from(JSON.stringify(bundle)),
      { mediaType: clean.manifestMediaType, digest: clean.manifestDigest, size: clean.manifest.length },
      {},
    );
    const index = {
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: moved.digest, size: moved.bytes.length, artifactType: BUNDLE },
      ],
    };
    await pusher.manifest(referrersTag(clean.manifestDigest), Buffer.from(JSON.stringify(index)), INDEX);
    const verified = await verify(`${registry.host}/team/moved:1.0`);
    assert.equal(verified.code, 25, verified.stderr);
    assert.match(verified.stderr, /attests another image \(sha256:[0-9a-f]{64}\): it was moved onto this one/);
  });

  test('verify with another key fails (other key); with no attestation at all, says none', async () => {
    const wrong = await verify(`${registry.host}/team/app:1.0`, [], otherKeys.publicFile);
    assert.equal(wrong.code, 25, wrong.stderr);
    assert.match(wrong.stderr, /signed with another key/);
    const none = await verify(`${registry.host}/team/policy:1.0`);
    assert.equal(none.code, 25, none.stderr);
    assert.match(none.stderr, /has no signed oci-scan attestation: attach one/);
  });

  test('an expired attestation fails verify (too old); --max-age 0 takes it', async () => {
    const image = `${registry.host}/team/old:1.0`;
    const tenDaysAgo = String(Math.floor(Date.now() / 1000) - 10 * DAY);
    assert.equal((await scan(image, [], { SOURCE_DATE_EPOCH: tenDaysAgo })).code, 0);
    const old = await verify(image);
    assert.equal(old.code, 25, old.stderr);
    assert.match(old.stderr, /is older than 7d/);
    const any = await verify(image, ['--max-age', '0']);
    assert.equal(any.code, 0, any.stderr);
    const twelve = await verify(image, ['--max-age', '12d']);
    assert.equal(twelve.code, 0, twelve.stderr);
  });

  test('an attestation made under another policy fails verify (other policy)', async () => {
    const image = `${registry.host}/team/policy:1.0`;
    const policy = join(dir, 'policy.yaml');
    await writeFile(policy, 'version: 1\nchecks:\n  compilers: { severity: Low }\n');
    assert.equal((await scan(image, ['--policy', policy])).code, 0);
    const other = await verify(image);
    assert.equal(other.code, 25, other.stderr);
    assert.match(
      other.stderr,
      /was made under another policy \(sha256:[0-9a-f]{64}, not sha256:[0-9a-f]{64}\): scan again under this policy/,
    );
    const same = await verify(image, ['--policy', policy]);
    assert.equal(same.code, 0, same.stderr);
  });

  test('--attach without a key attaches an unsigned verdict, which verify does not accept', async () => {
    const image = `${registry.host}/team/unsigned:1.0`;
    const scanned = await runCli([image, '--attach', '--reports-dir', join(dir, 'reports')], { env: baseEnv });
    assert.equal(scanned.code, 0, scanned.stderr);
    const entries = await view.tagIndex('team/unsigned', clean.manifestDigest);
    assert.equal(entries[0]?.artifactType, 'application/vnd.oci-scan.verdict.v1+json');
    const verified = await verify(image);
    assert.equal(verified.code, 25);
  });

  test('another writer replacing the sha256-HEX index between our push and our re-read: the update is made again on top of theirs', async () => {
    const tag = referrersTag(clean.manifestDigest);
    const indexPath = `/v2/team/race/manifests/${tag}`;
    // Their entry names a manifest the repository holds: Distribution refuses an index whose entries it does not have.
    const theirs = {
      mediaType: clean.manifestMediaType,
      digest: clean.manifestDigest,
      size: clean.manifest.length,
      artifactType: 'application/example',
    };
    let pushed = false;
    let raced = false;
    const proxy = await startCountingProxy(registry.url, async (method, path) => {
      if (method === 'PUT' && path === indexPath) pushed = true;
      else if (method === 'GET' && path === indexPath && pushed && !raced) {
        raced = true;
        const index = { schemaVersion: 2, mediaType: INDEX, manifests: [theirs] };
        await new Pusher(registry.url, 'team/race').manifest(tag, Buffer.from(JSON.stringify(index)), INDEX);
      }
    });
    try {
      const run = await scan(`${proxy.host}/team/race:1.0`);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(raced, 'the other writer pushed between our push and our re-read');
      assert.equal(proxy.count('PUT', indexPath), 2, 'our index pushed again after theirs replaced it');
      const entries = await view.tagIndex('team/race', clean.manifestDigest);
      assert.deepEqual(
        entries.map((e) => e.artifactType),
        ['application/example', BUNDLE],
        "both writers' entries kept",
      );
    } finally {
      await proxy.stop();
    }
  });

  test('the signing key never appears in the output, the reports or the logs', async () => {
    const image = `${registry.host}/team/app:1.0`;
    const pem = keys.privatePem;
    const body = pem
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'))
      .join('');
    const run = await runCli([image, '--attach', '--reports-dir', join(dir, 'reports'), '--log-level', 'debug'], {
      env: { ...baseEnv, OCI_SCAN_SIGN_KEY: pem },
    });
    assert.equal(run.code, 0, run.stderr);
    for (const text of [run.stdout, run.stderr]) {
      assert.ok(!text.includes(body.slice(0, 40)), 'no part of the key in the output');
      assert.ok(!text.includes('PRIVATE KEY'));
    }
    const bad = await runCli([image, '--attach', '--reports-dir', join(dir, 'reports')], {
      env: { ...baseEnv, OCI_SCAN_SIGN_KEY: `${pem.slice(0, 60)}garbage` },
    });
    assert.equal(bad.code, 2);
    assert.ok(!bad.stderr.includes(body.slice(0, 20)));
    assert.match(bad.stderr, /^oci-scan: OCI_SCAN_SIGN_KEY holds /m);
  });
});

describeOrSkip('--attach refused by the registry (token auth, anonymous: pull only)', { skip }, () => {
  let registry: RunningRegistry;
  let tokens: TokenServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-attest-refused-'));
    tokens = await startTokenServer({ dir, users: { [TEST_USER]: TEST_PASSWORD } });
    registry = await startRegistry({
      kind: 'token',
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      rootCertBundle: tokens.certFile,
    });
    await new Pusher(registry.url, 'team/app', { username: TEST_USER, password: TEST_PASSWORD }).image(clean, '1.0');
  });
  after(async () => {
    await registry?.stop();
    await tokens?.stop();
    await cleanup?.();
  });

  test('the reports are written, the attach fails with exit 24 and one line', async () => {
    const keys = await makeKeys(dir, 'k');
    const reports = join(dir, 'reports');
    const run = await runCli([`${registry.host}/team/app:1.0`, '--attach', '--sign-key', keys.privateFile, '--reports-dir', reports], {
      env: baseEnv,
    });
    assert.equal(run.code, 24, run.stderr);
    assert.match(run.stdout, /PASS\. Severity: Informational\./);
    assert.deepEqual(await readdir(reports), ['team_app_1.0-compliance.json']);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(
      lines[0] ?? '',
      /^oci-scan: cannot attach the verdict to .*team\/app@sha256:[0-9a-f]{64}: the registry refused the push \(401\): use credentials that may push/,
    );
    assert.ok(
      tokens.requests.some((r) => r.scopes.includes('repository:team/app:pull,push')),
      'push scope asked for',
    );
  });
});

describeOrSkip('audit --attach, then audit --reuse-attestations (round trip)', { skip }, () => {
  let registry: RunningRegistry;
  let proxy: CountingProxy;
  let view: RegistryView;
  let dir: string;
  let cleanup: () => Promise<void>;
  let keys: Keys;
  before(async () => {
    registry = await startRegistry({ kind: 'none' });
    proxy = await startCountingProxy(registry.url);
    view = new RegistryView(registry.url);
    ({ dir, cleanup } = await tempDir('oci-scan-attest-audit-'));
    keys = await makeKeys(dir, 'k');
    await new Pusher(registry.url, 'audit/app').image(clean, '1.0');
    await new Pusher(registry.url, 'audit/tools').image(tools, '1.0');
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
    await cleanup?.();
  });

  test('the second audit takes both verdicts from their attestations and fetches no blob of either image', async () => {
    const attached = await runCli(
      ['audit', `${proxy.host}/audit`, '--attach', '--sign-key', keys.privateFile, '--reports-dir', join(dir, 'first'), '-q'],
      { env: baseEnv },
    );
    assert.equal(attached.code, 14, attached.stderr);
    assert.equal((await view.tagIndex('audit/app', clean.manifestDigest)).length, 1);
    assert.equal((await view.tagIndex('audit/tools', tools.manifestDigest)).length, 1);

    const blobGets = (): number =>
      proxy.requests.filter(
        (r) =>
          r.method === 'GET' &&
          /\/blobs\/sha256:/.test(r.path) &&
          [clean, tools].some((i) => [i.configDigest, ...i.layers.map((l) => l.digest)].some((d) => r.path.endsWith(d))),
      ).length;
    const before = blobGets();
    assert.ok(before > 0, 'the first audit read the images');
    const reused = await runCli(
      [
        'audit',
        `${proxy.host}/audit`,
        '--reuse-attestations',
        '--key',
        keys.publicFile,
        '--reports-dir',
        join(dir, 'second'),
        '--format',
        'json=' + join(dir, 'audit.json'),
        '-q',
      ],
      { env: baseEnv },
    );
    assert.equal(reused.code, 14, reused.stderr);
    assert.equal(blobGets(), before, 'no config or layer blob fetched');
    const summary = JSON.parse(await readFile(join(dir, 'second', 'audit-summary.json'), 'utf8')) as {
      run: { scanned: number; resumed: number; attested: number };
      images: Array<{ reference: string; highest: string; report: string }>;
    };
    assert.deepEqual(summary.run, { scanned: 0, resumed: 0, attested: 2 });
    assert.deepEqual(
      summary.images.map((i) => [i.reference.replace(proxy.host, 'HOST'), i.highest]),
      [
        ['HOST/audit/app:1.0', 'Informational'],
        ['HOST/audit/tools:1.0', 'Medium'],
      ],
    );
    for (const image of summary.images)
      assert.ok((await readdir(join(dir, 'second'))).includes(image.report), 'its legacy report is written');
    assert.match(reused.stdout, /2 from signed attestations/);

    // Another key: nothing is reused, everything is scanned.
    const other = await makeKeys(dir, 'other');
    const scanned = await runCli(
      ['audit', `${proxy.host}/audit`, '--reuse-attestations', '--key', other.publicFile, '--reports-dir', join(dir, 'third'), '-q'],
      { env: baseEnv },
    );
    assert.equal(scanned.code, 14, scanned.stderr);
    const third = JSON.parse(await readFile(join(dir, 'third', 'audit-summary.json'), 'utf8')) as {
      run: { scanned: number; attested: number };
    };
    assert.deepEqual(third.run, { scanned: 2, resumed: 0, attested: 0 });
  });
});

// No packaged registry here serves the referrers API: a spec-following one of test/helpers.
describe('attestations in a registry with the referrers API (attach with OCI-Subject, no tag schema index)', () => {
  let registry: ReferrersRegistry;
  let dir: string;
  let cleanup: () => Promise<void>;
  let keys: Keys;
  before(async () => {
    registry = await startReferrersRegistry();
    ({ dir, cleanup } = await tempDir('oci-scan-attest-api-'));
    keys = await makeKeys(dir, 'k');
    await new Pusher(registry.url, 'team/app').image(clean, '1.0');
  });
  after(async () => {
    await registry?.stop();
    await cleanup?.();
  });

  test('attach through the API (OCI-Subject), re-attach adds nothing, verify finds it', async () => {
    const image = `${registry.host}/team/app:1.0`;
    const env = { ...baseEnv, SOURCE_DATE_EPOCH: String(Math.floor(Date.now() / 1000)) };
    const run = await runCli([image, '--attach', '--sign-key', keys.privateFile, '--reports-dir', join(dir, 'reports')], { env });
    assert.equal(run.code, 0, run.stderr);
    const again = await runCli([image, '--attach', '--sign-key', keys.privateFile, '--reports-dir', join(dir, 'reports')], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(registry.tags('team/app'), ['1.0'], 'no referrers tag schema index on a registry with the API');
    const listing = (await (await fetch(`${registry.url}/v2/team/app/referrers/${clean.manifestDigest}`)).json()) as {
      manifests: Array<{ artifactType: string }>;
    };
    assert.equal(listing.manifests.length, 1);
    assert.equal(listing.manifests[0]?.artifactType, BUNDLE);
    const verified = await runCli(['verify', image, '--key', keys.publicFile], { env: baseEnv });
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^Verified: /m);
  });
});
