/**
 * `oci-scan [scan] IMAGE… [options]` (docs/usage.md): every IMAGE scanned in one run with
 * one set of options (one layer-facts store, the same registry settings), then the reports —
 * each `--format` (legacy report files and check lines, the json document, SARIF, JUnit, the
 * table) to its destination — and one exit code. `--list-checks` prints the checks instead.
 *
 * Several IMAGEs (docs/errors.md "Several images"): every one is attempted; one that cannot be
 * scanned prints its line on stderr and the others still get their reports; the exit code is
 * then that of the first failure, else the code of the highest severity over every image.
 */
import yargs from 'yargs';
import { OciScanError } from '../../errors.js';
import { toolInfo } from '../../report/tool.js';
import { repeated, strictParser, truthy, wantColour } from '../options.js';
import { parseFormats } from '../documents.js';
import { checkSetOption, imageOptionValues, withImageOptions } from '../image-options.js';
import { SCAN_HELP } from '../help.js';
import { emit } from '../output.js';
import { PROGRESS_MODES, type ProgressMode } from '../progress.js';
import { attachConfig, withAttachOptions } from '../attest-options.js';
import type { Command, Invocation } from './command.js';
import type { ListChecks, ScanConfig } from './scan-run.js';

export type { ListChecks, ScanConfig } from './scan-run.js';

/** `--progress`, else OCI_SCAN_PROGRESS, else auto; USAGE for a value of the variable that is no mode. */
function progressMode(option: string | undefined, env: NodeJS.ProcessEnv): ProgressMode {
  const value = option ?? (env['OCI_SCAN_PROGRESS'] || 'auto');
  const mode = PROGRESS_MODES.find((m) => m === value);
  if (!mode)
    throw new OciScanError('USAGE', `OCI_SCAN_PROGRESS=${JSON.stringify(value)} is not a progress mode: use ${PROGRESS_MODES.join(', ')}`);
  return mode;
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
  const args = await strictParser(withAttachOptions(withImageOptions(parser)), (message) => (usageError = message), argv)
    // The package's own version: yargs' lookup starts at the started script, which through
    // npm's bin link is node_modules/.bin, and would find the installing project's package.json.
    .version(toolInfo().version)
    .parseAsync();
  if (usageError)
    throw new OciScanError(
      'USAGE',
      `${usageError.replace(/^Not enough arguments following: (.*)$/, '--$1 needs a value')} (see oci-scan --help)`,
    );
  if (args['version']) return undefined;
  if (args.help) {
    await emit(process.stdout, SCAN_HELP);
    return undefined;
  }
  // An option repeated where one value is meant arrives as an array: refuse it, never guess.
  for (const name of [
    'output',
    'reports-dir',
    'platform',
    'ca-file',
    'max-layer-size',
    'timeout',
    'progress',
    'log-level',
    'log-format',
    'cache-dir',
    'cache-max-size',
    'checks',
    'base',
  ] as const) {
    if (Array.isArray(args[name])) throw new OciScanError('USAGE', `--${name} was given more than once (see oci-scan --help)`);
  }
  const outputs = parseFormats(repeated(args.format), args.output);
  if (args.base !== undefined && args.base.trim() === '')
    throw new OciScanError(
      'USAGE',
      '--base needs the base image (a registry reference, oci:DIR[:TAG], oci-archive:FILE or docker-archive:FILE)',
    );
  if (args['list-checks']) {
    const [first, ...more] = outputs;
    if (more.length > 0 || (first && first.format !== 'table' && first.format !== 'json' && args.format !== undefined))
      throw new OciScanError('USAGE', '--list-checks prints a table, or JSON with --format json');
    const checkSet = await checkSetOption(args.checks);
    const { findPolicy } = await import('../../policy/load.js');
    const policy = await findPolicy(args.policy, process.cwd());
    return {
      listChecks: first?.format === 'json' ? 'json' : 'table',
      output: first?.dest || '-',
      ...(checkSet ? { checkSet } : {}),
      ...(policy ? { policy: policy.policy } : {}),
    };
  }
  const legacy = outputs.some((o) => o.format === 'legacy');
  const stdoutTaken = outputs.some((o) => o.dest === '-');
  if (!legacy && args['json-stdout'] !== undefined)
    throw new OciScanError(
      'USAGE',
      '--json-stdout prints the legacy reports; with --format json the document goes to stdout, or to -o FILE (see oci-scan --help)',
    );
  if (legacy && stdoutTaken && args['json-stdout'] === true)
    throw new OciScanError(
      'USAGE',
      '--json-stdout prints the legacy reports on stdout, which another --format already writes to: give that format a file (--format FORMAT=FILE)',
    );
  // A reports directory is where legacy reports go. Named on the command line for a run that
  // writes none, it is a mistake; COMPLIANCE_REPORTS_DIR is ambient (set for every CI job, or by
  // the container image) and is then not used (runScan logs so at info).
  if (!legacy && args['reports-dir'] !== undefined) {
    const formats = outputs.map((o) => o.format).join(', ');
    throw new OciScanError(
      'USAGE',
      `--reports-dir holds the legacy report files, which --format ${formats} does not write: add --format legacy${args.output === undefined ? ', or write the document to a file with -o FILE' : ''} (see oci-scan --help)`,
    );
  }
  const given = (args.images ?? []).map(String);
  const fromEnv = env['COMPLIANCE_IMAGE_FULL_REF'];
  const image = await imageOptionValues(args, env);
  const attach = await attachConfig(args, env);
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
    ...(attach ? { attach } : {}),
  };
}

/** The `scan` command (also the default command). */
export const scanCommand: Command = {
  name: 'scan',
  async parse(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined> {
    const config = await parseScanArgs(argv, env);
    if (!config) return undefined;
    // The run's modules (the scan pipeline, the report formats) are loaded once the command line is good.
    if ('listChecks' in config)
      return {
        logLevel: 'warn',
        timeoutSeconds: 0,
        run: async (context) => (await import('./scan-run.js')).runListChecks(config, context),
      };
    return {
      logLevel: config.logLevel,
      logFormat: config.logFormat,
      timeoutSeconds: config.timeoutSeconds,
      run: async (context) => (await import('./scan-run.js')).runScan(config, context),
    };
  },
};
