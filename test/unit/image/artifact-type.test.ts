/**
 * Images that carry an `artifactType` (docs/reports.md, "Scan document"): a manifest whose
 * config is an image config and whose layers are filesystem layers is an image whatever its
 * artifactType says. That is how the runtimes read it: containers/image (podman) refuses a
 * manifest as a "non-image artifact" only when its config media type is not the image
 * config's (manifest/oci.go OCI1.Inspect / ImageID) and never reads artifactType; containerd
 * unpacks the layers whose media types are layer types. Such an image is scanned, and the
 * JSON document notes its artifactType.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactTypeOf, parseManifestDocument, type ImageManifest } from '../../../src/image/manifest.js';
import { scanDocument } from '../../../src/report/formats/json.js';
import { openImages } from '../../../src/sources/index.js';
import { scan } from '../../../src/scan.js';
import { buildImage, withArtifactType, writeOciArchive, writeOciLayout } from '../../helpers/image-builder.js';
import { tempDir, testScanOptions } from '../../helpers/scan.js';

const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const TAR_GZ = 'application/vnd.oci.image.layer.v1.tar+gzip';
const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function manifest(configType: string, layerTypes: readonly string[], artifactType?: string): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...(artifactType !== undefined ? { artifactType } : {}),
    config: { mediaType: configType, digest: d(1), size: 2 },
    layers: layerTypes.map((mediaType, i) => ({ mediaType, digest: d(i + 2), size: 2 })),
  };
}

describe('artifactTypeOf: an image config with filesystem layers is an image', () => {
  const cases: Array<[string, ImageManifest, string | undefined]> = [
    [
      'an image with an artifactType',
      manifest(OCI_CONFIG, [TAR_GZ, 'application/vnd.oci.image.layer.v1.tar'], 'application/vnd.example.app.v1'),
      undefined,
    ],
    [
      'a docker config with an artifactType',
      manifest(DOCKER_CONFIG, ['application/vnd.docker.image.rootfs.diff.tar.gzip'], 'application/vnd.example.app.v1'),
      undefined,
    ],
    ['an image with an artifactType and no layers', manifest(OCI_CONFIG, [], 'application/vnd.example.app.v1'), undefined],
    [
      'an image with an artifactType and a foreign layer',
      manifest(OCI_CONFIG, ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'], 'application/vnd.example.app.v1'),
      undefined,
    ],
    ['an image without artifactType', manifest(OCI_CONFIG, [TAR_GZ]), undefined],
    // Still artifacts: the config or a layer is not an image's.
    [
      'an ORAS file (empty config)',
      manifest('application/vnd.oci.empty.v1+json', ['application/vnd.oci.image.layer.v1.tar'], 'application/vnd.unknown.artifact.v1'),
      'application/vnd.unknown.artifact.v1',
    ],
    [
      'a Helm chart',
      manifest('application/vnd.cncf.helm.config.v1+json', ['application/vnd.cncf.helm.chart.content.v1.tar+gzip']),
      'application/vnd.cncf.helm.config.v1+json',
    ],
    [
      'a cosign signature (image config, JSON layer)',
      manifest(OCI_CONFIG, ['application/vnd.dev.cosign.simplesigning.v1+json']),
      'application/vnd.dev.cosign.simplesigning.v1+json',
    ],
    [
      'an image config with an artifactType and a JSON layer',
      manifest(OCI_CONFIG, [TAR_GZ, 'application/vnd.in-toto+json'], 'application/vnd.example.sbom'),
      'application/vnd.example.sbom',
    ],
  ];
  for (const [what, m, expected] of cases) {
    it(what, () => assert.equal(artifactTypeOf(m), expected));
  }

  it('parseManifestDocument accepts an image with an artifactType and keeps the field', () => {
    const m = manifest(OCI_CONFIG, [TAR_GZ], 'application/vnd.example.app.v1');
    const doc = parseManifestDocument(Buffer.from(JSON.stringify(m)), 'application/vnd.oci.image.manifest.v1+json', 'manifest of test');
    assert.equal(doc.kind, 'manifest');
    assert.equal(doc.kind === 'manifest' ? doc.manifest.artifactType : undefined, 'application/vnd.example.app.v1');
  });
});

describe('an image with an artifactType is scanned, from a layout and an archive', () => {
  const TYPE = 'application/vnd.example.app.v1';
  const image = withArtifactType(
    buildImage({
      config: { User: '0:0', Cmd: ['/app'] },
      layers: [{ entries: [{ type: 'file', path: 'usr/bin/nc', mode: 0o755, content: 'nc' }] }],
    }),
    TYPE,
  );
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-artifact-type-'));
    await writeOciLayout(join(dir, 'layout'), [{ image, tag: '1.0' }]);
    await writeOciArchive(join(dir, 'archive.tar'), [{ image, tag: '1.0' }]);
  });
  after(() => cleanup());

  for (const input of ['oci:LAYOUT:1.0', 'oci-archive:ARCHIVE:1.0']) {
    it(`${input}: opened as an image that notes its artifactType; the checks run (nc, root user fail)`, async () => {
      const ref = input.replace('LAYOUT', join(dir, 'layout')).replace('ARCHIVE', join(dir, 'archive.tar'));
      const [img] = await openImages(ref, testScanOptions());
      assert.equal(img?.artifactType, TYPE);
      const outcomes = await scan(ref, testScanOptions());
      const results = outcomes[0]?.results ?? [];
      assert.equal(results.find((r) => r.Id === 'nc')?.Pass, false);
      assert.equal(results.find((r) => r.Id === 'default-user')?.Pass, false);
      const doc = scanDocument([{ input: ref, scans: outcomes }]);
      assert.equal(doc.images[0]?.artifactType, TYPE);
    });
  }
});
