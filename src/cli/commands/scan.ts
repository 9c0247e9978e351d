/**
 * `oci-scan [scan] IMAGE… [options]` (README.md "Usage"): every IMAGE scanned in one run with
 * one set of options (one layer-facts store, the same registry settings), then the reports — legacy
 * report files and check lines, or the `--format json` document — and one exit code.
 *
 * Several IMAGEs (docs/errors.md "Several images"): every one is attempted; one that cannot be
 * scanned prints its line on stderr and the others still get their reports; the exit code is
 * then that of the first failure, else the code of the highest severity over every image.
 */
import { access, constants, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import yargs from 'yargs';
import type { LevelWithSilent } from 'pino';
import type { Severity } from '../../checks/types.js';
import { OciScanError } from '../../errors.js';
import { parsePlatform, type Platform } from '../../image/platform.js';
import type { RegistryOptions } from '../../registry/options.js';
import { openSession } from '../../registry/session.js';
import { scanDocument } from '../../report/formats/json.js';
import { legacyReportSet } from '../../report/formats/legacy.js';
import { escapeForTerminal, imageHeader, terminalChunks } from '../../report/formats/terminal.js';
import { highestOf, type ScanFailure } from '../../report/model.js';
import { reportFileNames } from '../../report/names.js';
import { documentText, ensureReportsDir, ReportBatch } from '../../report/write.js';
import { imagesToScan, scan, type ImageScan, type ScanOptions } from '../../scan.js';
import { memoryFactsStore } from '../../store/facts-store.js';
import { findPolicy, type LoadedPolicy } from '../../policy/load.js';
import { failThreshold, FAIL_ON_VALUES, runExitCode, severityCodes, type FailThreshold } from '../exit-codes.js';
import { LOG_LEVELS } from '../logger.js';
import { parseSize, parseTimeout, registryOptions, truthy, wantColour } from '../options.js';
import { describeFailure, emitAll, printFailure } from '../output.js';
import type { Command, Invocation, RunContext } from './command.js';

/** Report formats of `--format`. */
export const FORMATS = ['legacy', 'json'] as const;
/** A report format. */
export type Format = (typeof FORMATS)[number];

/** Everything a scan run needs, resolved from argv and the environment. */
export interface ScanConfig {
  /** The IMAGE arguments (or COMPLIANCE_IMAGE_FULL_REF), as given. */
  readonly images: readonly string[];
  readonly format: Format;
  /** `--format json`: where the document goes (`-`: stdout). */
  readonly output: string;
  /** `--format legacy`: the directory of the report files. */
  readonly reportsDir: string;
  readonly jsonStdout: boolean;
  readonly colour: boolean;
  readonly platform: Platform | 'all';
  readonly registry: RegistryOptions;
  readonly maxLayerBytes: number;
  readonly timeoutSeconds: number;
  readonly allowUnscannedLayers: boolean;
  readonly logLevel: LevelWithSilent;
  /** Exit code per highest severity (`*_EXIT_CODE`). */
  readonly codes: Readonly<Record<Severity, number>>;
  /** `--policy FILE` or the working directory's `.oci-scan.yaml|yml|json` (docs/ci.md, "Policy"). */
  readonly policy?: LoadedPolicy;
  /** `--fail-on` / `--exit-code`: undefined for the original's exit codes. */
  readonly threshold?: FailThreshold;
}

const USAGE = `$0 [scan] [IMAGE...] [options]

Checks container images against compliance requirements, straight from a registry or an image archive, with no container engine. Every IMAGE is scanned in one run; the exit code is the highest over all of them.

IMAGE: a registry reference (ghcr.io/org/app:1.2, alpine, host:5000/app@sha256:…, docker://REF), oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REPO:TAG]. Default: $COMPLIANCE_IMAGE_FULL_REF.`;

const EPILOG = 'Commands: scan (the default: "oci-scan IMAGE" is "oci-scan scan IMAGE"). "audit" and "cache" are reserved for later versions: to scan an image named so, write "oci-scan scan audit" or "oci-scan docker://audit".';

/** Parses the scan command's arguments; usage errors become OciScanError('USAGE'); undefined after --help/--version. */
export async function parseScanArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ScanConfig | undefined> {
  let usageError: string | undefined;
  const parser = yargs([...argv])
    .scriptName('oci-scan')
    .usage(USAGE)
    .epilog(EPILOG)
    .command('$0 [images..]', false)
    .positional('images', { type: 'string', array: true, describe: 'the images to scan' })
    .option('format', { type: 'string', choices: FORMATS as unknown as string[], describe: 'legacy: one report file per image in --reports-dir and the check lines on stdout (the default); json: one document for the whole run on stdout or in -o FILE (docs/reports.md)' })
    .option('output', { alias: 'o', type: 'string', describe: 'with --format json: the file to write the document to ("-": stdout, the default)' })
    .option('reports-dir', { type: 'string', describe: 'directory for the legacy report files [env COMPLIANCE_REPORTS_DIR, default: reports]' })
    .option('json-stdout', { type: 'boolean', describe: 'also print the legacy reports on stdout, one object keyed by image (the check lines then go to stderr) [env COMPLIANCE_JSON_STDOUT]' })
    .option('platform', { type: 'string', default: 'linux/amd64', describe: 'platform to scan in a multi-platform image: os/arch[/variant], or "all"' })
    .option('insecure-registry', { type: 'string', array: true, default: [] as string[], describe: 'HOST[:PORT] to reach over plain HTTP (repeatable)' })
    .option('registry-mirror', { type: 'string', array: true, default: [] as string[], describe: 'SOURCE=MIRROR, e.g. docker.io=mirror.local:5000 (repeatable)' })
    .option('ca-file', { type: 'string', describe: 'PEM file of extra CAs to trust for registries' })
    .option('max-layer-size', { type: 'string', describe: 'largest uncompressed layer to read (decompression-bomb guard), e.g. 64g', default: '64g' })
    .option('timeout', { type: 'number', default: 0, describe: 'give up the run after this many seconds (0: no limit; stalled downloads time out on their own)' })
    .option('allow-unscanned-layers', { type: 'boolean', default: false, describe: 'report on an image with layers that could not be scanned (foreign layers the registry does not serve) instead of failing every file check' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS as string[], default: 'warn', describe: 'log level of the JSON logs on stderr' })
    .option('color', { type: 'boolean', describe: 'colour the check lines (default: when stdout is a terminal; honours NO_COLOR / FORCE_COLOR)' })
    .option('policy', { type: 'string', describe: 'policy file: checks disabled or re-rated, findings accepted, check data (default: .oci-scan.yaml, .oci-scan.yml or .oci-scan.json in the working directory; docs/ci.md)' })
    .option('fail-on', { type: 'string', describe: `exit 0 unless a finding that was not accepted is at or above this severity: ${FAIL_ON_VALUES.join('|')} (docs/errors.md)` })
    .option('exit-code', { type: 'string', describe: 'the exit code when the --fail-on threshold is met (default: the highest severity\'s code, 12-15); alone, any failure meets it' })
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

  const format: Format = args.format === 'json' ? 'json' : 'legacy';
  if (format === 'legacy' && args.output !== undefined) throw new OciScanError('USAGE', '-o/--output writes the --format json document; the legacy reports go to --reports-dir (see oci-scan --help)');
  if (format === 'json' && args['json-stdout'] !== undefined) throw new OciScanError('USAGE', '--json-stdout prints the legacy reports; with --format json the document goes to stdout, or to -o FILE (see oci-scan --help)');
  if (format === 'json' && args['reports-dir'] !== undefined) throw new OciScanError('USAGE', '--reports-dir holds the legacy report files; with --format json write the document with -o FILE (see oci-scan --help)');
  if (args.output === '') throw new OciScanError('USAGE', '-o/--output needs a file name, or "-" for stdout');
  const platformText = String(args.platform);
  const given = (args.images ?? []).map(String);
  const fromEnv = env['COMPLIANCE_IMAGE_FULL_REF'];
  return {
    images: given.length > 0 ? given : fromEnv ? [fromEnv] : [],
    format,
    output: args.output ?? '-',
    reportsDir: args['reports-dir'] ?? (env['COMPLIANCE_REPORTS_DIR'] || 'reports'),
    // With --format json, COMPLIANCE_JSON_STDOUT (set for the legacy reports) is ignored.
    jsonStdout: format === 'legacy' && (args['json-stdout'] ?? truthy(env['COMPLIANCE_JSON_STDOUT'])),
    colour: wantColour(args.color, env),
    platform: platformText === 'all' ? 'all' : parsePlatform(platformText),
    registry: registryOptions({ insecureRegistries: args['insecure-registry'], mirrors: args['registry-mirror'], caFile: args['ca-file'] }, env),
    maxLayerBytes: parseSize(args['max-layer-size'], '--max-layer-size'),
    timeoutSeconds: parseTimeout(args.timeout),
    allowUnscannedLayers: args['allow-unscanned-layers'],
    logLevel: args['log-level'] as LevelWithSilent,
    codes: severityCodes(env),
    ...(await policyAndThreshold(args.policy, args['fail-on'], args['exit-code'])),
  };
}

/** The run's policy (`--policy`, else the working directory's file) and failure threshold; USAGE when either is wrong. */
async function policyAndThreshold(policyFile: string | undefined, failOn: string | undefined, exitCode: string | undefined): Promise<Pick<ScanConfig, 'policy' | 'threshold'>> {
  if (policyFile === '') throw new OciScanError('USAGE', '--policy needs a file name (see oci-scan --help)');
  const threshold = failThreshold(failOn, exitCode);
  const policy = await findPolicy(policyFile, process.cwd());
  return { ...(policy ? { policy } : {}), ...(threshold ? { threshold } : {}) };
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

/** Fails fast (exit 23) when `-o FILE` cannot be written: its directory missing or read-only, or FILE a directory. */
async function checkOutputFile(file: string): Promise<void> {
  const dir = dirname(file);
  const isDir = (path: string): Promise<boolean> => stat(path).then((st) => st.isDirectory(), () => false);
  if (!(await isDir(dir)) || !(await access(dir, constants.W_OK).then(() => true, () => false))) {
    throw new OciScanError('REPORT_WRITE', `cannot write the document ${file}: its directory ${dir} does not exist or is not writable; choose another -o FILE`);
  }
  if (await isDir(file)) throw new OciScanError('REPORT_WRITE', `cannot write the document ${file}: it is a directory; give -o a file name`);
}

/** A one-line progress display on stderr (only used when stderr is a terminal). */
function progress(): NonNullable<ScanOptions['onLayer']> {
  let bytes = 0;
  return ({ done, total, facts }) => {
    bytes += facts.tarBytes;
    process.stderr.write(`\r\u001b[Kinspected ${done}/${total} layers, ${(bytes / 1048576).toFixed(1)} MiB unpacked`);
  };
}

function clearProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
}

/** What became of one IMAGE of the run. */
type Outcome = { readonly input: string; readonly scans: readonly ImageScan[] } | { readonly input: string; readonly failure: ScanFailure };

/** Runs a parsed scan command line. */
export async function runScan(config: ScanConfig, context: RunContext): Promise<number> {
  const { logger, signal } = context;
  const inputs = imagesToScan(config.images);
  const json = config.format === 'json';
  const toFile = json && config.output !== '-';
  if (json) {
    if (toFile) await checkOutputFile(config.output);
  } else {
    await checkReportsDir(config.reportsDir);
  }

  // One set of options for the whole run: every image shares the layer-facts store and the
  // registry sessions (one ping, one credential lookup, one token cache per registry).
  const store = memoryFactsStore();
  if (config.policy) logger.info({ file: config.policy.file }, 'policy loaded');
  const session = openSession({ registry: config.registry, logger });
  const options: ScanOptions = {
    platform: config.platform,
    registry: config.registry,
    logger,
    signal,
    store,
    session,
    allowUnscannedLayers: config.allowUnscannedLayers,
    limits: { maxLayerBytes: config.maxLayerBytes },
    ...(config.policy ? { policy: config.policy.policy } : {}),
    ...(process.stderr.isTTY ? { onLayer: progress() } : {}),
  };
  const outcomes: Outcome[] = [];
  const failures: unknown[] = [];
  try {
    for (const input of inputs) {
      try {
        outcomes.push({ input, scans: await scan(input, options) });
      } catch (err) {
        // A stopped run (signal, --timeout) stops every image and writes nothing.
        if (signal.aborted) throw err;
        clearProgress();
        printFailure(err, logger, inputs.length > 1 ? `${input}: ` : '');
        failures.push(err);
        outcomes.push({ input, failure: describeFailure(err) });
      }
    }
  } finally {
    // Every layer has been read: the registries' connections can go.
    await session.close();
  }
  clearProgress();

  const groups = outcomes.flatMap((o) => ('scans' in o ? [o.scans] : []));
  const scans = groups.flat();
  // Every file goes to a temporary file first and all are renamed together: a run stopped
  // before that leaves no report (docs/errors.md).
  const batch = new ReportBatch(config.reportsDir);
  context.onExit(() => batch.discard());
  const document = json ? scanDocument(outcomes) : undefined;
  if (document) {
    if (toFile) await batch.writeFile(config.output, documentText(document), signal);
  } else {
    const files = reportFileNames(groups.map((g) => g.map((s) => s.image)));
    for (const [i, s] of scans.entries()) await batch.write(files[i] ?? '', s.report, signal);
  }
  const reportSet = config.jsonStdout && scans.length > 0 ? legacyReportSet(groups) : undefined;
  const paths = batch.commit(signal);
  context.committed();
  for (const path of paths) logger.info({ path }, 'report written');

  const stdoutIsData = config.jsonStdout || (json && !toFile);
  const lines = stdoutIsData ? process.stderr : process.stdout;
  for (const [i, s] of scans.entries()) {
    const chunks = function* (): Generator<string> {
      if (scans.length > 1 || failures.length > 0) yield imageHeader(s.image);
      yield* terminalChunks(s.results, { colour: config.colour && !stdoutIsData });
      if (!json) yield `Report: ${escapeForTerminal(paths[i] ?? '')}\n`;
    };
    await emitAll(lines, chunks(), signal);
  }
  if (toFile) await emitAll(lines, [`Report: ${escapeForTerminal(config.output)}\n`], signal);
  if (document && !toFile) await emitAll(process.stdout, documentText(document), signal);
  if (reportSet) await emitAll(process.stdout, documentText(reportSet), signal);
  return runExitCode(failures, highestOf(scans.map((s) => s.highest)), config.codes, config.threshold);
}

/** The `scan` command (also the default command). */
export const scanCommand: Command = {
  name: 'scan',
  async parse(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined> {
    const config = await parseScanArgs(argv, env);
    if (!config) return undefined;
    return { logLevel: config.logLevel, timeoutSeconds: config.timeoutSeconds, run: (context) => runScan(config, context) };
  },
};
