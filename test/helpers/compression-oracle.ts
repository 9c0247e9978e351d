/**
 * The runtimes' compression detection and decoders as a test oracle: builds
 * test/oracle/compression (containers/image's pkg/compression and containerd's
 * archive/compression, from Debian's Go sources in GOPATH mode, offline) once per source hash
 * into os.tmpdir(), runs it as one long-lived process and judges many blobs through it
 * (docs/architecture.md, "Decoders").
 *
 * When `go` or the Go sources are missing, `compressionOracleSkip()` says so in one loud line
 * (callers skip), unless OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import { execFile, execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** What the runtimes make of one blob (see test/oracle/compression/main.go). */
export interface RuntimeVerdict {
  /** containers/image's detection: 'gzip' | 'bzip2' | 'xz' | 'zstd', or '' for none. */
  readonly image: string;
  /** containerd's detection: 'gzip' | 'zstd', or ''. */
  readonly containerd: string;
  /** sha256 of what c/image's decompressor (or the blob itself, undetected) reads; '' on error. */
  readonly sha256: string;
  readonly error: string | null;
  /** Set when containerd detects a compression c/image does not: what its decoder reads. */
  readonly containerdSha256: string;
  readonly containerdError: string | null;
}

/** The Go sources the oracle is built from (Debian packages). */
const GOCODE = '/usr/share/gocode/src';
const NEEDED = [`${GOCODE}/github.com/containers/image/pkg/compression`, `${GOCODE}/github.com/containerd/containerd/archive/compression`];
const MAX_BLOB = 1 << 30;

function sourceDir(): string {
  for (const rel of ['../oracle/compression/', '../../../test/oracle/compression/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'main.go'))) return dir;
  }
  throw new Error('test/oracle/compression/main.go not found next to the test helpers');
}

function goVersion(): string | undefined {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/**
 * `false` when the oracle can be built; else the reason to skip, printed once. Throws when
 * OCI_SCAN_REQUIRE_TOOLS=1, so that CI cannot pass by skipping.
 */
export function compressionOracleSkip(what: string): string | false {
  const missing = [
    ...(goVersion() === undefined ? ['go (apt-get install golang-go)'] : []),
    ...NEEDED.filter((d) => !existsSync(d)).map(
      (d) => `${d} (apt-get install golang-github-containers-image-dev golang-github-containerd-containerd-dev)`,
    ),
  ];
  if (missing.length === 0) return false;
  const reason = `${what} SKIPPED: ${missing.join(', ')} missing`;
  if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1') throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${missing.join(', ')} missing`);
  console.error(`!!! ${reason}`);
  return reason;
}

/** Builds the oracle unless a binary of this source and Go version is cached; returns its path. */
async function buildOracle(): Promise<string> {
  const version = goVersion();
  if (version === undefined) throw new Error('go not installed (apt-get install golang-go)');
  const src = sourceDir();
  const hash = createHash('sha256')
    .update(version)
    .update(readFileSync(join(src, 'main.go')));
  const dir = join(tmpdir(), `oci-scan-compression-oracle-${hash.digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'compressionoracle');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  // GOPATH mode: containers/image is imported as .../image/v5, a path GOPATH mode does not map;
  // one symlink in an extra GOPATH entry fixes that.
  const gopath = await mkdtemp(join(tmpdir(), 'oci-scan-gopath-'));
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await mkdir(join(gopath, 'src/github.com/containers/image'), { recursive: true });
    await symlink(`${GOCODE}/github.com/containers/image`, join(gopath, 'src/github.com/containers/image/v5'));
    await promisify(execFile)('go', ['build', '-trimpath', '-o', tmp, '.'], {
      cwd: src,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: `${gopath}:/usr/share/gocode`,
        GOPROXY: 'off',
        GOTOOLCHAIN: 'local',
        GOFLAGS: '',
        GOCACHE: process.env['GOCACHE'] ?? join(tmpdir(), 'oci-scan-gocache'),
      },
    });
    await rename(tmp, bin);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    await rm(gopath, { recursive: true, force: true });
  }
  return bin;
}

type Pending = { resolve: (v: RuntimeVerdict) => void; reject: (e: Error) => void };

/** One running oracle process; answers come back in the order the blobs were written. */
class CompressionOracle {
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #pending: Pending[] = [];
  #stderr = '';
  #failed: Error | undefined;

  constructor(bin: string) {
    this.#child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-4000);
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const p = this.#pending.shift();
      if (!p) return this.#fail(new Error(`the compression oracle printed a line nobody asked for: ${line.slice(0, 200)}`));
      try {
        const v = JSON.parse(line) as RuntimeVerdict;
        p.resolve({ ...v, image: v.image.toLowerCase() });
      } catch (err) {
        p.reject(new Error(`the compression oracle printed a line that is not JSON (${String(err)}): ${line.slice(0, 200)}`));
      }
    });
    this.#child.on('error', (err) => this.#fail(err));
    this.#child.on('exit', (code, signal) =>
      this.#fail(new Error(`the compression oracle exited (${code ?? signal}): ${this.#stderr.trim()}`)),
    );
    this.#child.stdin.on('error', (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  async judge(blobs: readonly Uint8Array[]): Promise<RuntimeVerdict[]> {
    if (this.#failed) throw this.#failed;
    const answers = blobs.map((blob) => {
      if (blob.length > MAX_BLOB) throw new Error(`a ${blob.length}-byte blob is over the oracle's framing limit`);
      return new Promise<RuntimeVerdict>((resolve, reject) => this.#pending.push({ resolve, reject }));
    });
    for (const blob of blobs) {
      const frame = Buffer.alloc(8);
      frame.writeBigUInt64BE(BigInt(blob.length));
      this.#child.stdin.write(frame);
      if (!this.#child.stdin.write(blob)) await once(this.#child.stdin, 'drain');
    }
    return Promise.all(answers);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#failed ??= new Error('the compression oracle was closed');
    this.#child.stdin.end();
    await exited;
  }
}

let shared: Promise<CompressionOracle> | undefined;

/** What the runtimes make of each blob (one shared process, started on first use). */
export async function judgeWithRuntimes(blobs: readonly Uint8Array[]): Promise<RuntimeVerdict[]> {
  shared ??= buildOracle().then((bin) => new CompressionOracle(bin));
  return (await shared).judge(blobs);
}

/** Stops the shared process (call from `after`, or the test process never ends). */
export async function closeCompressionOracle(): Promise<void> {
  const running = shared;
  shared = undefined;
  if (running) await (await running).close();
}
