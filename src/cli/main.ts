#!/usr/bin/env node
/**
 * The `oci-scan` command (SPEC §2): options and environment → scan → terminal lines, report
 * files, exit code. The only module that writes to stdout or exits the process.
 */
import { access, constants } from 'node:fs/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { Logger, LevelWithSilent } from 'pino';
import { SEVERITY_ORDER, type Severity } from '../checks/types.js';
import { OciScanError, exitCodeFor } from '../errors.js';
import { formatPlatform, parsePlatform, type Platform } from '../image/platform.js';
import type { RegistryOptions } from '../registry/options.js';
import { jsonChunks } from '../report/json-stream.js';
import { reportFileNames } from '../report/names.js';
import { escapeForTerminal, terminalChunks, terminalText } from '../report/terminal.js';
import { ensureReportsDir, ReportBatch } from '../report/write.js';
import { scan, type ImageScan, type ScanOptions } from '../scan.js';
import { memoryFactsStore } from '../store/facts-store.js';
import { severityCodes } from './exit-codes.js';
import { untilStopped } from './interrupt.js';
import { createLogger, LOG_LEVELS } from './logger.js';

/** Everything a run needs, resolved from argv and the environment. */
interface RunConfig {
  image: string | undefined;
  reportsDir: string;
  jsonStdout: boolean;
  colour: boolean;
  platform: Platform | 'all';
  registry: RegistryOptions;
  maxLayerBytes?: number;
  timeoutSeconds: number;
  allowUnscannedLayers: boolean;
  logLevel: LevelWithSilent;
}

/** Parses `1g`, `512m`, `1048576` into bytes. */
function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new OciScanError('USAGE', `${flag} ${JSON.stringify(text)} is not a size: use bytes or a number with k, m, g or t (e.g. 8g)`);
  const power = ['', 'k', 'm', 'g', 't'].indexOf((m[2] ?? '').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}

function parseTimeout(value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new OciScanError('USAGE', `--timeout ${String(value)} is not a number of seconds (0 for no limit)`);
  return value;
}

function parseMirrors(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    // Split at the first '=' and never quote the value: a mirror URL may carry a password
    // (the registry source refuses it, without quoting it either).
    const eq = v.indexOf('=');
    const source = eq < 0 ? '' : v.slice(0, eq);
    const mirror = eq < 0 ? '' : v.slice(eq + 1);
    if (!source || !mirror) throw new OciScanError('USAGE', '--registry-mirror takes SOURCE=MIRROR (e.g. docker.io=mirror.local:5000)');
    out[source] = mirror;
  }
  return out;
}

function wantColour(option: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (option !== undefined) return option;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force !== 'false';
  return process.stdout.isTTY === true;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/** Parses argv; usage errors become OciScanError('USAGE'). */
async function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Promise<RunConfig | undefined> {
  let usageError: string | undefined;
  const parser = yargs(argv)
    .scriptName('oci-scan')
    .usage('$0 [IMAGE] [options]\n\nChecks a container image against compliance requirements, straight from a registry or an image archive, with no container engine.\n\nIMAGE: a registry reference (ghcr.io/org/app:1.2, alpine, host:5000/app@sha256:…, docker://REF), oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REPO:TAG]. Default: $COMPLIANCE_IMAGE_FULL_REF.')
    .command('$0 [image]', false)
    .positional('image', { type: 'string', describe: 'the image to scan' })
    .option('reports-dir', { type: 'string', describe: 'directory for the JSON report [env COMPLIANCE_REPORTS_DIR, default: reports]' })
    .option('json-stdout', { type: 'boolean', describe: 'also print the JSON report on stdout (the check lines then go to stderr) [env COMPLIANCE_JSON_STDOUT]' })
    .option('platform', { type: 'string', default: 'linux/amd64', describe: 'platform to scan in a multi-platform image: os/arch[/variant], or "all"' })
    .option('insecure-registry', { type: 'string', array: true, default: [] as string[], describe: 'HOST[:PORT] to reach over plain HTTP (repeatable)' })
    .option('registry-mirror', { type: 'string', array: true, default: [] as string[], describe: 'SOURCE=MIRROR, e.g. docker.io=mirror.local:5000 (repeatable)' })
    .option('ca-file', { type: 'string', describe: 'PEM file of extra CAs to trust for registries' })
    .option('max-layer-size', { type: 'string', describe: 'largest uncompressed layer to read (decompression-bomb guard), e.g. 64g', default: '64g' })
    .option('timeout', { type: 'number', default: 0, describe: 'give up a scan after this many seconds (0: no limit; stalled downloads time out on their own)' })
    .option('allow-unscanned-layers', { type: 'boolean', default: false, describe: 'report on an image with layers that could not be scanned (foreign layers the registry does not serve) instead of failing every file check' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS as string[], default: 'warn', describe: 'log level of the JSON logs on stderr' })
    .option('color', { type: 'boolean', describe: 'colour the check lines (default: when stdout is a terminal; honours NO_COLOR / FORCE_COLOR)' })
    .strictOptions()
    .strictCommands()
    .exitProcess(false)
    .fail((msg, err) => {
      usageError = msg || err?.message || 'invalid arguments';
    })
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100));
  const args = await parser.parseAsync();
  if (usageError) throw new OciScanError('USAGE', `${usageError} (see oci-scan --help)`);
  if (args['help'] || args['version']) return undefined;
  const platformText = String(args.platform);
  return {
    image: (args.image as string | undefined) ?? (env['COMPLIANCE_IMAGE_FULL_REF'] || undefined),
    reportsDir: args['reports-dir'] ?? (env['COMPLIANCE_REPORTS_DIR'] || 'reports'),
    jsonStdout: args['json-stdout'] ?? truthy(env['COMPLIANCE_JSON_STDOUT']),
    colour: wantColour(args.color, env),
    platform: platformText === 'all' ? 'all' : parsePlatform(platformText),
    registry: {
      insecureRegistries: args['insecure-registry'],
      mirrors: parseMirrors(args['registry-mirror']),
      env,
      ...(args['ca-file'] ? { caFile: args['ca-file'] } : {}),
    },
    maxLayerBytes: parseSize(args['max-layer-size'], '--max-layer-size'),
    timeoutSeconds: parseTimeout(args.timeout),
    allowUnscannedLayers: args['allow-unscanned-layers'],
    logLevel: args['log-level'] as LevelWithSilent,
  };
}

/** Writes to a stream and waits until it is flushed (so that exiting cannot cut it off). */
function emit(stream: NodeJS.WriteStream, text: string): Promise<void> {
  // Found by test/integration/hostile.test.ts: when stdout is a file (e.g. /dev/full) Node
  // uses a SyncWriteStream, which also emits the write error as an 'error' event; with no
  // listener that crashed the process with a stack trace and exit 1 instead of exit 23.
  // The write callback below still receives the error and turns it into REPORT_WRITE.
  if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => (err ? reject(new OciScanError('REPORT_WRITE', `cannot write to ${stream === process.stdout ? 'stdout' : 'stderr'}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)) : resolve()));
  });
}

/** Writes `chunks` in writes of about 64 KiB, each flushed before the next; stops when `signal` aborts. */
async function emitAll(stream: NodeJS.WriteStream, chunks: Iterable<string>, signal: AbortSignal): Promise<void> {
  let pending = '';
  for (const chunk of chunks) {
    pending += chunk;
    if (pending.length < 64 * 1024) continue;
    signal.throwIfAborted();
    await emit(stream, pending);
    pending = '';
  }
  signal.throwIfAborted();
  if (pending !== '') await emit(stream, pending);
}

/** A one-line progress display on stderr (only used when stderr is a terminal). */
function progress(): NonNullable<ScanOptions['onLayer']> {
  let bytes = 0;
  return ({ done, total, facts }) => {
    bytes += facts.tarBytes;
    process.stderr.write(`\r\u001b[Kinspected ${done}/${total} layers, ${(bytes / 1048576).toFixed(1)} MiB unpacked`);
  };
}

/** Fails fast (exit 23) when the reports directory cannot be created or written, before any download. */
async function checkReportsDir(dir: string): Promise<void> {
  await ensureReportsDir(dir);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new OciScanError('REPORT_WRITE', `the reports directory ${dir} is not writable: set COMPLIANCE_REPORTS_DIR or --reports-dir to a writable directory`);
  }
}

/** The header line above an image's check lines when a run scans several. */
function imageHeader(s: ImageScan): string {
  const platform = s.image.platform ? terminalText(formatPlatform(s.image.platform), 300) : 'unknown platform';
  return `Image ${terminalText(s.image.name.display, 1000)} (${platform})\n`;
}

/** Where a run is: the reports batch (discarded on exit unless committed) and what to do once the reports are in place. */
interface RunState {
  readonly batch: ReportBatch;
  committed: boolean;
  readonly onCommitted: () => void;
}

async function run(config: RunConfig, logger: Logger, signal: AbortSignal, state: RunState): Promise<number> {
  const codes = severityCodes(process.env);
  if (!config.image) throw new OciScanError('NO_IMAGE', 'no image given: pass IMAGE (e.g. oci-scan ghcr.io/org/app:1.2) or set COMPLIANCE_IMAGE_FULL_REF');
  await checkReportsDir(config.reportsDir);
  const store = memoryFactsStore();
  const scans: ImageScan[] = await scan(config.image, {
    platform: config.platform,
    registry: config.registry,
    logger,
    signal,
    store,
    allowUnscannedLayers: config.allowUnscannedLayers,
    limits: config.maxLayerBytes !== undefined ? { maxLayerBytes: config.maxLayerBytes } : {},
    ...(process.stderr.isTTY ? { onLayer: progress() } : {}),
  });
  if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
  // Every report goes to a temporary file first and all are renamed together: a run stopped
  // before that leaves no report (docs/errors.md).
  const files = reportFileNames(scans.map((s) => s.image));
  for (const [i, s] of scans.entries()) await state.batch.write(files[i] ?? '', s.report, signal);
  const paths = state.batch.commit(signal);
  state.committed = true;
  state.onCommitted();
  for (const path of paths) logger.info({ path }, 'report written');

  const lines = config.jsonStdout ? process.stderr : process.stdout;
  const several = scans.length > 1;
  for (const [i, s] of scans.entries()) {
    const chunks = function* (): Generator<string> {
      if (several) yield imageHeader(s);
      yield* terminalChunks(s.results, { colour: config.colour && !config.jsonStdout });
      yield `Report: ${escapeForTerminal(paths[i] ?? '')}\n`;
    };
    await emitAll(lines, chunks(), signal);
  }
  if (config.jsonStdout) {
    const doc = several ? scans.map((s) => s.report) : scans[0]?.report;
    await emitAll(process.stdout, (function* () {
      yield* jsonChunks(doc, 4);
      yield '\n';
    })(), signal);
  }
  let highest = SEVERITY_ORDER.length - 1;
  for (const s of scans) highest = Math.min(highest, SEVERITY_ORDER.indexOf(s.highest));
  return codes[SEVERITY_ORDER[highest] as Severity];
}

/** Prints an error as one escaped, bounded line on stderr and returns the exit code. */
function fail(err: unknown, logger: Logger | undefined): number {
  // Messages may quote image data (a media type, a path, a platform): escape control
  // characters so that they cannot drive the terminal, and bound the line.
  if (err instanceof OciScanError) {
    process.stderr.write(`oci-scan: ${terminalText(err.message.replace(/\s*\n\s*/g, ' '), 4000)}\n`);
    logger?.debug({ code: err.code, stack: err.stack }, 'failure');
    return exitCodeFor(err.code);
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`oci-scan: internal error: ${terminalText(message.replace(/\s*\n\s*/g, ' '), 4000)} (a bug in oci-scan; run with --log-level debug and report it)\n`);
  logger?.debug({ stack: err instanceof Error ? err.stack : undefined }, 'internal error');
  return 1;
}

/** Entry point: never throws; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) process.exit(sig === 'SIGINT' ? 130 : 143);
    signalled = sig;
    controller.abort(new OciScanError('INTERRUPTED', `interrupted by ${sig}: scan stopped, no report written`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let logger: Logger | undefined;
  let state: RunState | undefined;
  // Whatever ends the process (a second signal included), no temporary report stays behind.
  process.on('exit', () => state?.batch.discard());
  try {
    const config = await parseArgs(argv, process.env);
    if (!config) return 0;
    logger = createLogger(config.logLevel);
    if (config.timeoutSeconds > 0) {
      const seconds = config.timeoutSeconds;
      timer = setTimeout(() => controller.abort(new OciScanError('TIMEOUT', `the scan did not finish within ${seconds} s (--timeout): no report written; raise --timeout or check the registry's speed`)), seconds * 1000);
      timer.unref();
    }
    state = { batch: new ReportBatch(config.reportsDir), committed: false, onCommitted: () => clearTimeout(timer) };
    return await untilStopped(run(config, logger, controller.signal, state), controller.signal);
  } catch (err) {
    state?.batch.discard();
    if (signalled) {
      const what = state?.committed ? 'the reports were written, the output is incomplete' : 'scan stopped, no report written';
      process.stderr.write(`oci-scan: interrupted by ${signalled}: ${what}\n`);
      return signalled === 'SIGINT' ? 130 : 143;
    }
    return fail(err, logger);
  } finally {
    clearTimeout(timer);
  }
}

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  () => process.exit(1),
);
