/**
 * runc's libcontainer/user as a test oracle: builds test/oracle/runcuser against Debian's
 * golang-github-opencontainers-runc-dev (GOPATH mode, offline) once per source hash into
 * os.tmpdir(), runs it as one long-lived process and resolves many USER strings through it
 * (docs/security.md, "Runtime parity").
 *
 * When go or the package is missing, `runcOracleSkip()` says so in one loud line (callers
 * skip), unless OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
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

/** Where Debian installs the Go sources of its golang-*-dev packages. */
const GOPATH = '/usr/share/gocode';
const RUNC_USER = join(GOPATH, 'src/github.com/opencontainers/runc/libcontainer/user');

/** One case: USER and the files' bytes (undefined: the file does not exist). */
export interface UserCase {
  readonly user: string;
  readonly passwd: Uint8Array | undefined;
  readonly group: Uint8Array | undefined;
}

/** What runc's GetExecUser returned: ids as decimal Go ints, or `kind: message`. */
export type RuncAnswer = { readonly uid: string; readonly gid: string; readonly error: null } | { readonly error: string };

/** The directory of the Go source, from test/helpers (ts) or dist/test/helpers (js). */
function sourceDir(): string {
  for (const rel of ['../oracle/runcuser/', '../../../test/oracle/runcuser/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'main.go'))) return dir;
  }
  throw new Error('test/oracle/runcuser/main.go not found next to the test helpers');
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
export function runcOracleSkip(what: string): string | false {
  const missing = goVersion() === undefined ? 'go not installed (apt-get install golang-go)' : !existsSync(join(RUNC_USER, 'user.go')) ? `${RUNC_USER} missing (apt-get install golang-github-opencontainers-runc-dev)` : undefined;
  if (missing === undefined) return false;
  if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1') throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${missing}`);
  const reason = `${what} SKIPPED: ${missing}`;
  console.error(`!!! ${reason}`);
  return reason;
}

/** Builds runcuser unless a binary of this source, runc source and Go version is cached; returns its path. */
export async function buildRuncUser(): Promise<string> {
  const version = goVersion();
  if (version === undefined) throw new Error('go not installed (apt-get install golang-go)');
  const src = sourceDir();
  const hash = createHash('sha256').update(version);
  hash.update('\0main.go\0').update(readFileSync(join(src, 'main.go')));
  hash.update('\0user.go\0').update(readFileSync(join(RUNC_USER, 'user.go')));
  const dir = join(tmpdir(), `oci-scan-runcuser-${hash.digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'runcuser');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  // Built under a unique name then renamed: test files running at once never see half a binary.
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await promisify(execFile)('go', ['build', '-trimpath', '-o', tmp, '.'], {
      cwd: src,
      // GOPATH mode over Debian's sources: nothing is downloaded; a cache dir even without $HOME.
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOPROXY: 'off', GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOCACHE: process.env['GOCACHE'] ?? join(tmpdir(), 'oci-scan-gocache') },
    });
    await rename(tmp, bin);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return bin;
}

type Pending = { resolve: (a: RuncAnswer) => void; reject: (e: Error) => void };

const hex = (b: Uint8Array | undefined): string | null => (b === undefined ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));

/** One running runcuser process; answers come back in the order the cases were written. */
class RuncOracle {
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
      if (!p) return this.#fail(new Error(`runcuser printed a line nobody asked for: ${line.slice(0, 200)}`));
      try {
        p.resolve(JSON.parse(line) as RuncAnswer);
      } catch (err) {
        p.reject(new Error(`runcuser printed a line that is not JSON (${String(err)}): ${line.slice(0, 200)}`));
      }
    });
    this.#child.on('error', (err) => this.#fail(err));
    this.#child.on('exit', (code, signal) => this.#fail(new Error(`runcuser exited (${code ?? signal}): ${this.#stderr.trim()}`)));
    this.#child.stdin.on('error', (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  async resolve(cases: readonly UserCase[]): Promise<RuncAnswer[]> {
    if (this.#failed) throw this.#failed;
    const answers = cases.map(() => new Promise<RuncAnswer>((resolve, reject) => this.#pending.push({ resolve, reject })));
    for (const c of cases) {
      const line = JSON.stringify({ user: Buffer.from(c.user, 'utf8').toString('hex'), passwd: hex(c.passwd), group: hex(c.group) }) + '\n';
      if (!this.#child.stdin.write(line)) await once(this.#child.stdin, 'drain');
    }
    return Promise.all(answers);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#failed ??= new Error('runcuser was closed');
    this.#child.stdin.end();
    await exited;
  }
}

let shared: Promise<RuncOracle> | undefined;

/** Resolves each case with runc's GetExecUser (one shared process, started on first use). USER goes to Go as its UTF-8 bytes. */
export async function resolveWithRunc(cases: readonly UserCase[]): Promise<RuncAnswer[]> {
  shared ??= buildRuncUser().then((bin) => new RuncOracle(bin));
  return (await shared).resolve(cases);
}

/** Stops the shared process (call from `after`, or the test process never ends). */
export async function closeRuncOracle(): Promise<void> {
  const running = shared;
  shared = undefined;
  if (running) await (await running).close();
}
