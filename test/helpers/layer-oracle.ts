/**
 * containers/storage as a test oracle for layer application: builds test/oracle/applylayer
 * (Go, GOPATH mode, offline, against Debian's golang-github-containers-storage-dev; see its
 * header) once per source hash into os.tmpdir(), runs it as one long-lived process, and asks it
 * to apply layer tars as podman's vfs or overlay driver would (docs/security.md, "Runtime
 * parity").
 *
 * When go, the Go sources or root are missing, `layerOracleSkip()` says so in one loud line
 * (callers skip), unless OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import { execFile, execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** One path of a root filesystem as the oracle lists it (test/oracle/applylayer/main.go). */
export interface OracleEntry {
  readonly path: string;
  readonly type: 'dir' | 'file' | 'symlink' | 'char-device' | 'block-device' | 'fifo' | 'other';
  /** `& 07777`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly target?: string;
  /** Base64 of a regular file's content. */
  readonly content?: string;
  /** Hex of the security.capability xattr. */
  readonly capability?: string;
  /** Equal for paths that are one inode (hard links). */
  readonly inode: number;
}

/** What a driver made of a list of layers: the root filesystem, or the error that stopped it. */
export interface OracleResult {
  readonly error: string | null;
  /** Index of the layer the driver refused (-1: none). */
  readonly failedLayer: number;
  readonly entries: readonly OracleEntry[];
}

/** The drivers the oracle applies layers as. */
export type OracleDriver = 'vfs' | 'overlay';

/**
 * A request the driver did not finish: containers/storage can block for ever on a hostile
 * layer (os.RemoveAll of a whiteout opens its parent, which may be a FIFO). The oracle is
 * killed and started again for the next request.
 */
export class OracleHang extends Error {
  constructor(driver: OracleDriver, ms: number) {
    super(`${driver} did not finish within ${ms} ms`);
    this.name = 'OracleHang';
  }
}

/** How long one request may take before the oracle is taken for hung. */
const REQUEST_MS = 15_000;

const STORAGE_SOURCES = '/usr/share/gocode/src/github.com/containers/storage';

/** The directory of the Go source, from test/helpers (ts) or dist/test/helpers (js). */
function sourceDir(): string {
  for (const rel of ['../oracle/applylayer/', '../../../test/oracle/applylayer/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'main.go'))) return dir;
  }
  throw new Error('test/oracle/applylayer/main.go not found next to the test helpers');
}

function goVersion(): string | undefined {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/**
 * `false` when the oracle can run; else the reason to skip, printed once. Throws when
 * OCI_SCAN_REQUIRE_TOOLS=1, so that CI cannot pass by skipping.
 */
export function layerOracleSkip(what: string): string | false {
  const missing: string[] = [];
  if (goVersion() === undefined) missing.push('go (apt-get install golang-go)');
  if (!existsSync(join(STORAGE_SOURCES, 'pkg/archive/archive.go')))
    missing.push("containers/storage's Go sources (apt-get install golang-github-containers-storage-dev)");
  if (process.getuid?.() !== 0) missing.push('root (chroot, mknod and mount, as the storage drivers need)');
  if (missing.length === 0) return false;
  const reason = `${what} SKIPPED: ${missing.join(', ')} not available`;
  if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1') throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${missing.join(', ')} not available`);
  console.error(`!!! ${reason}`);
  return reason;
}

/** Builds applylayer unless a binary of this source and Go version is cached; returns its path. */
async function buildApplylayer(): Promise<string> {
  const version = goVersion();
  if (version === undefined) throw new Error('go not installed (apt-get install golang-go)');
  const src = sourceDir();
  const hash = createHash('sha256')
    .update(version)
    .update('\0main.go\0')
    .update(readFileSync(join(src, 'main.go')));
  // The Debian package's version is part of what is built.
  const changelog = '/usr/share/doc/golang-github-containers-storage-dev/changelog.Debian.gz';
  if (existsSync(changelog)) hash.update(readFileSync(changelog));
  const dir = join(tmpdir(), `oci-scan-applylayer-${hash.digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'applylayer');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  // GOPATH mode (GO111MODULE=off) over Debian's sources (/work/shared/GO-ORACLES.md's recipe):
  // containers/image's /v5 import path needs a symlink in an extra GOPATH entry.
  const gopath = await mkdtemp(join(tmpdir(), 'oci-scan-gopath-'));
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await mkdir(join(gopath, 'src/github.com/containers/image'), { recursive: true });
    await symlink('/usr/share/gocode/src/github.com/containers/image', join(gopath, 'src/github.com/containers/image/v5'));
    await promisify(execFile)('go', ['build', '-trimpath', '-o', tmp, '.'], {
      cwd: src,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: `${gopath}:/usr/share/gocode`,
        GOFLAGS: '',
        GOPROXY: 'off',
        GOTOOLCHAIN: 'local',
        CGO_ENABLED: '0',
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

type Pending = { resolve: (r: OracleResult) => void; reject: (e: Error) => void };

/** One running applylayer process; answers come back in the order the requests were written. */
class LayerOracle {
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #pending: Pending[] = [];
  readonly #work: string;
  #stderr = '';
  #failed: Error | undefined;

  constructor(bin: string, work: string) {
    this.#work = work;
    // Its own process group (the chroot helpers it starts are killed with it) and temporary
    // directory (what a killed run leaves is removed with it).
    this.#child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, TMPDIR: work } });
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-4000);
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const p = this.#pending.shift();
      if (!p) return this.#fail(new Error(`applylayer printed a line nobody asked for: ${line.slice(0, 200)}`));
      try {
        p.resolve(JSON.parse(line) as OracleResult);
      } catch (err) {
        p.reject(new Error(`applylayer printed a line that is not JSON (${String(err)}): ${line.slice(0, 200)}`));
      }
    });
    this.#child.on('error', (err) => this.#fail(err));
    this.#child.on('exit', (code, signal) => this.#fail(new Error(`applylayer exited (${code ?? signal}): ${this.#stderr.trim()}`)));
    this.#child.stdin.on('error', (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  apply(driver: OracleDriver, tars: readonly Uint8Array[]): Promise<OracleResult> {
    if (this.#failed) return Promise.reject(this.#failed);
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<OracleResult>((resolve, reject) => {
      this.#pending.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      timer = setTimeout(() => this.#fail(new OracleHang(driver, REQUEST_MS)), REQUEST_MS);
    });
    const body = Buffer.from(JSON.stringify({ driver, layers: tars.map((t) => Buffer.from(t).toString('base64')) }));
    const frame = Buffer.alloc(8);
    frame.writeBigUInt64BE(BigInt(body.length));
    this.#child.stdin.write(frame);
    this.#child.stdin.write(body);
    return answer;
  }

  /** Ends the process (its whole group when it does not answer) and removes what it left. */
  async close(): Promise<void> {
    const running = this.#child.exitCode === null && this.#child.signalCode === null;
    this.#failed ??= new Error('applylayer was closed');
    if (running) {
      const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
      this.#child.stdin.end();
      const pid = this.#child.pid;
      // A hung request never reads the end of its input: kill the group.
      const timer = setTimeout(() => pid !== undefined && process.kill(-pid, 'SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
      if (pid !== undefined) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
      }
    }
    // An overlay left mounted by a killed run, then the directory.
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(this.#work + '/'));
    for (const m of mounts) await promisify(execFile)('umount', ['-l', m]).catch(() => undefined);
    await rm(this.#work, { recursive: true, force: true });
  }
}

let shared: Promise<LayerOracle> | undefined;

/** Applies `tars` in order as `driver` would (one shared process, started on first use; started again after a hang). */
export async function applyWithStorage(driver: OracleDriver, tars: readonly Uint8Array[]): Promise<OracleResult> {
  shared ??= buildApplylayer().then(async (bin) => new LayerOracle(bin, await mkdtemp(join(tmpdir(), 'oci-scan-applylayer-run-'))));
  const oracle = await shared;
  try {
    return await oracle.apply(driver, tars);
  } catch (err) {
    if (err instanceof OracleHang) {
      shared = undefined;
      await oracle.close();
    }
    throw err;
  }
}

/** Stops the shared process (call from `after`, or the test process never ends). */
export async function closeLayerOracle(): Promise<void> {
  const running = shared;
  shared = undefined;
  if (running) await (await running).close();
}
