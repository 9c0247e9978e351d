/**
 * `oci-scan audit TARGET [options]` and `oci-scan audit merge DIR… [options]` (docs/audit.md):
 * every image of a registry (or a prefix of it, or the repositories of `--repos FILE`) or of an
 * OCI layout, planned, scanned once per distinct manifest with one layer-facts store, written
 * as one legacy report per image plus `audit-summary.json` into `--reports-dir`, the table on
 * stdout, `--format json|sarif|junit` for the whole audit; and the merge of a sharded audit's
 * summaries into the one an unsharded run would have written.
 *
 * Exit code: the highest severity's over every image (policy-aware, as for scans); 20 when the
 * listing itself failed, or (merge) when a shard is missing. An image that could not be scanned
 * is in the summary with its error and does not change the code.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import type { Severity } from '../../checks/types.js';
import { exitCodeFor, OciScanError } from '../../errors.js';
import { openSession } from '../../registry/session.js';
import { terminalText } from '../../report/formats/terminal.js';
import type { ImageOutcome } from '../../report/model.js';
import { toolInfo } from '../../report/tool.js';
import { documentText, ReportBatch } from '../../report/write.js';
import type { AuditTarget, PlanFilters } from '../../audit/plan.js';
import { parseTarget, shardOfRun } from '../audit-args.js';
import { runAudit } from '../../audit/run.js';
import { targetLabel } from '../../audit/plan.js';
import { mergeSummaries, summaryHighest, type AuditSummary } from '../../audit/summary.js';
import { auditTable } from '../../audit/table.js';
import { auditHtml } from '../../audit/html.js';
import { readSummaryDir, SUMMARY_FILE } from '../../audit/read.js';
import { assertValidSummary } from '../../audit/validate.js';
import { runExitCode, severityCodes, type FailThreshold } from '../exit-codes.js';
import { AUDIT_HELP, AUDIT_MERGE_HELP } from '../help.js';
import { repeated, strictParser } from '../options.js';
import { describeFailure, emit, emitAll } from '../output.js';
import type { Command, Invocation, RunContext } from './command.js';
import type { KeyObject } from 'node:crypto';
import { policyFingerprint } from '../../policy/fingerprint.js';
import {
  attachConfig,
  attachScans,
  DEFAULT_MAX_AGE,
  parseMaxAge,
  verifyKeyOf,
  withAttachOptions,
  type AttachConfig,
} from '../attest-options.js';
import { checkOutputFile, checkReportsDir, documentOf, parseFormats, type FormatOutput } from '../documents.js';
import { imageOptionValues, policyAndThreshold, runScanOptions, withImageOptions, type ImageOptionValues } from '../image-options.js';

/** How the audit's documents are written: json, sarif, junit (the whole audit) and table (the audit table). */
type AuditFormat = Exclude<FormatOutput['format'], 'legacy'>;

/** Everything an audit run needs, resolved from argv and the environment (the image options read as for scans). */
export interface AuditConfig extends ImageOptionValues {
  /** The legacy report files' and the summary's directory. */
  readonly reportsDir: string;
  /** `--quiet`: no line per reference on stderr. */
  readonly quiet: boolean;
  readonly target: AuditTarget;
  readonly filters: PlanFilters;
  readonly outputs: ReadonlyArray<{ readonly format: AuditFormat; readonly dest: string }>;
  readonly concurrency: number;
  readonly rate: number;
  readonly fresh: boolean;
  /** An audit that matches no image exits 0 instead of 22. */
  readonly allowEmpty: boolean;
  /** `--attach`: each scanned image's verdict pushed to its registry (docs/attest.md). */
  readonly attach?: AttachConfig;
  /** `--reuse-attestations --key PUB [--max-age T]`: images with a valid attestation are not scanned. */
  readonly reuse?: { readonly key: KeyObject; readonly maxAgeSeconds: number };
}

/** Everything `audit merge` needs. */
export interface MergeConfig {
  readonly dirs: readonly string[];
  readonly reportsDir: string;
  readonly outputs: ReadonlyArray<{ readonly format: AuditFormat; readonly dest: string }>;
  readonly codes: Readonly<Record<Severity, number>>;
  readonly threshold?: FailThreshold;
}

/** The default number of references resolved or digests scanned at once: four per core (most of an image's time is spent waiting on the registry), 4 to 16. */
export function defaultConcurrency(): number {
  return Math.max(4, Math.min(16, availableParallelism() * 4));
}

function wholeNumber(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\s*\d{1,9}\s*$/.test(text) || Number(text) < min || Number(text) > max)
    throw new OciScanError('USAGE', `${flag} ${JSON.stringify(text)} is not a whole number from ${min} to ${max}`);
  return Number(text);
}

function positiveNumber(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\s*\d{1,6}(\.\d+)?\s*$/.test(text))
    throw new OciScanError('USAGE', `${flag} ${JSON.stringify(text)} is not a number (0 for no limit)`);
  return Number(text);
}

/** `--format` values of the audit: json, sarif, junit (the whole audit) and table; the legacy reports always go to --reports-dir. */
function auditFormats(values: readonly string[], output: string | undefined): Array<{ format: AuditFormat; dest: string }> {
  if (values.some((v) => v === 'legacy' || v.startsWith('legacy=')))
    throw new OciScanError(
      'USAGE',
      'an audit always writes the legacy report files (in --reports-dir): --format takes json, sarif, junit, table or html',
    );
  const outputs =
    values.length === 0 && output === undefined
      ? [{ format: 'table' as const, dest: '-' }]
      : parseFormats(values.length === 0 ? ['table'] : values, output);
  const docs = outputs.flatMap((o) => (o.format === 'legacy' ? [] : [{ format: o.format, dest: o.dest }]));
  // The table is on stdout unless a document is there.
  if (!docs.some((o) => o.dest === '-') && !docs.some((o) => o.format === 'table')) docs.push({ format: 'table', dest: '-' });
  return docs;
}

function onlyOnce(args: Record<string, unknown>, names: readonly string[], help: string): void {
  for (const name of names)
    if (Array.isArray(args[name])) throw new OciScanError('USAGE', `--${name} was given more than once (see ${help})`);
}

/** Parses `oci-scan audit …` (not `merge`); undefined after --help. */
export async function parseAuditArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<AuditConfig | undefined> {
  let usageError: string | undefined;
  const args = await strictParser(
    withAttachOptions(
      withImageOptions(
        yargs([...argv])
          .scriptName('oci-scan audit')
          .help(false)
          .version(false)
          .command('$0 [target]', false)
          .positional('target', { type: 'string' })
          .option('repos', { type: 'string', requiresArg: true })
          .option('include', { type: 'string', requiresArg: true })
          .option('exclude', { type: 'string', requiresArg: true })
          .option('tags', { type: 'string', requiresArg: true })
          .option('latest-tags', { type: 'string', requiresArg: true })
          .option('shard', { type: 'string', requiresArg: true })
          .option('shards', { type: 'string', requiresArg: true })
          .option('concurrency', { type: 'string', requiresArg: true })
          .option('rate', { type: 'string', requiresArg: true })
          .option('page-size', { type: 'string', requiresArg: true })
          .option('fresh', { type: 'boolean', default: false })
          .option('allow-empty', { type: 'boolean', default: false })
          .option('format', { type: 'string', requiresArg: true })
          .option('output', { alias: 'o', type: 'string', requiresArg: true })
          .option('quiet', { alias: 'q', type: 'boolean', default: false })
          .option('reports-dir', { type: 'string', requiresArg: true })
          .option('reuse-attestations', { type: 'boolean', default: false })
          .option('key', { type: 'string', requiresArg: true })
          .option('max-age', { type: 'string', requiresArg: true }),
      ),
    ),
    (message) => (usageError = message),
    argv,
  ).parseAsync();
  if (usageError) throw new OciScanError('USAGE', `${usageError} (see oci-scan audit --help)`);
  if (args.help) {
    await emit(process.stdout, AUDIT_HELP);
    return undefined;
  }
  onlyOnce(
    args,
    [
      'repos',
      'tags',
      'latest-tags',
      'shard',
      'shards',
      'concurrency',
      'rate',
      'page-size',
      'output',
      'reports-dir',
      'platform',
      'ca-file',
      'max-layer-size',
      'timeout',
      'log-level',
      'log-format',
      'cache-dir',
      'cache-max-size',
      'checks',
    ],
    'oci-scan audit --help',
  );
  let tags: RegExp | undefined;
  if (args.tags !== undefined) {
    try {
      tags = new RegExp(args.tags, 'u');
    } catch {
      throw new OciScanError('USAGE', `--tags ${JSON.stringify(args.tags)} is not a regular expression`);
    }
  }
  const latest = wholeNumber(args['latest-tags'], '--latest-tags', 1, 1_000_000);
  const shard = shardOfRun(args.shard, wholeNumber(args.shards, '--shards', 1, 10_000), env);
  const pageSize = wholeNumber(args['page-size'], '--page-size', 1, 10_000);
  const image = await imageOptionValues(args, env);
  const attach = await attachConfig(args, env);
  if (!args['reuse-attestations'] && (args.key !== undefined || args['max-age'] !== undefined))
    throw new OciScanError('USAGE', '--key and --max-age choose the attestations --reuse-attestations reuses: add --reuse-attestations');
  const reuse = args['reuse-attestations']
    ? { key: await verifyKeyOf(args.key, '--reuse-attestations'), maxAgeSeconds: parseMaxAge(args['max-age'] ?? DEFAULT_MAX_AGE) }
    : undefined;
  return {
    target: parseTarget(args.target, args.repos),
    filters: {
      include: repeated(args.include),
      exclude: repeated(args.exclude),
      ...(tags ? { tags } : {}),
      ...(latest !== undefined ? { latestTags: latest } : {}),
      ...(shard ? { shard } : {}),
      ...(pageSize !== undefined ? { pageSize } : {}),
    },
    reportsDir: args['reports-dir'] ?? (env['COMPLIANCE_REPORTS_DIR'] || 'reports'),
    outputs: auditFormats(repeated(args.format), args.output),
    quiet: args.quiet,
    concurrency: wholeNumber(args.concurrency, '--concurrency', 1, 256) ?? defaultConcurrency(),
    rate: positiveNumber(args.rate, '--rate') ?? 0,
    fresh: args.fresh,
    allowEmpty: args['allow-empty'],
    ...image,
    ...(attach ? { attach } : {}),
    ...(reuse ? { reuse } : {}),
  };
}

/** Parses `oci-scan audit merge DIR…`; undefined after --help. */
export async function parseMergeArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<MergeConfig | undefined> {
  let usageError: string | undefined;
  const args = await strictParser(
    yargs([...argv])
      .scriptName('oci-scan audit merge')
      .help(false)
      .version(false)
      .command('$0 [dirs..]', false)
      .positional('dirs', { type: 'string', array: true })
      .option('format', { type: 'string', requiresArg: true })
      .option('output', { alias: 'o', type: 'string', requiresArg: true })
      .option('reports-dir', { type: 'string', requiresArg: true })
      .option('fail-on', { type: 'string', requiresArg: true })
      .option('exit-code', { type: 'string', requiresArg: true }),
    (message) => (usageError = message),
    argv,
  ).parseAsync();
  if (usageError) throw new OciScanError('USAGE', `${usageError} (see oci-scan audit merge --help)`);
  if (args.help) {
    await emit(process.stdout, AUDIT_MERGE_HELP);
    return undefined;
  }
  onlyOnce(args, ['output', 'reports-dir', 'fail-on', 'exit-code'], 'oci-scan audit merge --help');
  const dirs = (args.dirs ?? []).map(String);
  if (dirs.length === 0)
    throw new OciScanError('USAGE', 'oci-scan audit merge needs the reports directories of the shards (see oci-scan audit merge --help)');
  const { threshold } = await policyAndThreshold(undefined, args['fail-on'], args['exit-code']);
  return {
    dirs,
    reportsDir: args['reports-dir'] ?? (env['COMPLIANCE_REPORTS_DIR'] || 'reports'),
    outputs: auditFormats(repeated(args.format), args.output),
    codes: severityCodes(env),
    ...(threshold ? { threshold } : {}),
  };
}

/** The exit code of an audit: 20 when its listing failed or a shard is missing, else the highest severity's (with the threshold). */
function auditExitCode(summary: AuditSummary, codes: Readonly<Record<Severity, number>>, threshold: FailThreshold | undefined): number {
  if (summary.listingError || (summary.missingShards?.length ?? 0) > 0) return exitCodeFor('REGISTRY_ERROR');
  return runExitCode([], summaryHighest(summary), codes, threshold);
}

/** Writes the summary and the documents into place, prints stdout's document; the summary alone when `partial`. */
async function writeOutputs(
  dir: string,
  summary: AuditSummary,
  outcomes: readonly ImageOutcome[],
  outputs: AuditConfig['outputs'],
  context: RunContext,
  partial: boolean,
): Promise<void> {
  assertValidSummary(summary);
  const batch = new ReportBatch(dir);
  context.onExit(() => batch.discard());
  // Not stopped by the run's signal: a stopped audit still leaves its (incomplete) summary.
  await batch.writeFile(join(dir, SUMMARY_FILE), documentText(summary));
  const files = partial ? [] : outputs.filter((o) => o.dest !== '-');
  for (const f of files)
    await batch.writeFile(
      f.dest,
      await documentOf(
        f.format,
        outcomes,
        () => [auditTable(summary)],
        () => auditHtml(summary),
      ),
    );
  for (const path of batch.commit()) context.logger.info({ path }, 'report written');
  context.committed();
  const onStdout = outputs.find((o) => o.dest === '-');
  if (onStdout && !(partial && onStdout.format !== 'table'))
    await emitAll(
      process.stdout,
      await documentOf(
        onStdout.format,
        outcomes,
        () => [auditTable(summary)],
        () => auditHtml(summary),
      ),
      new AbortController().signal,
    );
}

/** Runs a parsed audit. */
export async function runAuditCommand(config: AuditConfig, context: RunContext): Promise<number> {
  const { logger, signal } = context;
  await checkReportsDir(config.reportsDir);
  for (const f of config.outputs) if (f.dest !== '-') await checkOutputFile(f.dest);
  const session = openSession({ registry: config.registry, logger });
  const attach = config.attach;
  const attachFailures: unknown[] = [];
  let result;
  try {
    result = await runAudit({
      ...(config.reuse
        ? { reuse: { ...config.reuse, policyFingerprint: policyFingerprint(config.policy?.policy), toolVersion: toolInfo().version } }
        : {}),
      ...(attach
        ? {
            afterScan: async (scans) =>
              void attachFailures.push(
                ...(await attachScans(scans, attach, session, {
                  policy: config.policy,
                  logger,
                  signal,
                  env: process.env,
                  prefix: (s) => `${s.image.name.display}: `,
                })),
              ),
          }
        : {}),
      target: config.target,
      filters: config.filters,
      scan: runScanOptions(config, logger, signal, session),
      reportsDir: config.reportsDir,
      concurrency: config.concurrency,
      rate: config.rate,
      fresh: config.fresh,
      // The table and the HTML report read the summary alone.
      keepResults: config.outputs.some((o) => o.format !== 'table' && o.format !== 'html'),
      tool: toolInfo(),
      describe: describeFailure,
      ...(config.quiet
        ? {}
        : {
            onReference: ({ reference, done, total, resumed, error }) => {
              process.stderr.write(
                `oci-scan: [${done}/${total}] ${terminalText(reference, 500)}${resumed ? ' (resumed)' : ''}${error ? `: ${terminalText(error.message, 500)}` : ''}\n`,
              );
            },
          }),
    });
  } finally {
    await session.close();
  }
  const { summary, outcomes, listed } = result;
  await writeOutputs(config.reportsDir, summary, outcomes, config.outputs, context, signal.aborted);
  if (summary.listingError) process.stderr.write(`oci-scan: ${terminalText(summary.listingError.message, 4000)}\n`);
  // A typo in the prefix or a filter that matches nothing must not keep a nightly job green.
  if (!summary.listingError && !signal.aborted && listed === 0 && !config.allowEmpty) {
    throw new OciScanError(
      'NO_IMAGE',
      `the audit of ${terminalText(targetLabel(config.target), 300)} matched no image: check the registry prefix and --include/--exclude/--tags (or pass --allow-empty if an empty audit is fine)`,
    );
  }
  // A verdict that could not be attached (its line was printed) has its own code, after a failed listing's.
  if (!summary.listingError && attachFailures.length > 0) return exitCodeFor('ATTACH_FAILED');
  return auditExitCode(summary, config.codes, config.threshold);
}

/** Runs a parsed merge. */
export async function runMerge(config: MergeConfig, context: RunContext): Promise<number> {
  await checkReportsDir(config.reportsDir);
  for (const f of config.outputs) if (f.dest !== '-') await checkOutputFile(f.dest);
  const read = [];
  const withResults = config.outputs.some((o) => o.format !== 'table' && o.format !== 'html');
  for (const dir of config.dirs) read.push(await readSummaryDir(dir, withResults));
  const summary = mergeSummaries(
    read.map((r) => r.summary),
    toolInfo(),
  );
  const outcomes = read.flatMap((r) => r.outcomes);
  const order = new Map(summary.images.map((image, i) => [image.reference, i]));
  outcomes.sort((a, b) => (order.get(a.input) ?? 0) - (order.get(b.input) ?? 0));
  await writeOutputs(config.reportsDir, summary, outcomes, config.outputs, context, false);
  if (summary.missingShards && summary.missingShards.length > 0) {
    const count = Math.max(...read.map((r) => r.summary.shard?.count ?? 1));
    process.stderr.write(
      `oci-scan: shards ${summary.missingShards.join(', ')} of ${count} are missing: run them (or give their reports directories) and merge again\n`,
    );
  }
  if (summary.listingError) process.stderr.write(`oci-scan: ${terminalText(summary.listingError.message, 4000)}\n`);
  return auditExitCode(summary, config.codes, config.threshold);
}

/** The `audit` command (`audit merge` when its first argument is `merge`). */
export const auditCommand: Command = {
  name: 'audit',
  async parse(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined> {
    if (argv[0] === 'merge') {
      const merge = await parseMergeArgs(argv.slice(1), env);
      return merge && { logLevel: 'warn', timeoutSeconds: 0, run: (context) => runMerge(merge, context) };
    }
    const config = await parseAuditArgs(argv, env);
    return (
      config && {
        logLevel: config.logLevel,
        logFormat: config.logFormat,
        timeoutSeconds: config.timeoutSeconds,
        run: (context) => runAuditCommand(config, context),
      }
    );
  },
};
