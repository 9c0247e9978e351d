/**
 * Check 1 on OCI layouts and archives whose index.json (or the command line) names a full
 * image name (docs/checks.md, check 1): the tag is read as containerd's import and podman's
 * load read it (src/reference/ref-name.ts; the rule itself is proven against their code in
 * test/unit/reference/ref-name-differential.test.ts), so `localhost/app:latest` is `latest`.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scan } from '../../../src/scan.js';
import { buildImage, writeOciArchive, writeOciLayout } from '../../helpers/image-builder.js';
import { tempDir, testScanOptions } from '../../helpers/scan.js';

const image = buildImage({ config: { Cmd: ['/app'] }, layers: [{ entries: [{ type: 'file', path: 'app', mode: 0o755, content: 'x' }] }] });

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
before(async () => {
  ({ dir, cleanup } = await tempDir('oci-scan-layout-names-'));
});
after(() => cleanup());

/** The tag-latest result of scanning `input`. */
async function tagResult(input: string): Promise<{ pass: boolean; description: string }> {
  const [scanned] = await scan(input, testScanOptions());
  const r = scanned?.results.find((x) => x.Id === 'tag-latest');
  assert.ok(r);
  return { pass: r.Pass, description: r.Description };
}

/** A layout whose one entry carries `annotations`. */
async function layoutWith(name: string, annotations: Record<string, string>): Promise<string> {
  const root = join(dir, name);
  await writeOciLayout(root, [{ image }]);
  const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as {
    manifests: Array<{ annotations?: Record<string, string> }>;
  };
  const [entry] = index.manifests;
  assert.ok(entry);
  entry.annotations = annotations;
  await writeFile(join(root, 'index.json'), JSON.stringify(index));
  return root;
}

describe('check 1: full image names in OCI layouts', () => {
  const recorded: Array<[string, string, boolean, string]> = [
    ['localhost/app:latest', 'localhost/app:latest', false, 'has tag: latest'],
    ['example.com/team/app:latest', 'example.com/team/app:latest', false, 'has tag: latest'],
    ['name:latest', 'name:latest', false, 'has tag: latest'],
    ['a full name without a tag is latest', 'example.com:5000/app', false, 'has tag: latest'],
    ['a registry port and a tag', 'example.com:5000/app:1.0', true, 'has tag: 1.0'],
    ['a bare tag', '1.0', true, 'has tag: 1.0'],
    ['a bare latest', 'latest', false, 'has tag: latest'],
  ];
  for (const [what, refName, pass, text] of recorded) {
    it(`ref.name ${JSON.stringify(refName)} (${what}): ${pass ? 'passes' : 'fails'}, from a layout and an archive`, async () => {
      const safe = refName.replace(/[^a-z0-9]/gi, '_');
      const layout = await layoutWith(`ref-${safe}`, { 'org.opencontainers.image.ref.name': refName });
      const archive = join(dir, `ref-${safe}.tar`);
      await writeOciArchive(archive, [{ image, tag: refName }]);
      for (const input of [`oci:${layout}`, `oci-archive:${archive}`]) {
        const r = await tagResult(input);
        assert.equal(r.pass, pass, `${input}: ${r.description}`);
        assert.ok(r.description.endsWith(text), `${input}: ${r.description}`);
      }
    });
  }

  it('a name given after the path is read the same way (the entry is chosen by its exact ref.name)', async () => {
    const layout = await layoutWith('cli-layout', { 'org.opencontainers.image.ref.name': 'localhost/app:latest' });
    assert.deepEqual(await tagResult(`oci:${layout}:localhost/app:latest`), {
      pass: false,
      description: `Image oci:${layout}:localhost/app:latest has tag: latest`,
    });
    const archive = join(dir, 'cli-archive.tar');
    await writeOciArchive(archive, [{ image, tag: 'example.com:5000/app:latest' }]);
    assert.deepEqual(await tagResult(`oci-archive:${archive}:example.com:5000/app:latest`), {
      pass: false,
      description: `Image oci-archive:${archive}:example.com:5000/app:latest has tag: latest`,
    });
    const tagged = join(dir, 'cli-tagged.tar');
    await writeOciArchive(tagged, [{ image, tag: 'example.com:5000/app:2.1' }]);
    assert.deepEqual(await tagResult(`oci-archive:${tagged}:example.com:5000/app:2.1`), {
      pass: true,
      description: `Image oci-archive:${tagged}:example.com:5000/app:2.1 has tag: 2.1`,
    });
  });

  it("containerd's io.containerd.image.name is the name containerd's import and podman's load give the image", async () => {
    const layout = await layoutWith('containerd-name', {
      'org.opencontainers.image.ref.name': '1.0',
      'io.containerd.image.name': 'docker.io/library/app:latest',
    });
    assert.deepEqual(await tagResult(`oci:${layout}`), { pass: false, description: `Image oci:${layout} has tag: latest` });
    assert.deepEqual(await tagResult(`oci:${layout}:1.0`), { pass: false, description: `Image oci:${layout}:1.0 has tag: latest` });
    const agreeing = await layoutWith('containerd-name-agrees', {
      'org.opencontainers.image.ref.name': '1.0',
      'io.containerd.image.name': 'docker.io/library/app:1.0',
    });
    assert.deepEqual(await tagResult(`oci:${agreeing}`), { pass: true, description: `Image oci:${agreeing} has tag: 1.0` });
  });

  it('a digest in the name pins it, as the runtimes name it', async () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const layout = await layoutWith('digest-name', { 'org.opencontainers.image.ref.name': `example.com/app:latest@${digest}` });
    assert.deepEqual(await tagResult(`oci:${layout}`), { pass: true, description: `Image oci:${layout} is pinned by digest ${digest}` });
  });
});
