/**
 * The executable's bundle and its V8 code cache (src/cli/code-cache.ts, scripts/bundle.js,
 * docs/architecture.md "Start-up"): the build's cache is one V8 takes under the executable's
 * flags, and only then; a cache is used only for the bytes it was made from, so a bundle changed
 * in place (even to the same length, which is all V8 compares) runs its new code; no cache, a
 * foreign one or no bundle at all still run the CLI. And the bundle holds undici's parts: a
 * registry run loads no file of undici from node_modules.
 *
 * Each V8 here is a child process: a code cache is taken or not by V8's flags, which the test
 * runner's process does not share with the executable.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CODE_CACHE_SUFFIX } from '../../../src/cli/code-cache.js';
import { CLI, tempDir } from '../../helpers/scan.js';

const CODE_CACHE = fileURLToPath(new URL('../../../src/cli/code-cache.js', import.meta.url));
const FLAGS = fileURLToPath(new URL('../../../src/cli/flags.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../../src/cli/oci-scan.cjs', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../../../package.json', import.meta.url)), 'utf8')) as { version: string }
).version;

/** Runs `code` (an ES module) in a new Node with `args` as process.argv[1…]; its stdout, trimmed. */
function node(code: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, ...args], { encoding: 'utf8', env });
  assert.equal(r.status, 0, `the child failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Whether V8 takes the cache of the bundle `file`, under the executable's flags when `cliFlags`. */
function cacheTaken(file: string, cliFlags: boolean, env: NodeJS.ProcessEnv = process.env): string {
  return node(
    `import { loadBundle } from ${JSON.stringify(CODE_CACHE)};
     import { setCliFlags } from ${JSON.stringify(FLAGS)};
     if (${cliFlags}) setCliFlags();
     const b = loadBundle(process.argv[1]);
     console.log(b === undefined ? 'no bundle' : String(b.cached));`,
    [file],
    env,
  );
}

describe("the executable's bundle", () => {
  it("has a code cache, made from its bytes, which V8 takes under the executable's flags only", () => {
    const cache = readFileSync(`${BUNDLE}${CODE_CACHE_SUFFIX}`);
    assert.deepEqual(
      cache.subarray(0, 32),
      createHash('sha256').update(readFileSync(BUNDLE)).digest(),
      'the cache names the bundle it was made from',
    );
    assert.equal(cacheTaken(BUNDLE, true), 'true');
    // Other V8 flags: the cache is refused, the bundle compiled from its source.
    assert.equal(cacheTaken(BUNDLE, false), 'false');
    // OCI_SCAN_ZSTD=wasm leaves the optimizing compiler on (src/cli/flags.ts): another V8, still a working CLI.
    const env = { ...process.env, OCI_SCAN_ZSTD: 'wasm' };
    assert.equal(cacheTaken(BUNDLE, true, env), 'false');
    const r = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  });

  it('holds undici: a registry run loads no file of undici from node_modules', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/v2/') res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { dir, cleanup } = await tempDir();
    try {
      const loaded = join(dir, 'loaded.json');
      const hook = join(dir, 'hook.cjs');
      writeFileSync(
        hook,
        `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(Object.keys(require.cache))));`,
      );
      const { port } = server.address() as AddressInfo;
      // Asynchronous: the server answers from this process's event loop.
      const r = await runAsync(['-r', hook, CLI, `127.0.0.1:${port}/app:1.0`, '--reports-dir', join(dir, 'r'), '--progress', 'none'], {
        OCI_SCAN_CACHE_DIR: join(dir, 'cache'),
      });
      assert.notEqual(r.status, 0, 'no such image');
      assert.match(r.stderr, /app:1\.0/);
      assert.ok(
        seen.some((s) => s.startsWith('GET /v2/app/manifests/1.0')),
        `the CLI asked for the manifest: ${seen.join(', ')}`,
      );
      const files = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
      assert.deepEqual(
        files.filter((f) => f.includes(`${'node_modules'}/undici/`)),
        [],
        'undici came from the bundle',
      );
    } finally {
      server.close();
      await cleanup();
    }
  });
});

/** Runs Node with `args` and `env` added; resolves with its exit status and stderr. */
function runAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('a code cache', () => {
  /** Writes a bundle printing `word`, trains its cache in a child; the bundle's path. */
  async function trained(dir: string, word: string): Promise<string> {
    const file = join(dir, 'b.cjs');
    writeFileSync(
      file,
      `function say(w) { return 'said ' + w; }\nconsole.log(say(${JSON.stringify(word)}), typeof require, module.exports !== undefined, __filename === ${JSON.stringify(file)});\n`,
    );
    const out = node(`import { trainCodeCache } from ${JSON.stringify(CODE_CACHE)}; trainCodeCache(process.argv[1]);`, [file]);
    assert.equal(out, `said ${word} function true true`, 'the bundle ran as a CommonJS module');
    assert.ok(existsSync(`${file}${CODE_CACHE_SUFFIX}`), 'the cache was written as the process exited');
    return file;
  }
  const run = (file: string): string =>
    node(`import { runBundle } from ${JSON.stringify(CODE_CACHE)}; console.log(runBundle(process.argv[1]));`, [file]);

  it('is used for the bytes it was made from, and not for a bundle changed to the same length', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = await trained(dir, 'alpha');
      assert.equal(cacheTaken(file, false), 'true');
      assert.equal(run(file), 'said alpha function true true\ntrue');
      // Same length, other code: V8 alone (it compares lengths) would run the cached function.
      writeFileSync(file, readFileSync(file, 'utf8').replace("'said '", "'SAID '"));
      assert.equal(cacheTaken(file, false), 'false');
      assert.equal(run(file), 'SAID alpha function true true\ntrue');
    } finally {
      await cleanup();
    }
  });

  it('that is garbage, empty, missing or unreadable is no cache; no bundle runs nothing', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const file = await trained(dir, 'beta');
      const hash = readFileSync(`${file}${CODE_CACHE_SUFFIX}`).subarray(0, 32);
      for (const cache of [Buffer.concat([hash, Buffer.from('not V8 data')]), hash, Buffer.alloc(0)]) {
        writeFileSync(`${file}${CODE_CACHE_SUFFIX}`, cache);
        assert.equal(cacheTaken(file, false), 'false');
        assert.equal(run(file), 'said beta function true true\ntrue');
      }
      // A cache that cannot be read (here a directory: EISDIR) is no cache either.
      rmSync(`${file}${CODE_CACHE_SUFFIX}`);
      mkdirSync(`${file}${CODE_CACHE_SUFFIX}`);
      assert.equal(cacheTaken(file, false), 'false');
      assert.equal(run(file), 'said beta function true true\ntrue');
      assert.equal(cacheTaken(join(dir, 'none.cjs'), false), 'no bundle');
      assert.equal(run(join(dir, 'none.cjs')), 'false');
    } finally {
      await cleanup();
    }
  });
});
