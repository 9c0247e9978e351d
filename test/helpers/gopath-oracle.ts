/**
 * Test oracles built from the runtimes' own Go sources as Debian packages them
 * (/usr/share/gocode, golang-github-*-dev): a program under test/oracle/NAME is built in GOPATH
 * mode, offline, once per hash of its source, of the runtime sources it names and of the Go
 * version, into os.tmpdir(); it then runs as one long-lived process that answers one JSON line
 * per JSON line it reads (docs/security.md, "Runtime parity").
 *
 * containers/image is imported as `github.com/containers/image/v5/...`, a major-version path
 * GOPATH mode does not map: one symlink in an extra GOPATH entry maps it.
 *
 * When go or a package is missing, `gopathOracleSkip()` says so in one loud line (callers
 * skip), unless OCI_SCAN_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import { execFile, execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Where Debian installs the Go sources of its golang-*-dev packages. */
export const GOCODE = '/usr/share/gocode';

/** An oracle program and the Debian sources it is built from. */
export interface OracleSpec {
  /** Its directory under test/oracle/ (holding main.go). */
  readonly name: string;
  /** Source files (under GOCODE/src) whose content goes into the build hash, with the apt package that installs them. */
  readonly sources: ReadonlyArray<{ readonly file: string; readonly apt: string }>;
}

/** The directory of the Go source, from test/helpers (ts) or dist/test/helpers (js). */
function sourceDir(name: string): string {
  for (const rel of [`../oracle/${name}/`, `../../../test/oracle/${name}/`]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'main.go'))) return dir;
  }
  throw new Error(`test/oracle/${name}/main.go not found next to the test helpers`);
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
export function gopathOracleSkip(what: string, spec: OracleSpec): string | false {
  const absent = spec.sources.filter((s) => !existsSync(join(GOCODE, 'src', s.file)));
  const missing =
    goVersion() === undefined
      ? 'go not installed (apt-get install golang-go)'
      : absent.length > 0
        ? `Go sources missing (apt-get install ${[...new Set(absent.map((s) => s.apt))].join(' ')})`
        : undefined;
  if (missing === undefined) return false;
  if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1') throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but ${missing}`);
  const reason = `${what} SKIPPED: ${missing}`;
  console.error(`!!! ${reason}`);
  return reason;
}

/** Builds the oracle unless a binary of this source, these runtime sources and Go version is cached; returns its path. */
export async function buildGopathOracle(spec: OracleSpec): Promise<string> {
  const version = goVersion();
  if (version === undefined) throw new Error('go not installed (apt-get install golang-go)');
  const src = sourceDir(spec.name);
  const hash = createHash('sha256')
    .update(version)
    .update('\0main.go\0')
    .update(readFileSync(join(src, 'main.go')));
  for (const s of spec.sources) hash.update(`\0${s.file}\0`).update(readFileSync(join(GOCODE, 'src', s.file)));
  const dir = join(tmpdir(), `oci-scan-${spec.name}-${hash.digest('hex').slice(0, 16)}`);
  const bin = join(dir, spec.name);
  if (existsSync(bin)) return bin;
  // containers/image's v5 import path, mapped in a GOPATH entry of our own.
  const v5 = join(dir, 'gopath/src/github.com/containers/image/v5');
  await mkdir(join(v5, '..'), { recursive: true });
  if (!existsSync(v5))
    await symlink(join(GOCODE, 'src/github.com/containers/image'), v5).catch((err: NodeJS.ErrnoException) =>
      err.code === 'EEXIST' ? undefined : Promise.reject(err),
    );
  // Built under a unique name then renamed: test files running at once never see half a binary.
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await promisify(execFile)('go', ['build', '-trimpath', '-o', tmp, '.'], {
      cwd: src,
      // GOPATH mode over Debian's sources: nothing is downloaded; a cache dir even without $HOME.
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: `${join(dir, 'gopath')}:${GOCODE}`,
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
  }
  return bin;
}

type Pending = { resolve: (a: unknown) => void; reject: (e: Error) => void };

/** One running oracle; answers come back in the order the requests were written. */
export class JsonLinesOracle<Req, Ans> {
  readonly #name: string;
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #pending: Pending[] = [];
  #stderr = '';
  #failed: Error | undefined;

  constructor(name: string, bin: string) {
    this.#name = name;
    this.#child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-4000);
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const p = this.#pending.shift();
      if (!p) return this.#fail(new Error(`${name} printed a line nobody asked for: ${line.slice(0, 200)}`));
      try {
        p.resolve(JSON.parse(line));
      } catch (err) {
        p.reject(new Error(`${name} printed a line that is not JSON (${String(err)}): ${line.slice(0, 200)}`));
      }
    });
    this.#child.on('error', (err) => this.#fail(err));
    this.#child.on('exit', (code, signal) => this.#fail(new Error(`${name} exited (${code ?? signal}): ${this.#stderr.trim()}`)));
    this.#child.stdin.on('error', (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  /** Sends every request, then waits for every answer. */
  async ask(requests: readonly Req[]): Promise<Ans[]> {
    if (this.#failed) throw this.#failed;
    const answers = requests.map(
      () => new Promise<Ans>((resolve, reject) => this.#pending.push({ resolve: resolve as (a: unknown) => void, reject })),
    );
    for (const r of requests) {
      if (!this.#child.stdin.write(JSON.stringify(r) + '\n')) await once(this.#child.stdin, 'drain');
    }
    return Promise.all(answers);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#failed ??= new Error(`${this.#name} was closed`);
    this.#child.stdin.end();
    await exited;
  }
}

/** One shared oracle process per spec, started on first use; `close` stops it (call from `after`). */
export function sharedOracle<Req, Ans>(
  spec: OracleSpec,
): { ask: (requests: readonly Req[]) => Promise<Ans[]>; close: () => Promise<void> } {
  let shared: Promise<JsonLinesOracle<Req, Ans>> | undefined;
  return {
    async ask(requests) {
      shared ??= buildGopathOracle(spec).then((bin) => new JsonLinesOracle<Req, Ans>(spec.name, bin));
      return (await shared).ask(requests);
    },
    async close() {
      const running = shared;
      shared = undefined;
      if (running) await (await running).close();
    },
  };
}
