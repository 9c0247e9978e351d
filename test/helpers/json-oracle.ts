/**
 * The runtimes' own Go code as a JSON oracle: builds test/oracle/gojson in GOPATH mode from
 * Debian's packaged sources (image-spec, containers/image, docker/distribution, docker's
 * api/types, containerd; /usr/share/gocode) once per source hash into os.tmpdir(), runs it as
 * one long-lived process and decodes many documents through it (docs/security.md "Runtime
 * parity"). Each answer gives, per runtime, the fields oci-scan reads, or null where that
 * runtime refuses the document.
 *
 * When go or a Debian source package is missing, `jsonOracleSkip()` says so in one loud line
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

/** Where Debian installs Go sources (golang-github-*-dev). */
const GOCODE = '/usr/share/gocode/src';
/** The Debian packages the oracle imports, and a directory each installs. */
const PACKAGES: ReadonlyArray<readonly [string, string]> = [
  ['golang-github-opencontainers-image-spec-dev', 'github.com/opencontainers/image-spec/specs-go/v1'],
  ['golang-github-containers-image-dev', 'github.com/containers/image/manifest'],
  ['golang-github-docker-docker-dev', 'github.com/docker/docker/api/types/container'],
  ['golang-github-docker-distribution-dev', 'github.com/docker/distribution/manifest/manifestlist'],
  ['golang-github-containerd-containerd-dev', 'github.com/containerd/containerd/platforms'],
];

/** One document kind of the oracle's framing (see test/oracle/gojson/main.go). */
export type OracleKind = 'config' | 'manifest' | 'index' | 'layout' | 'archive' | 'repositories';
const KIND_BYTE: Readonly<Record<OracleKind, string>> = {
  config: 'c',
  manifest: 'm',
  index: 'i',
  layout: 'l',
  archive: 'a',
  repositories: 'r',
};

/** A document to decode, and the media type it was served with (manifests and indexes). */
export interface OracleRequest {
  readonly kind: OracleKind;
  readonly bytes: Uint8Array;
  readonly mediaType?: string;
}

/** Per runtime view name, its report (test/oracle/gojson/main.go's report types), or null where it refuses. */
export type OracleAnswer = Readonly<Record<string, unknown>>;

function sourceDir(): string {
  for (const rel of ['../oracle/gojson/', '../../../test/oracle/gojson/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'main.go'))) return dir;
  }
  throw new Error('test/oracle/gojson/main.go not found next to the test helpers');
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
export function jsonOracleSkip(what: string): string | false {
  const missing = [
    ...(goVersion() === undefined ? ['golang-go'] : []),
    ...PACKAGES.filter(([, dir]) => !existsSync(join(GOCODE, dir))).map(([pkg]) => pkg),
  ];
  if (missing.length === 0) return false;
  const install = `apt-get install ${missing.join(' ')}`;
  if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1')
    throw new Error(`OCI_SCAN_REQUIRE_TOOLS=1 but the Go JSON oracle cannot be built (${install})`);
  const reason = `${what} SKIPPED: the runtimes' Go sources are not installed (${install})`;
  console.error(`!!! ${reason}`);
  return reason;
}

/** Builds gojson unless a binary of this source, these Debian sources and this Go is cached; returns its path. */
export async function buildJsonOracle(): Promise<string> {
  const version = goVersion();
  if (version === undefined) throw new Error('go not installed (apt-get install golang-go)');
  const src = sourceDir();
  const hash = createHash('sha256')
    .update(version)
    .update(readFileSync(join(src, 'main.go')));
  // The Debian packages' versions: a new one rebuilds the oracle.
  for (const [pkg] of PACKAGES) {
    try {
      hash.update(execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      hash.update(`${pkg}:unknown`);
    }
  }
  const dir = join(tmpdir(), `oci-scan-gojson-${hash.digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'gojson');
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  // containers/image is imported as .../image/v5, a path GOPATH mode does not map: one symlink
  // in an extra GOPATH entry does (/work/shared/GO-ORACLES.md).
  const gopath = await mkdtemp(join(tmpdir(), 'oci-scan-gopath-'));
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await mkdir(join(gopath, 'src/github.com/containers/image'), { recursive: true });
    await symlink(join(GOCODE, 'github.com/containers/image'), join(gopath, 'src/github.com/containers/image/v5'));
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

type Pending = { resolve: (a: OracleAnswer) => void; reject: (e: Error) => void };

/** One running gojson process; answers come back in the order the documents were written. */
class JsonOracle {
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
    createInterface({ input: this.#child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      const p = this.#pending.shift();
      if (!p) return this.#fail(new Error(`gojson printed a line nobody asked for: ${line.slice(0, 200)}`));
      try {
        p.resolve((JSON.parse(line) as { views: OracleAnswer }).views);
      } catch (err) {
        p.reject(new Error(`gojson printed a line that is not JSON (${String(err)}): ${line.slice(0, 200)}`));
      }
    });
    this.#child.on('error', (err) => this.#fail(err));
    this.#child.on('exit', (code, signal) => this.#fail(new Error(`gojson exited (${code ?? signal}): ${this.#stderr.trim()}`)));
    this.#child.stdin.on('error', (err) => this.#fail(err));
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  async decode(requests: readonly OracleRequest[]): Promise<OracleAnswer[]> {
    if (this.#failed) throw this.#failed;
    const answers = requests.map(() => new Promise<OracleAnswer>((resolve, reject) => this.#pending.push({ resolve, reject })));
    for (const r of requests) {
      const mime = Buffer.from(r.mediaType ?? '', 'utf8');
      const head = Buffer.alloc(3 + mime.length + 4);
      head.write(KIND_BYTE[r.kind], 0, 'latin1');
      head.writeUInt16BE(mime.length, 1);
      mime.copy(head, 3);
      head.writeUInt32BE(r.bytes.length, 3 + mime.length);
      this.#child.stdin.write(head);
      if (!this.#child.stdin.write(r.bytes)) await once(this.#child.stdin, 'drain');
    }
    return Promise.all(answers);
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#failed ??= new Error('gojson was closed');
    this.#child.stdin.end();
    await exited;
  }
}

let shared: Promise<JsonOracle> | undefined;

/** Decodes each document with the runtimes' Go code (one shared process, started on first use). */
export async function decodeWithGo(requests: readonly OracleRequest[]): Promise<OracleAnswer[]> {
  shared ??= buildJsonOracle().then((bin) => new JsonOracle(bin));
  return (await shared).decode(requests);
}

/** Stops the shared process (call from `after`, or the test process never ends). */
export async function closeJsonOracle(): Promise<void> {
  const running = shared;
  shared = undefined;
  if (running) await (await running).close();
}
