/**
 * Starts a real registry for tests: Debian's `docker-registry` (CNCF Distribution 2.8, the
 * reference implementation of the OCI Distribution API) on 127.0.0.1 with a random free port
 * and a temporary storage directory, in one of three set-ups: anonymous, htpasswd (Basic),
 * token (Bearer, trusting a token server of ours through `auth.token.rootcertbundle`).
 *
 * When the binary is missing the tests are skipped with one loud line, or fail when
 * OCI_SCAN_REQUIRE_REGISTRY=1 (CI sets it; `.ci/run` installs the package).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Agent, fetch, type Dispatcher } from 'undici';
import type { RegistryOptions } from '../../src/registry/options.js';
import type { SourceOptions } from '../../src/sources/options.js';
import type { Image } from '../../src/image/types.js';
import type { Platform } from '../../src/image/platform.js';

/** The registry binary (override with OCI_SCAN_REGISTRY_BIN). */
export const REGISTRY_BIN = process.env.OCI_SCAN_REGISTRY_BIN ?? '/usr/bin/docker-registry';

/** The user every htpasswd / token set-up knows. */
export const TEST_USER = 'ci';
/** Its password. A deliberately recognisable string, so tests can grep output for it. */
export const TEST_PASSWORD = 's3cr3t-P4ssw0rd-ci';
/**
 * bcrypt hash of TEST_PASSWORD (Distribution's htpasswd accepts bcrypt only). Provenance:
 * `python3 -c "import crypt; print(crypt.crypt('s3cr3t-P4ssw0rd-ci', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1<<5)))"`
 * (libxcrypt), equivalent to `htpasswd -nbB -C 5 ci s3cr3t-P4ssw0rd-ci`. Cost 5 keeps the
 * registry fast; it checks the hash on every request. Embedded so tests need no apache2-utils.
 */
const TEST_PASSWORD_BCRYPT = '$2b$05$BGyYTcuLT6lCTCL06upto.xnv3FrKwQ5gtYdffREg/YKBkBvEQX0u';

/** How the registry authenticates. */
export type RegistryAuth =
  { kind: 'none' } | { kind: 'htpasswd' } | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string };

/** A running registry. */
export interface RunningRegistry {
  /** `ADDRESS:PORT`, as a reference names it. */
  readonly host: string;
  /** `http://ADDRESS:PORT` (or https with TLS). */
  readonly url: string;
  /** The storage's root directory (`docker/registry/v2/…` below it), for tests that damage a repository behind the registry's back. */
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * Whether real-registry tests can run. Returns a skip reason (the loud line) or undefined;
 * throws when OCI_SCAN_REQUIRE_REGISTRY=1 and the binary is missing.
 */
export function registrySkipReason(): string | undefined {
  if (existsSync(REGISTRY_BIN)) return undefined;
  const line = `docker-registry not found at ${REGISTRY_BIN}: real-registry tests SKIPPED — install it with: apt-get install docker-registry`;
  if (process.env.OCI_SCAN_REQUIRE_REGISTRY === '1') throw new Error(`${line} (OCI_SCAN_REQUIRE_REGISTRY=1 makes this a failure)`);
  process.stderr.write(`\n*** ${line} ***\n\n`);
  return line;
}

/** A free TCP port on `address` (bind to 0, read, close). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function authYaml(auth: RegistryAuth, dir: string): string {
  switch (auth.kind) {
    case 'none':
      return '';
    case 'htpasswd':
      return `auth:\n  htpasswd:\n    realm: oci-scan-test\n    path: ${join(dir, 'htpasswd')}\n`;
    case 'token':
      return `auth:\n  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n    issuer: ${auth.issuer}\n    rootcertbundle: ${auth.rootCertBundle}\n`;
  }
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string, dispatcher?: Dispatcher): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr().slice(-2000)}`);
    try {
      const res = await fetch(`${url}/v2/`, dispatcher ? { dispatcher } : {});
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not become ready at ${url}: ${stderr().slice(-2000)}`);
}

/** Where a registry listens and whether it speaks TLS. */
export interface RegistryListen {
  /** Any 127.0.0.0/8 address (all reach loopback on Linux); default 127.0.0.1. */
  readonly address?: string;
  /** Serve HTTPS with this certificate and key (PEM files); the CA is trusted while waiting for readiness. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caPem: string };
}

/** Starts docker-registry with `auth`; stop() kills it and removes its storage. */
export async function startRegistry(auth: RegistryAuth, listen: RegistryListen = {}): Promise<RunningRegistry> {
  const address = listen.address ?? '127.0.0.1';
  const tls = listen.tls;
  const dir = await mkdtemp(join(tmpdir(), 'oci-scan-registry-'));
  const port = await freePort(address);
  if (auth.kind === 'htpasswd') await writeFile(join(dir, 'htpasswd'), `${TEST_USER}:${TEST_PASSWORD_BCRYPT}\n`);
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${address}:${port}`,
    '  secret: oci-scan-test-http-secret',
    ...(tls ? ['  tls:', `    certificate: ${tls.certFile}`, `    key: ${tls.keyFile}`] : []),
    // Distribution refuses foreign-layer URLs unless an allow-list is configured.
    'validation:',
    '  manifests:',
    '    urls:',
    "      allow: ['^https?://']",
    authYaml(auth, dir),
  ].join('\n');
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, config);
  const child = spawn(REGISTRY_BIN, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    err = (err + d).slice(-8000);
  });
  const url = `${tls ? 'https' : 'http'}://${address}:${port}`;
  const dispatcher = tls ? new Agent({ connect: { ca: tls.caPem } }) : undefined;
  const stop = async (): Promise<void> => {
    await dispatcher?.close().catch(() => undefined);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => err, dispatcher);
  } catch (e) {
    await stop();
    throw e;
  }
  return { host: `${address}:${port}`, url, dataDir: join(dir, 'data'), stop };
}

// Shared bits of the registry tests: options with a captured log, reading layers to the end.

/** A pino logger at debug level whose output is kept in `text()`. */
export function capturedLogger(): { logger: pino.Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => chunks.join('') };
}

/** Source options for tests: short timeouts and retry delays, the given environment. */
export function testOptions(
  registry: Partial<RegistryOptions> = {},
  platform: Platform | 'all' = { os: 'linux', architecture: 'amd64' },
  logger?: pino.Logger,
): SourceOptions {
  return {
    platform,
    logger: logger ?? pino({ level: 'silent' }),
    registry: {
      insecureRegistries: [],
      mirrors: {},
      env: { HOME: '/nonexistent-home-for-tests' },
      retries: 3,
      retryDelayMs: 10,
      maxRetryDelayMs: 2000,
      stallTimeoutMs: 5000,
      connectTimeoutMs: 2000,
      ...registry,
    },
  };
}

/** Reads every layer to its end; returns their sha256 digests and the bytes. */
export async function readLayers(image: Image): Promise<Array<{ digest: string; bytes: Buffer }>> {
  const out: Array<{ digest: string; bytes: Buffer }> = [];
  for (const layer of image.layers) {
    const stream = await layer.open();
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    out.push({ digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes });
  }
  return out;
}
