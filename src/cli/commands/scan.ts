/**
 * `oci-scan [scan] IMAGE… [options]` (README.md "Usage"): every IMAGE scanned in one run with
 * one set of options (one layer-facts store, the same registry settings), then the reports —
 * each `--format` (legacy report files and check lines, the json document, SARIF, JUnit, the
 * table) to its destination — and one exit code. `--list-checks` prints the checks instead.
 *
 * Several IMAGEs (docs/errors.md "Several images"): every one is attempted; one that cannot be
 * scanned prints its line on stderr and the others still get their reports; the exit code is
 * then that of the first failure, else the code of the highest severity over every image.
 */
import { X509Certificate } from 'node:crypto';
import { access, constants, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import yargs, { type Argv } from 'yargs';
import type { LevelWithSilent } from 'pino';
import type { Severity } from '../../checks/types.js';
import { OciScanError } from '../../errors.js';
import { parsePlatform, type Platform } from '../../image/platform.js';
import type { Image } from '../../image/types.js';
import type { RegistryOptions } from '../../registry/options.js';
import { openSession } from '../../registry/session.js';
import { scanDocument, toolInfo } from '../../report/formats/json.js';
import { scanHtml } from '../../report/formats/html.js';
import { junitXml } from '../../report/formats/junit.js';
import { sarifLog } from '../../report/formats/sarif.js';
import { summaryLine, tableText, totalLine } from '../../report/formats/table.js';
import { legacyReportSet } from '../../report/formats/legacy.js';
import { escapeForTerminal, imageHeader, terminalChunks, terminalText } from '../../report/formats/terminal.js';
import { detailsByDigest, layerDetails } from '../../report/layers.js';
import { highestOf, scannedImages, type ImageOutcome, type ScanFailure } from '../../report/model.js';
import { reportFileNames } from '../../report/names.js';
import { documentText, ensureReportsDir, ReportBatch } from '../../report/write.js';
import { imagesToScan, scan, type ImageScan, type ScanOptions } from '../../scan.js';
import { memoryFactsStore, type FactsStore } from '../../store/facts-store.js';
import { diskFactsStore, tieredStore } from '../../store/disk.js';
import { cacheConfig, type CacheConfig } from '../cache-options.js';
import { findPolicy, type LoadedPolicy } from '../../policy/load.js';
import { failThreshold, runExitCode, severityCodes, type FailThreshold } from '../exit-codes.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat } from '../logger.js';
import { parseSize, parseTimeout, registryOptions, strictParser, truthy, wantColour } from '../options.js';
import { detectSource, localSourceHint } from '../detect-source.js';
import { SCAN_HELP } from '../help.js';
import { checkListText } from '../list-checks.js';
import { describeFailure, emit, emitAll, printFailure, setOutputGuard } from '../output.js';
import { PROGRESS_MODES, progressReporter, type ProgressMode } from '../progress.js';
import type { Command, Invocation, RunContext } from './command.js';

/** Report formats of `--format`. */
export const FORMATS = ['legacy', 'json', 'sarif', 'junit', 'table', 'html'] as const;
/** A report format. */
export type Format = (typeof FORMATS)[number];

/** One `--format NAME[=DEST]`: where a format goes (`-`: stdout; legacy: the reports directory). */
export interface FormatOutput {
  readonly format: Format;
  readonly dest: string;
}

/** Everything a scan run needs, resolved from argv and the environment. */
export interface ScanConfig {
  /** The IMAGE arguments (or COMPLIANCE_IMAGE_FULL_REF), as given. */
  readonly images: readonly string[];
  /** The formats of the run, each with its destination; today's `legacy` alone without `--format`. */
  readonly outputs: readonly FormatOutput[];
  /** The legacy report files' directory. */
  readonly reportsDir: string;
  readonly jsonStdout: boolean;
  readonly colour: boolean;
  /** `--quiet`: only failed checks and the summary line. */
  readonly quiet: boolean;
  readonly progress: ProgressMode;
  readonly platform: Platform | 'all';
  readonly registry: RegistryOptions;
  readonly maxLayerBytes: number;
  readonly timeoutSeconds: number;
  readonly allowUnscannedLayers: boolean;
  readonly logLevel: LevelWithSilent;
  readonly logFormat: LogFormat;
  /** COMPLIANCE_REPORTS_DIR, when set for a run that writes no legacy report (logged at info). */
  readonly unusedReportsDir?: string;
  /** Exit code per highest severity (`*_EXIT_CODE`). */
  readonly codes: Readonly<Record<Severity, number>>;
  /** `--policy FILE` or the working directory's `.oci-scan.yaml|yml|json` (docs/ci.md, "Policy"). */
  readonly policy?: LoadedPolicy;
  /** `--fail-on` / `--exit-code`: undefined for the original's exit codes. */
  readonly threshold?: FailThreshold;
  /** The persistent layer-facts cache; undefined with `--no-cache`. */
  readonly cache?: CacheConfig;
  /** `--base REF`: the base image whose layers are the inherited ones (docs/reports.md). */
  readonly base?: string;
}

/** The format `-o FILE` writes when no --format is given, from the file's extension. */
function formatOfFile(file: string): Exclude<Format, 'legacy'> {
  const ext = /\.([a-z]+)$/i.exec(file)?.[1]?.toLowerCase();
  const format = ext === 'sarif' ? 'sarif' : ext === 'json' ? 'json' : ext === 'xml' ? 'junit' : ext === 'txt' ? 'table' : ext === 'html' || ext === 'htm' ? 'html' : undefined;
  if (!format) throw new OciScanError('USAGE', `-o ${JSON.stringify(file)}: its extension names no format (.sarif, .json, .xml for JUnit, .txt for the table, .html): add --format json|sarif|junit|table|html`);
  return format;
}

/** `--format` values → outputs; usage errors for an unknown format, a destination for legacy, -o with several formats, two formats on stdout; `-o FILE` alone takes the format from the extension. */
export function parseFormats(values: readonly string[], output: string | undefined): FormatOutput[] {
  if (output === '') throw new OciScanError('USAGE', '-o/--output needs a file name, or "-" for stdout');
  if (output !== undefined && values.length === 0) return [{ format: formatOfFile(output), dest: output }];
  const outputs = (values.length === 0 ? ['legacy'] : values).map((value): FormatOutput => {
    const eq = value.indexOf('=');
    const name = (eq < 0 ? value : value.slice(0, eq)).toLowerCase();
    const format = FORMATS.find((f) => f === name);
    if (!format) throw new OciScanError('USAGE', `--format ${JSON.stringify(value)}: the format is one of ${FORMATS.join(', ')}, optionally with =FILE (e.g. --format sarif=out.sarif)`);
    if (eq >= 0 && value.slice(eq + 1) === '') throw new OciScanError('USAGE', `--format ${value} needs a file name after "=", or "-" for stdout`);
    if (format === 'legacy' && eq >= 0) throw new OciScanError('USAGE', '--format legacy writes one report file per image in --reports-dir: give the directory with --reports-dir, not --format legacy=…');
    return { format, dest: eq >= 0 ? value.slice(eq + 1) : format === 'legacy' ? '' : '-' };
  });
  if (output !== undefined) {
    const documents = outputs.filter((o) => o.format !== 'legacy');
    if (documents.length !== 1 || outputs.length !== 1) {
      throw new OciScanError('USAGE', documents.length === 0 ? '-o/--output writes the document of --format json|sarif|junit|table|html; the legacy reports go to --reports-dir (see oci-scan --help)' : '-o/--output takes the output of a single --format; with several, give each its file: --format sarif=out.sarif --format junit=junit.xml');
    }
    return [{ format: documents[0]?.format ?? 'json', dest: output }];
  }
  const onStdout = outputs.filter((o) => o.dest === '-');
  if (onStdout.length > 1) throw new OciScanError('USAGE', `at most one format can go to stdout, got ${onStdout.map((o) => o.format).join(' and ')}: give the others a file (--format ${onStdout[1]?.format ?? 'junit'}=FILE)`);
  if (new Set(outputs.map((o) => o.format)).size !== outputs.length) throw new OciScanError('USAGE', 'each --format may be given once');
  return outputs;
}

/** The values of a repeatable option (yargs gives a string for one, an array for several). */
function repeated(value: string | readonly string[] | undefined): string[] {
  return value === undefined ? [] : typeof value === 'string' ? [value] : value.map(String);
}

/** `--progress`, else OCI_SCAN_PROGRESS, else auto; USAGE for a value of the variable that is no mode. */
function progressMode(option: string | undefined, env: NodeJS.ProcessEnv): ProgressMode {
  const value = option ?? (env['OCI_SCAN_PROGRESS'] || 'auto');
  const mode = PROGRESS_MODES.find((m) => m === value);
  if (!mode) throw new OciScanError('USAGE', `OCI_SCAN_PROGRESS=${JSON.stringify(value)} is not a progress mode: use ${PROGRESS_MODES.join(', ')}`);
  return mode;
}

/** Refuses a `--ca-file` that holds no PEM certificate (USAGE), before any connection. */
export async function checkCaFile(file: string): Promise<void> {
  let text: string;
  try {
    const st = await stat(file);
    // A CA bundle is a few hundred KiB at most (Debian's is ~200 KiB): bound the read.
    if (!st.isFile() || st.size > 16 * 1024 * 1024) throw new Error(st.isFile() ? 'larger than 16 MiB' : 'not a file');
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new OciScanError('USAGE', `--ca-file ${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a PEM file of CA certificates`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const valid = blocks.filter((b) => {
    try {
      new X509Certificate(b);
      return true;
    } catch {
      return false;
    }
  });
  if (valid.length === 0 || valid.length !== blocks.length) throw new OciScanError('USAGE', `--ca-file ${JSON.stringify(file)} is not a PEM certificate file (${blocks.length === 0 ? 'no BEGIN CERTIFICATE block' : 'a certificate block does not parse'}): give the CA certificate(s) in PEM form`);
}

/** `parser` with the options of every command that scans images (scan, audit): platform, registry, limits, cache, logs, policy and threshold. */
export function withImageOptions<T>(parser: Argv<T>) {
  return parser
    .option('platform', { type: 'string', default: 'linux/amd64', requiresArg: true })
    .option('insecure-registry', { type: 'string', requiresArg: true })
    .option('registry-mirror', { type: 'string', requiresArg: true })
    .option('ca-file', { type: 'string', requiresArg: true })
    .option('max-layer-size', { type: 'string', default: '64g', requiresArg: true })
    .option('timeout', { type: 'string', default: '0', requiresArg: true })
    .option('cache', { type: 'boolean', default: true })
    .option('cache-dir', { type: 'string', requiresArg: true })
    .option('cache-max-size', { type: 'string', requiresArg: true })
    .option('allow-unscanned-layers', { type: 'boolean', default: false })
    .option('log-level', { type: 'string', choices: LOG_LEVELS as string[], default: 'warn', requiresArg: true })
    .option('log-format', { type: 'string', choices: LOG_FORMATS as string[], requiresArg: true })
    .option('policy', { type: 'string', requiresArg: true })
    .option('fail-on', { type: 'string', requiresArg: true })
    .option('exit-code', { type: 'string', requiresArg: true });
}

/** Parses the scan command's arguments; usage errors become OciScanError('USAGE'); undefined after --help/--version (and after --list-checks, which prints the checks). */
export async function parseScanArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ScanConfig | ListChecks | undefined> {
  let usageError: string | undefined;
  const parser = yargs([...argv])
    .scriptName('oci-scan')
    // The help is written by hand (src/cli/help.ts): yargs' own wraps inside words.
    .help(false)
    .command('$0 [images..]', false)
    .positional('images', { type: 'string', array: true })
    // Repeatable options take one value each (`--format sarif=a --format junit=b`): an `array`
    // option would swallow the IMAGE that follows (`--format json IMAGE`).
    .option('format', { type: 'string', requiresArg: true })
    .option('output', { alias: 'o', type: 'string', requiresArg: true })
    .option('quiet', { alias: 'q', type: 'boolean', default: false })
    .option('list-checks', { type: 'boolean', default: false })
    .option('progress', { type: 'string', choices: PROGRESS_MODES as unknown as string[], requiresArg: true })
    .option('reports-dir', { type: 'string', requiresArg: true })
    .option('json-stdout', { type: 'boolean' })
    .option('base', { type: 'string', requiresArg: true })
    .option('color', { type: 'boolean' });
  const args = await strictParser(withImageOptions(parser), (message) => (usageError = message), argv)
    // The package's own version: yargs' lookup starts at the started script, which through
    // npm's bin link is node_modules/.bin, and would find the installing project's package.json.
    .version(toolInfo().version)
    .parseAsync();
  if (usageError) throw new OciScanError('USAGE', `${usageError.replace(/^Not enough arguments following: (.*)$/, '--$1 needs a value')} (see oci-scan --help)`);
  if (args['version']) return undefined;
  if (args.help) {
    await emit(process.stdout, SCAN_HELP);
    return undefined;
  }
  // An option repeated where one value is meant arrives as an array: refuse it, never guess.
  for (const name of ['output', 'base', 'reports-dir', 'platform', 'ca-file', 'max-layer-size', 'timeout', 'progress', 'log-level', 'log-format', 'cache-dir', 'cache-max-size'] as const) {
    if (Array.isArray(args[name])) throw new OciScanError('USAGE', `--${name} was given more than once (see oci-scan --help)`);
  }
  const outputs = parseFormats(repeated(args.format), args.output);
  if (args.base !== undefined && args.base.trim() === '') throw new OciScanError('USAGE', '--base needs the base image (a registry reference, oci:DIR[:TAG], oci-archive:FILE or docker-archive:FILE)');
  if (args['list-checks']) {
    const [first, ...more] = outputs;
    if (more.length > 0 || (first && first.format !== 'table' && first.format !== 'json' && args.format !== undefined)) throw new OciScanError('USAGE', '--list-checks prints a table, or JSON with --format json');
    return { listChecks: first?.format === 'json' ? 'json' : 'table', output: first?.dest || '-' };
  }
  const legacy = outputs.some((o) => o.format === 'legacy');
  const stdoutTaken = outputs.some((o) => o.dest === '-');
  if (!legacy && args['json-stdout'] !== undefined) throw new OciScanError('USAGE', '--json-stdout prints the legacy reports; with --format json the document goes to stdout, or to -o FILE (see oci-scan --help)');
  if (legacy && stdoutTaken && args['json-stdout'] === true) throw new OciScanError('USAGE', '--json-stdout prints the legacy reports on stdout, which another --format already writes to: give that format a file (--format FORMAT=FILE)');
  // A reports directory is where legacy reports go. Named on the command line for a run that
  // writes none, it is a mistake; COMPLIANCE_REPORTS_DIR is ambient (set for every CI job, or by
  // the container image) and is then not used (runScan logs so at info).
  if (!legacy && args['reports-dir'] !== undefined) {
    const formats = outputs.map((o) => o.format).join(', ');
    throw new OciScanError('USAGE', `--reports-dir holds the legacy report files, which --format ${formats} does not write: add --format legacy${args.output === undefined ? ', or write the document to a file with -o FILE' : ''} (see oci-scan --help)`);
  }
  const given = (args.images ?? []).map(String);
  const fromEnv = env['COMPLIANCE_IMAGE_FULL_REF'];
  const image = await imageOptionValues(args, env);
  return {
    images: given.length > 0 ? given : fromEnv ? [fromEnv] : [],
    outputs,
    reportsDir: args['reports-dir'] ?? (env['COMPLIANCE_REPORTS_DIR'] || 'reports'),
    ...(!legacy && env['COMPLIANCE_REPORTS_DIR'] ? { unusedReportsDir: env['COMPLIANCE_REPORTS_DIR'] } : {}),
    // Without legacy, or with stdout taken by a document, COMPLIANCE_JSON_STDOUT (set for the legacy reports) is ignored.
    jsonStdout: legacy && !stdoutTaken && (args['json-stdout'] ?? truthy(env['COMPLIANCE_JSON_STDOUT'])),
    colour: wantColour(args.color, env),
    quiet: args.quiet,
    // -q silences progress as it does in audit, unless --progress or OCI_SCAN_PROGRESS asks for it.
    progress: args.quiet && args.progress === undefined && !env['OCI_SCAN_PROGRESS'] ? 'none' : progressMode(args.progress, env),
    ...(args.base !== undefined ? { base: args.base } : {}),
    ...image,
  };
}

/** What `withImageOptions` parses, as yargs gives it. */
export interface ImageOptionArgs {
  readonly platform: string;
  readonly 'insecure-registry'?: string | readonly string[] | undefined;
  readonly 'registry-mirror'?: string | readonly string[] | undefined;
  readonly 'ca-file'?: string | undefined;
  readonly 'max-layer-size': string;
  readonly timeout: string;
  readonly cache: boolean;
  readonly 'cache-dir'?: string | undefined;
  readonly 'cache-max-size'?: string | undefined;
  readonly 'allow-unscanned-layers': boolean;
  readonly 'log-level': string;
  readonly 'log-format'?: string | undefined;
  readonly policy?: string | undefined;
  readonly 'fail-on'?: string | undefined;
  readonly 'exit-code'?: string | undefined;
}

/**
 * How log lines look: `--log-format` when given; else JSON when logs were asked for (`--log-level`
 * info, debug or trace: lines to be read by tools), and one human line each otherwise (warnings).
 */
function logFormatOf(format: string | undefined, level: string): LogFormat {
  if (format === 'json' || format === 'human') return format;
  return level === 'info' || level === 'debug' || level === 'trace' ? 'json' : 'human';
}

/** The image options' values (scan, audit): usage errors for a value that does not read, the CA file checked, the policy loaded. */
export async function imageOptionValues(
  args: ImageOptionArgs,
  env: NodeJS.ProcessEnv,
): Promise<Pick<ScanConfig, 'platform' | 'registry' | 'maxLayerBytes' | 'timeoutSeconds' | 'allowUnscannedLayers' | 'logLevel' | 'logFormat' | 'codes' | 'cache' | 'policy' | 'threshold'>> {
  if (args['ca-file'] !== undefined) await checkCaFile(args['ca-file']);
  // Read even with --no-cache, so that a wrong --cache-max-size is refused all the same.
  const cache = cacheConfig(args['cache-dir'], args['cache-max-size'], env);
  return {
    platform: args.platform === 'all' ? 'all' : parsePlatform(args.platform),
    registry: registryOptions({ insecureRegistries: repeated(args['insecure-registry']), mirrors: repeated(args['registry-mirror']), caFile: args['ca-file'] }, env),
    maxLayerBytes: parseSize(args['max-layer-size'], '--max-layer-size'),
    timeoutSeconds: parseTimeout(args.timeout),
    allowUnscannedLayers: args['allow-unscanned-layers'],
    logLevel: args['log-level'] as LevelWithSilent,
    logFormat: logFormatOf(args['log-format'], args['log-level']),
    codes: severityCodes(env),
    ...(args.cache ? { cache } : {}),
    ...(await policyAndThreshold(args.policy, args['fail-on'], args['exit-code'])),
  };
}

/** The run's policy (`--policy`, else the working directory's file) and failure threshold; USAGE when either is wrong. */
export async function policyAndThreshold(policyFile: string | undefined, failOn: string | undefined, exitCode: string | undefined): Promise<Pick<ScanConfig, 'policy' | 'threshold'>> {
  if (policyFile === '') throw new OciScanError('USAGE', '--policy needs a file name (see oci-scan --help)');
  const threshold = failThreshold(failOn, exitCode);
  const policy = await findPolicy(policyFile, process.cwd());
  return { ...(policy ? { policy } : {}), ...(threshold ? { threshold } : {}) };
}

/** `--list-checks`: how to print the checks, and where. */
export interface ListChecks {
  readonly listChecks: 'table' | 'json';
  readonly output: string;
}

/** Fails fast (exit 23) when the reports directory cannot be created or written, before any download. */
export async function checkReportsDir(dir: string): Promise<void> {
  await ensureReportsDir(dir);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new OciScanError('REPORT_WRITE', `the reports directory ${dir} is not writable: set COMPLIANCE_REPORTS_DIR or --reports-dir to a writable directory`);
  }
}

/** Fails fast (exit 23) when `-o FILE` cannot be written: its directory missing or read-only, or FILE a directory. */
export async function checkOutputFile(file: string): Promise<void> {
  const dir = dirname(file);
  const isDir = (path: string): Promise<boolean> => stat(path).then((st) => st.isDirectory(), () => false);
  if (!(await isDir(dir)) || !(await access(dir, constants.W_OK).then(() => true, () => false))) {
    throw new OciScanError('REPORT_WRITE', `cannot write the document ${file}: its directory ${dir} does not exist or is not writable; choose another -o FILE`);
  }
  if (await isDir(file)) throw new OciScanError('REPORT_WRITE', `cannot write the document ${file}: it is a directory; give -o a file name`);
}

/** What became of one IMAGE of the run. */
type Outcome = { readonly input: string; readonly scans: readonly ImageScan[] } | { readonly input: string; readonly failure: ScanFailure };

/** The text of a document format for the run's `outcomes`; `table` gives the table's text (a scan's tables per image, an audit's summary table), `page` the HTML report's (default: the scan's). */
export function documentOf(format: Exclude<Format, 'legacy'>, outcomes: readonly ImageOutcome[], table: () => Iterable<string>, page: () => Iterable<string> = () => scanHtml(outcomes)): Iterable<string> {
  switch (format) {
    case 'json':
      return documentText(scanDocument(outcomes));
    case 'sarif':
      return documentText(sarifLog(outcomes));
    case 'junit':
      return [junitXml(outcomes)];
    case 'table':
      return table();
    case 'html':
      return page();
  }
}

/** The scan's table: one per image. */
function scanTables(outcomes: readonly Outcome[], quiet: boolean): () => string[] {
  return () => {
    const scans = scannedImages(outcomes);
    const failed = outcomes.filter((o) => 'failure' in o).length;
    const tables = scans.map((s, i) => `${i > 0 ? '\n' : ''}${tableText(s, { quiet })}`);
    return scans.length + failed > 1 ? [...tables, `\n${totalLine(scans, failed)}`] : tables;
  };
}

/** The bytes to download for `image`: its distinct layers' sizes. */
function imageSize(image: Image): number {
  return [...new Map(image.layers.map((l) => [l.digest, l.size])).values()].reduce((a, b) => a + b, 0);
}

/** The progress display of a run on stderr, wired to the scan options and to the CLI's other output. */
function startProgress(mode: ProgressMode): Pick<ScanOptions, 'onLayer' | 'onLayerBytes'> {
  const reporter = progressReporter(mode, process.stderr.isTTY === true, { write: (text) => process.stderr.write(text), now: () => performance.now() });
  setOutputGuard(reporter?.beforeOutput);
  if (!reporter) return {};
  // A layer whose facts came from the cache read no byte: it is "cached", not "read".
  const read = new Set<string>();
  return {
    onLayerBytes: ({ image, layer, bytes }) => {
      read.add(`${image.name.display}\n${layer.digest}`);
      reporter.bytes(image.name.display, layer.digest, layer.size, bytes, imageSize(image));
    },
    onLayer: ({ image, layer, done, total }) => reporter.layerDone(image.name.display, layer.digest, done, total, !read.has(`${image.name.display}\n${layer.digest}`)),
  };
}

/**
 * The scan options every image of a run shares (scan, audit): one layer-facts store — memory in
 * front of the disk cache, so that a layer two images share is read from disk once — the disk
 * cache's configs, and one registry session (one ping, one credential lookup, one token cache
 * per registry).
 */
export function runScanOptions(
  config: Pick<ScanConfig, 'platform' | 'registry' | 'allowUnscannedLayers' | 'maxLayerBytes' | 'policy' | 'cache'>,
  logger: RunContext['logger'],
  signal: AbortSignal,
  session: ReturnType<typeof openSession>,
): ScanOptions & { readonly store: FactsStore; readonly session: ReturnType<typeof openSession> } {
  const disk = config.cache ? diskFactsStore(config.cache.dir, { maxBytes: config.cache.maxBytes, logger }) : undefined;
  const store: FactsStore = disk ? tieredStore(memoryFactsStore(), disk) : memoryFactsStore();
  if (config.policy) logger.info({ file: config.policy.file }, 'policy loaded');
  return {
    platform: config.platform,
    registry: config.registry,
    logger,
    signal,
    store,
    ...(disk ? { configs: disk.configs } : {}),
    session,
    allowUnscannedLayers: config.allowUnscannedLayers,
    limits: { maxLayerBytes: config.maxLayerBytes },
    ...(config.policy ? { policy: config.policy.policy } : {}),
  };
}

/** `err` with a hint when IMAGE also names a local file or layout in another form (`app.tar` → `./app.tar`). */
async function withLocalHint(err: unknown, input: string): Promise<unknown> {
  if (!(err instanceof OciScanError)) return err;
  const hint = await localSourceHint(input);
  if (!hint) return err;
  return new OciScanError(err.code, `${err.message} — ${hint}`, { cause: err, ...(err.setting !== undefined ? { setting: err.setting } : {}), ...(err.status !== undefined ? { status: err.status } : {}) });
}

/** Runs a parsed scan command line. */
export async function runScan(config: ScanConfig, context: RunContext): Promise<number> {
  const { logger, signal } = context;
  const inputs = imagesToScan(config.images);
  const legacy = config.outputs.some((o) => o.format === 'legacy');
  if (config.unusedReportsDir !== undefined) logger.info({ dir: config.unusedReportsDir }, 'COMPLIANCE_REPORTS_DIR is not used: this run writes no legacy report (add --format legacy to write them there)');
  const files = config.outputs.filter((o) => o.format !== 'legacy' && o.dest !== '-');
  const onStdout = config.outputs.find((o) => o.format !== 'legacy' && o.dest === '-');
  if (legacy) await checkReportsDir(config.reportsDir);
  for (const f of files) await checkOutputFile(f.dest);

  // One set of options for the whole run: every image shares the facts store and the sessions.
  const session = openSession({ registry: config.registry, logger });
  const options: ScanOptions = { ...runScanOptions(config, logger, signal, session), ...startProgress(config.progress), ...(config.base !== undefined ? { base: config.base } : {}) };
  const outcomes: Outcome[] = [];
  const failures: unknown[] = [];
  try {
    for (const input of inputs) {
      try {
        const detected = await detectSource(input);
        if (detected.note) await emit(process.stderr, `oci-scan: ${terminalText(detected.note)}\n`);
        outcomes.push({ input, scans: await scan(detected.image, options) });
      } catch (caught) {
        // A stopped run (signal, --timeout) stops every image and writes nothing.
        if (signal.aborted) throw caught;
        const err = await withLocalHint(caught, input);
        printFailure(err, logger, inputs.length > 1 ? `${input}: ` : '');
        failures.push(err);
        outcomes.push({ input, failure: describeFailure(err) });
      }
    }
  } finally {
    // Every layer has been read: the registries' connections can go.
    await session.close();
  }

  const groups = outcomes.flatMap((o) => ('scans' in o ? [o.scans] : []));
  const scans = groups.flat();
  // Every file goes to a temporary file first and all are renamed together: a run stopped
  // before that leaves no report (docs/errors.md).
  const batch = new ReportBatch(config.reportsDir);
  context.onExit(() => batch.discard());
  if (legacy) {
    const names = reportFileNames(groups.map((g) => g.map((s) => s.image)));
    for (const [i, s] of scans.entries()) await batch.write(names[i] ?? '', s.report, signal);
  }
  for (const f of files) {
    if (f.format !== 'legacy') await batch.writeFile(f.dest, documentOf(f.format, outcomes, scanTables(outcomes, config.quiet)), signal);
  }
  const stdoutDocument = onStdout && onStdout.format !== 'legacy' ? documentOf(onStdout.format, outcomes, scanTables(outcomes, config.quiet)) : undefined;
  const reportSet = config.jsonStdout && scans.length > 0 ? legacyReportSet(groups) : undefined;
  const paths = batch.commit(signal);
  context.committed();
  for (const path of paths) logger.info({ path }, 'report written');

  // The check lines: the human view unless the table is asked for; on stderr when stdout carries data.
  const stdoutIsData = config.jsonStdout || stdoutDocument !== undefined;
  const lines = stdoutIsData ? process.stderr : process.stdout;
  const tableAsked = config.outputs.some((o) => o.format === 'table');
  for (const [i, s] of scans.entries()) {
    const chunks = function* (): Generator<string> {
      if (!tableAsked) {
        if (scans.length > 1 || failures.length > 0) yield imageHeader(s.image);
        yield* terminalChunks(config.quiet ? s.results.filter((r) => !r.Pass) : s.results, { colour: config.colour && !stdoutIsData, layers: detailsByDigest(layerDetails(s)) });
        yield summaryLine(s);
      }
      if (legacy) yield `Report: ${escapeForTerminal(paths[i] ?? '')}\n`;
    };
    await emitAll(lines, chunks(), signal);
  }
  // Several images (or IMAGEs that failed): a total after the last image's lines.
  if (!tableAsked && scans.length + failures.length > 1) await emitAll(lines, [totalLine(scans, failures.length)], signal);
  for (const f of files) await emitAll(lines, [`Report: ${escapeForTerminal(f.dest)}\n`], signal);
  if (stdoutDocument) await emitAll(process.stdout, stdoutDocument, signal);
  if (reportSet) await emitAll(process.stdout, documentText(reportSet), signal);
  return runExitCode(failures, highestOf(scans.map((s) => s.highest)), config.codes, config.threshold);
}

/** Prints the checks (`--list-checks`). */
async function runListChecks(list: ListChecks, context: RunContext): Promise<number> {
  const text = checkListText(list.listChecks);
  if (list.output === '-') {
    await emitAll(process.stdout, [text], context.signal);
  } else {
    await checkOutputFile(list.output);
    const batch = new ReportBatch(dirname(list.output));
    context.onExit(() => batch.discard());
    await batch.writeFile(list.output, [text], context.signal);
    batch.commit(context.signal);
    context.committed();
  }
  return 0;
}

/** The `scan` command (also the default command). */
export const scanCommand: Command = {
  name: 'scan',
  async parse(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined> {
    const config = await parseScanArgs(argv, env);
    if (!config) return undefined;
    if ('listChecks' in config) return { logLevel: 'warn', timeoutSeconds: 0, run: (context) => runListChecks(config, context) };
    return { logLevel: config.logLevel, logFormat: config.logFormat, timeoutSeconds: config.timeoutSeconds, run: (context) => runScan(config, context) };
  },
};
