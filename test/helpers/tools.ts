/**
 * Real tools for tests: whether a tool is installed (and the apt package that provides it), and
 * Debian's containerd and dockerd (packages `containerd`, `docker.io`) started for a test in a
 * temporary directory: sockets, state and storage all under it (vfs storage, no CRI, no
 * iptables, no bridge — nothing runs in a container, images are only loaded and saved), and
 * stopped by their own pids. Root is needed, as for any containerd.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A running daemon and the command line to talk to it. */
export interface Daemon {
  /** Runs the daemon's client (`ctr` / `docker`) against it; resolves with stdout. */
  client(args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Whether `tool --version` runs. */
export function haveTool(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Tools a test needs, by apt package: the ones missing, and the line that says so. Missing
 * tools skip the test loudly, unless OCI_SCAN_REQUIRE_TOOLS=1 (CI), where the test fails.
 */
export function missingTools(
  needed: Readonly<Record<string, string>>,
  needsRoot = false,
): { skip: string | false; missing: string[]; packages: string[] } {
  const missing = Object.keys(needed).filter((t) => !haveTool(t));
  if (needsRoot && process.getuid?.() !== 0) missing.push('root');
  const packages = [...new Set(missing.flatMap((t) => (needed[t] ? [needed[t]] : [])))];
  const required = process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1';
  const why = `${missing.join(', ')} not available${packages.length > 0 ? ` (apt-get install ${packages.join(' ')})` : ''}`;
  return { skip: missing.length > 0 && !required ? why : false, missing, packages };
}

async function waitFor(what: string, probe: () => Promise<unknown>, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await probe();
      return;
    } catch (err) {
      if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${log().slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${what} did not start in 30 s: ${String(err)} ${log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function startProcess(command: string, args: readonly string[]): { child: ChildProcess; log: () => string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer): void => {
    log = (log + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log: () => log };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Starts containerd under `dir`. */
export async function startContainerd(dir: string): Promise<Daemon & { socket: string }> {
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'containerd.toml');
  await mkdir(join(dir, 'root'), { recursive: true });
  await writeFile(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'root'))}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      '  disable = true',
      '',
    ].join('\n'),
  );
  const { child, log } = startProcess('containerd', ['--config', config]);
  const client = async (args: readonly string[]): Promise<string> =>
    (await run('ctr', ['--address', socket, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  await waitFor('containerd', () => client(['version']), child, log);
  return { socket, client, stop: () => stopProcess(child) };
}

/** Starts dockerd under `dir`, on top of a containerd started there too. */
export async function startDocker(dir: string): Promise<Daemon> {
  const containerd = await startContainerd(join(dir, 'containerd'));
  const socket = join(dir, 'docker.sock');
  const { child, log } = startProcess('dockerd', [
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'docker.pid'),
    '--host',
    `unix://${socket}`,
    '--containerd',
    containerd.socket,
    '--storage-driver',
    'vfs',
    '--iptables=false',
    '--ip6tables=false',
    '--bridge=none',
    '--ip-masq=false',
  ]);
  const client = async (args: readonly string[]): Promise<string> =>
    (await run('docker', ['--host', `unix://${socket}`, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  try {
    await waitFor('dockerd', () => client(['version']), child, log);
  } catch (err) {
    await stopProcess(child);
    await containerd.stop();
    throw err;
  }
  return {
    client,
    stop: async () => {
      await stopProcess(child);
      await containerd.stop();
    },
  };
}
