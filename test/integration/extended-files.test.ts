/**
 * The extended filesystem checks through the real pipeline (docs/checks.md, "Extended checks:
 * the filesystem"):
 *
 * - an image built in code (test/helpers/image-builder.ts) with planted secrets, one of them
 *   deleted by a later layer, scanned by the library's scan() with a disk facts store and a
 *   debug logger: no output holds a planted secret — the legacy report, the JSON document,
 *   SARIF, JUnit, the table and terminal text, the debug log, the facts cache files;
 * - an image built by `buildah bud --layers` from a real Dockerfile (FROM scratch, a root made
 *   in the test from the host's dash and rm: no network) that copies a private key and deletes
 *   it in a later RUN, leaves apt lists and an .npmrc with a token; written by `buildah push`
 *   as an OCI archive and scanned. Needs buildah and root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { FILE_EXTENDED_CHECKS } from '../../src/checks/extended-files.js';
import { ALL_CHECKS } from '../../src/checks/index.js';
import type { ReportResult } from '../../src/report/model.js';
import { scanDocument } from '../../src/report/formats/json.js';
import { junitXml } from '../../src/report/formats/junit.js';
import { sarifLog } from '../../src/report/formats/sarif.js';
import { tableText } from '../../src/report/formats/table.js';
import { terminalChunks } from '../../src/report/formats/terminal.js';
import { scan, type ImageScan } from '../../src/scan.js';
import { diskFactsStore } from '../../src/store/disk.js';
import { buildImage, writeOciLayout, type EntrySpec } from '../helpers/image-builder.js';
import { tempDir, testScanOptions } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';
import { missingTools } from '../helpers/tools.js';

const run = promisify(execFile);

/** Made-up credentials in the formats the rules match. */
const NPM_TOKEN = `npm_${'Qw3rTy7UiOpA'.repeat(3)}`;
const GITHUB_TOKEN = 'ghp_Pl4nt3dT0k3nF0rTh3T3stOnly0123456789';
const KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDPlantedKeyBody0123';
const PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\nAbCdEfGh\n-----END PRIVATE KEY-----\n`;
const PLANTED = [NPM_TOKEN, GITHUB_TOKEN, KEY_BODY];

const CHECKS = [...ALL_CHECKS, ...FILE_EXTENDED_CHECKS];
const APT_LIST = 'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages';

function byId(scan: ImageScan, id: string): ReportResult {
  const r = scan.results.find((x) => x.Id === id);
  assert.ok(r, `no result ${id}`);
  return r;
}

/** Asserts that no planted secret is in `text` (`what` names the output). */
function assertNoSecret(text: string, what: string): void {
  for (const secret of PLANTED) assert.ok(!text.includes(secret), `${what} holds the planted secret ${secret.slice(0, 4)}…`);
}

describe('secret-files: no output holds a secret', () => {
  it('reports the secrets (one deleted later) in every format, the debug log and the facts cache without their values', async () => {
    const { dir, cleanup } = await tempDir('oci-scan-secrets-');
    try {
      const layers: Array<{ entries: EntrySpec[] }> = [
        {
          entries: [
            { type: 'file', path: 'root/.npmrc', content: `//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n` },
            { type: 'file', path: 'app/deploy.key', content: PRIVATE_KEY },
            { type: 'file', path: 'app/ci.yml', content: `token: ${GITHUB_TOKEN}\n` },
          ],
        },
        { entries: [{ type: 'file', path: 'app/.wh.deploy.key', content: '' }] },
      ];
      await writeOciLayout(join(dir, 'img'), [{ image: buildImage({ layers }), tag: '1.0' }]);
      let log = '';
      const sink = new Writable({
        write(chunk: Buffer, _e, done) {
          log += chunk.toString();
          done();
        },
      });
      const logger = pino({ level: 'trace' }, sink);
      const store = diskFactsStore(join(dir, 'cache'), { logger });
      const [result] = await scan(`oci:${join(dir, 'img')}:1.0`, testScanOptions({ checks: CHECKS, store, logger }));
      assert.ok(result);
      const secrets = byId(result, 'secret-files');
      assert.equal(secrets.Pass, false);
      assert.match(secrets.Description, /\/app\/deploy\.key: private-key line 2: /);
      assert.match(
        secrets.Description,
        /removed from the final filesystem by a later layer, still present in the image's layers: \/app\/deploy\.key/,
      );
      assert.match(secrets.Description, /\/root\/\.npmrc: npmrc-token line 1: "npm_…" \(40 chars, sha256:[0-9a-f]{8}\)/);
      const [first] = result.image.layers;
      assert.ok(first);
      assert.deepEqual(secrets.Files, [{ [first.digest]: ['/app/ci.yml', '/app/deploy.key', '/root/.npmrc'] }]);

      const outcomes = [{ input: 'img', scans: [result] }];
      const outputs: Array<[string, string]> = [
        ['the legacy report', JSON.stringify(result.report)],
        ['the JSON document', JSON.stringify(scanDocument(outcomes))],
        ['the SARIF log', JSON.stringify(sarifLog(outcomes))],
        ['the JUnit XML', junitXml(outcomes)],
        ['the table', tableText(result, { quiet: false })],
        ['the terminal text', [...terminalChunks(result.results, { colour: false })].join('')],
      ];
      for (const [what, text] of outputs) {
        assert.ok(text.includes('secret'), `${what} has the check`);
        assertNoSecret(text, what);
      }
      assert.match(log, /layer inspected/, 'the debug log was written');
      assertNoSecret(log, 'the debug log');
      const files = await readdir(join(dir, 'cache'));
      assert.ok(files.length > 0, 'the facts cache was written');
      for (const f of files) assertNoSecret(await readFile(join(dir, 'cache', f), 'utf8'), `cache file ${f}`);
      const cached = (await Promise.all(files.map((f) => readFile(join(dir, 'cache', f), 'utf8')))).join('\n');
      assert.match(cached, /npmrc-token line 1: \\"npm_…\\"/, 'the cache holds the fingerprint');
    } finally {
      await cleanup();
    }
  });
});

const tools = missingTools({ buildah: 'buildah' }, true);
if (tools.skip) console.error(`!!! extended-files real-tool test SKIPPED: ${tools.skip}`);

describeOrSkip(
  'extended filesystem checks on an image built by buildah bud from a Dockerfile',
  { skip: tools.skip, timeout: 300_000 },
  () => {
    let dir = '';
    let cleanup: () => Promise<void> = async () => undefined;
    let result: ImageScan | undefined;

    before(async () => {
      if (tools.missing.length > 0)
        throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${tools.missing.join(', ')} missing (apt-get install ${tools.packages.join(' ')})`);
      ({ dir, cleanup } = await tempDir('oci-scan-ext-buildah-'));
      const ctx = join(dir, 'ctx');
      const root = join(ctx, 'rootfs');
      // A root the RUN instruction can run in: the host's dash and rm with the libraries they load.
      const { stdout } = await run('ldd', ['/usr/bin/dash', '/usr/bin/rm']);
      const libs = [...new Set([...stdout.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1] ?? ''))];
      await mkdir(join(root, 'bin'), { recursive: true });
      await copyFile('/usr/bin/dash', join(root, 'bin/sh'));
      await copyFile('/usr/bin/rm', join(root, 'bin/rm'));
      for (const lib of libs) {
        await mkdir(join(root, lib, '..'), { recursive: true });
        await copyFile(lib, join(root, lib));
      }
      await run('chmod', ['0755', join(root, 'bin/sh'), join(root, 'bin/rm')]);
      await run('tar', ['-C', root, '-cf', join(ctx, 'rootfs.tar'), '.']);
      await writeFile(join(ctx, 'deploy.key'), PRIVATE_KEY);
      await writeFile(join(ctx, 'npmrc'), `//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n`);
      await writeFile(join(ctx, 'Packages'), 'Package: curl\n'.repeat(500));
      await writeFile(
        join(ctx, 'Dockerfile'),
        [
          'FROM scratch',
          'ADD rootfs.tar /',
          'COPY deploy.key /app/deploy.key',
          `COPY Packages /${APT_LIST}`,
          'COPY npmrc /root/.npmrc',
          'RUN rm /app/deploy.key',
          'CMD ["/bin/sh"]',
          '',
        ].join('\n'),
      );
      const storage = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
      await run('buildah', [
        ...storage,
        'bud',
        '--layers',
        '--isolation',
        'chroot',
        '-f',
        join(ctx, 'Dockerfile'),
        '-t',
        'localhost/leaky:1.0',
        ctx,
      ]);
      await run('buildah', [...storage, 'push', 'localhost/leaky:1.0', `oci-archive:${join(dir, 'leaky.tar')}:leaky:1.0`]);
      [result] = await scan(`oci-archive:${join(dir, 'leaky.tar')}:leaky:1.0`, testScanOptions({ checks: CHECKS }));
    });
    after(() => cleanup());

    it('reports the key in the COPY layer though the RUN layer deleted it', () => {
      assert.ok(result);
      const secrets = byId(result, 'secret-files');
      assert.equal(secrets.Pass, false);
      const keyLayer = (secrets.Files ?? []).find((l) => Object.values(l).flat().includes('/app/deploy.key'));
      assert.ok(keyLayer, JSON.stringify(secrets.Files));
      const digest = Object.keys(keyLayer)[0] ?? '';
      // The COPY layer is the second of the image (ADD root, COPY key, …): the one that added the key.
      assert.equal(digest, result.image.layers[1]?.digest);
      assert.match(
        secrets.Description,
        /removed from the final filesystem by a later layer, still present in the image's layers: [^)]*\/app\/deploy\.key/,
      );
      assert.match(secrets.Description, /\/root\/\.npmrc: npmrc-token line 1: /);
      assertNoSecret(JSON.stringify(result.results), 'the results');
    });

    it('fails on the apt lists left, with their size', () => {
      assert.ok(result);
      const caches = byId(result, 'package-caches');
      assert.equal(caches.Pass, false);
      assert.match(caches.Description, /apt package lists at \/var\/lib\/apt\/lists: 1 file, 6\.8 KiB added by layer sha256:/);
    });

    it('passes world-writable and leftover-files on the clean root', () => {
      assert.ok(result);
      assert.equal(byId(result, 'world-writable').Pass, true);
      assert.equal(byId(result, 'leftover-files').Pass, true);
    });
  },
);
