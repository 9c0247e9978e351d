/**
 * OCI artifacts pushed to a real registry (Debian's docker-registry) are refused by the CLI as
 * such — "REF is an OCI artifact of type X, not a container image", exit 21 — instead of being
 * scanned as an image (an ORAS file with an empty config ran every check and exited 12) or
 * refused as a damaged layer (exit 20). Local sources are covered in test/unit/sources/archives.test.ts.
 * An image that carries an `artifactType` (an image config and filesystem layers) is no
 * artifact: runtimes run it, so it is scanned, and the JSON document notes the type
 * (test/unit/image/artifact-type.test.ts has the rule).
 *
 * Provenance: the artifacts are written by image-builder's buildArtifact, after each tool's
 * documented manifest (ORAS, Helm, cosign); pushed with test/helpers/push.ts.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, it } from 'node:test';
import { buildArtifact, buildImage, withArtifactType, type ArtifactKind } from '../helpers/image-builder.js';
import { Pusher } from '../helpers/push.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { runCli, tempDir } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();

const KINDS: Array<[ArtifactKind, string]> = [
  ['oras-file', 'application/vnd.unknown.artifact.v1'],
  ['oras-legacy', 'application/vnd.unknown.config.v1+json'],
  ['helm-chart', 'application/vnd.cncf.helm.config.v1+json'],
  ['cosign-signature', 'application/vnd.dev.cosign.simplesigning.v1+json'],
  ['sbom-attestation', 'application/vnd.dsse.envelope.v1+json'],
];

/** An image (root user, nc) whose manifest carries an artifactType. */
const TYPED_IMAGE = withArtifactType(
  buildImage({
    config: { User: '0:0', Cmd: ['/app'] },
    layers: [{ entries: [{ type: 'file', path: 'usr/bin/nc', mode: 0o755, content: 'nc' }] }],
  }),
  'application/vnd.example.app.v1',
);

describeOrSkip('OCI artifacts in a registry', { skip }, () => {
  let registry: RunningRegistry | undefined;

  before(async () => {
    registry = await startRegistry({ kind: 'none' });
    for (const [kind] of KINDS) {
      const artifact = buildArtifact(kind);
      const pusher = new Pusher(registry.url, `artifacts/${kind}`);
      for (const blob of [{ digest: artifact.configDigest, bytes: artifact.config }, ...artifact.layers])
        await pusher.blob(blob.digest, blob.bytes);
      await pusher.manifest('1.0', artifact.manifest, artifact.manifestMediaType);
    }
    const pusher = new Pusher(registry.url, 'artifacts/typed-image');
    for (const blob of [{ digest: TYPED_IMAGE.configDigest, bytes: TYPED_IMAGE.config }, ...TYPED_IMAGE.layers])
      await pusher.blob(blob.digest, blob.bytes);
    await pusher.manifest('1.0', TYPED_IMAGE.manifest, TYPED_IMAGE.manifestMediaType);
  });
  after(() => registry?.stop());

  for (const [kind, type] of KINDS) {
    it(`${kind}: exit 21, "is an OCI artifact of type ${type}, not a container image", no report`, async () => {
      assert.ok(registry);
      const { dir, cleanup } = await tempDir('oci-scan-artifact-');
      try {
        const ref = `${registry.host}/artifacts/${kind}:1.0`;
        const { code, stdout, stderr } = await runCli([ref], { env: { COMPLIANCE_REPORTS_DIR: dir } });
        assert.equal(code, 21, stderr);
        assert.equal(stdout, '');
        const lines = stderr.trim().split('\n');
        assert.equal(lines.length, 1, stderr);
        assert.ok(lines[0]?.includes(`${ref} is an OCI artifact of type ${type}, not a container image`), stderr);
        assert.deepEqual(await readdir(dir), [], 'no report written');
      } finally {
        await cleanup();
      }
    });
  }

  it('an image with an artifactType is scanned (its checks fail as they should) and the JSON document notes the type', async () => {
    assert.ok(registry);
    const { dir, cleanup } = await tempDir('oci-scan-artifact-');
    try {
      const ref = `${registry.host}/artifacts/typed-image:1.0`;
      const { code, stdout, stderr } = await runCli([ref, '--format', 'json'], { env: { COMPLIANCE_REPORTS_DIR: dir } });
      assert.notEqual(code, 21, stderr);
      const doc = JSON.parse(stdout) as {
        images: Array<{ artifactType?: string; results: Array<{ Id: string; Pass: boolean }> }>;
        errors: unknown[];
      };
      assert.deepEqual(doc.errors, []);
      assert.equal(doc.images[0]?.artifactType, 'application/vnd.example.app.v1');
      assert.equal(doc.images[0]?.results.find((r) => r.Id === 'nc')?.Pass, false);
      assert.equal(doc.images[0]?.results.find((r) => r.Id === 'default-user')?.Pass, false);
    } finally {
      await cleanup();
    }
  });
});
