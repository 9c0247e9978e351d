/**
 * Go's archive/tar as a test oracle: builds test/oracle/tarlist (stdlib only) with the
 * installed `go` (Debian `golang-go`) once per source hash into os.tmpdir(), runs it as one
 * long-lived process and lists many tars through it (docs/security.md, "Tar parity with Go's
 * archive/tar").
 *
 * When `go` is missing, `goOracleSkip()` says so in one loud line (callers skip), unless
 * OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import { execFile, execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** One entry as Go's tar.Reader.Next() returned it (see test/oracle/tarlist/main.go). */
export interface GoEntry {
  /** Header.Name as a JSON string (invalid UTF-8 bytes as U+FFFD). */
  readonly name: string;
  /** Header.Name's exact bytes, hex. */
  readonly nameHex: string;
  readonly linkname: string;
  readonly linknameHex: string;
  /** Header.Typeflag as one character, U+0000..U+00FF. */
  readonly typeflag: string;
  /** Header.Mode & 0o7777. */
  readonly mode: number;
  /** Header.Uid, Header.Gid and Header.Size as exact decimal strings. */
  readonly uid: string;
  readonly gid: string;
  readonly size: string;
  /** Where the entry's stored data begins, and how many bytes are stored (decimal; -1: unknown). */
  readonly dataOffset: string;
  readonly dataSize: string;
  /** sha256 (hex) of the content as Go reads it, holes as zeros; "" above 16 MiB or after a read error. */
  readonly sha256: string;
  /**
   * Set on a 'g' header with a bad record: Go's mergePAX stops at it while ranging over a map,
   * so whether the "path" record (the name) was applied first differs from run to run.
   */
  readonly nameUnstable?: boolean;
}

/** What Go read of one tar: the entries before the first error, and that error (null: clean end). */
export interface GoListing {
  readonly entries: readonly GoEntry[];
  readonly error: string | null;
}

const SOURCE_FILES = ['main.go', 'go.mod'] as const;
/** Biggest archive the framing of tarlist accepts (its maxArchive). */
const MAX_ARCHIVE = 1 << 30;

/** The directory of the Go source, from test/helpers (ts) or dist/test/helpers (js). */
function sourceDir(): string {
  for (const rel of ['../oracle/tarlist/', '../../../test/oracle/tarlist/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'main.go'))) return dir;
  }
  throw new Error('test/oracle/tarlist/main.go not found next to the test helpers');
}

/** The `go version` line, or undefined when go does not run. */
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
export function goOracleSkip(what: string): string | false {
  if (goVersion() !== undefined) return false;
  const reason = `${what} SKIPPED: go not installed (apt-get install golang-go)`;
  if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1')
    throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but go is missing (apt-get install golang-go)`);
  console.error(`!!! ${reason}`);
  return reason;
}

/** Builds tarlist unless a binary of this source and Go version is cached; returns its path. */
export async function buildTarlist(): Promise<string> {
  const version = goVersion();
  if (version === undefined) throw new Error('go not installed (apt-get install golang-go)');
  const src = sourceDir();
  const hash = createHash('sha256').update(version);
  for (const f of SOURCE_FILES) hash.update(`\0${f}\0`).update(readFileSync(join(src, f)));
  const dir = join(tmpdir(), `oci-scan-tarlist-${hash.digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'tarlist');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  // Built under a unique name then renamed: test files running at once never see half a binary.
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await promisify(execFile)('go', ['build', '-trimpath', '-o', tmp, '.'], {
      cwd: src,
      // Offline and stdlib only: no module download can happen; a cache dir even without $HOME.
      env: {
        ...process.env,
        GOFLAGS: '-mod=mod',
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
  }
  return bin;
}

type Pending = { resolve: (l: GoListing) => void; reject: (e: Error) => void };

/** One running tarlist process; answers come back in the order the tars were written. */
class TarOracle {
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
      if (!p) return this.#fail(new Error(`tarlist printed a line nobody asked for: ${line.slice(0, 200)}`));
      try {
        p.resolve(JSON.parse(line) as GoListing);
      } catch (err) {
        p.reject(new Error(`tarlist printed a line that is not JSON (${String(err)}): ${line.slice(0, 200)}`));
      }
    });
    this.#child.on('error', (err) => this.#fail(err));
    this.#child.on('exit', (code, signal) => this.#fail(new Error(`tarlist exited (${code ?? signal}): ${this.#stderr.trim()}`)));
    this.#child.stdin.on('error', (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  async list(tars: readonly Uint8Array[]): Promise<GoListing[]> {
    if (this.#failed) throw this.#failed;
    const answers = tars.map((tar) => {
      if (tar.length > MAX_ARCHIVE) throw new Error(`a ${tar.length}-byte tar is over tarlist's framing limit`);
      return new Promise<GoListing>((resolve, reject) => this.#pending.push({ resolve, reject }));
    });
    for (const tar of tars) {
      const frame = Buffer.alloc(8);
      frame.writeBigUInt64BE(BigInt(tar.length));
      this.#child.stdin.write(frame);
      if (!this.#child.stdin.write(tar)) await once(this.#child.stdin, 'drain');
    }
    return Promise.all(answers);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#failed ??= new Error('tarlist was closed');
    this.#child.stdin.end();
    await exited;
  }
}

let shared: Promise<TarOracle> | undefined;

/** Lists each tar with Go's archive/tar (one shared process, started on first use). */
export async function listWithGo(tars: readonly Uint8Array[]): Promise<GoListing[]> {
  shared ??= buildTarlist().then((bin) => new TarOracle(bin));
  return (await shared).list(tars);
}

/** Stops the shared process (call from `after`, or the test process never ends). */
export async function closeGoOracle(): Promise<void> {
  const running = shared;
  shared = undefined;
  if (running) await (await running).close();
}
