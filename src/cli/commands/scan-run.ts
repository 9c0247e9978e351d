/**
 * Running a parsed `oci-scan scan` command line (src/cli/commands/scan.ts parses it): every
 * IMAGE scanned with the run's options, the reports written all at once, the check lines, the
 * verdicts attached, the exit code; or the checks printed (`--list-checks`). Loaded only once
 * the command line is good, so `--help`, `--version` and a usage error never load the scan
 * pipeline (docs/architecture.md "Start-up").
 */
import { dirname } from 'node:path';
import { OciScanError } from '../../errors.js';
import type { Image } from '../../image/types.js';
import { openSession } from '../../registry/session.js';
import { summaryLine, tableText, totalLine } from '../../report/formats/table.js';
import { legacyReportSet } from '../../report/formats/legacy.js';
import { escapeForTerminal, imageHeader, terminalChunks, terminalText } from '../../report/formats/terminal.js';
import { detailsByDigest, layerDetails } from '../../report/layers.js';
import { highestOf, scannedImages, type ScanFailure } from '../../report/model.js';
import { reportFileNames } from '../../report/names.js';
import { documentText, ReportBatch } from '../../report/write.js';
import { imagesToScan, scan, type ImageScan, type ScanOptions } from '../../scan.js';
import { runExitCode } from '../exit-codes.js';
import { detectSource, localSourceHint } from '../detect-source.js';
import { checkOutputFile, checkReportsDir, documentOf, type FormatOutput } from '../documents.js';
import { runScanOptions, type ImageOptionValues } from '../image-options.js';
import type { CheckSet } from '../../checks/index.js';
import type { Policy } from '../../policy/types.js';
import { checkListText } from '../list-checks.js';
import { describeFailure, emit, emitAll, printFailure, setOutputGuard } from '../output.js';
import { progressReporter, type ProgressMode } from '../progress.js';
import { attachAll, type AttachConfig } from '../attest-options.js';
import type { RunContext } from './command.js';

/** Everything a scan run needs, resolved from argv and the environment. */
export interface ScanConfig extends ImageOptionValues {
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
  /** COMPLIANCE_REPORTS_DIR, when set for a run that writes no legacy report (logged at info). */
  readonly unusedReportsDir?: string;
  /** `--attach`: each image's verdict pushed to its registry once the reports are written (docs/attest.md). */
  readonly attach?: AttachConfig;
  /** `--base REF`: the base image whose layers are the inherited ones (docs/reports.md). */
  readonly base?: string;
}

/** `--list-checks`: how to print the checks, and where. */
export interface ListChecks {
  readonly listChecks: 'table' | 'json';
  readonly output: string;
  /** `--checks`, and the run's policy: which checks are on. */
  readonly checkSet?: CheckSet;
  readonly policy?: Policy;
}

/** What became of one IMAGE of the run. */
type Outcome = { readonly input: string; readonly scans: readonly ImageScan[] } | { readonly input: string; readonly failure: ScanFailure };

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
  const reporter = progressReporter(mode, process.stderr.isTTY === true, {
    write: (text) => process.stderr.write(text),
    now: () => performance.now(),
  });
  setOutputGuard(reporter?.beforeOutput);
  if (!reporter) return {};
  // A layer whose facts came from the cache read no byte: it is "cached", not "read".
  const read = new Set<string>();
  return {
    onLayerBytes: ({ image, layer, bytes }) => {
      read.add(`${image.name.display}\n${layer.digest}`);
      reporter.bytes(image.name.display, layer.digest, layer.size, bytes, imageSize(image));
    },
    onLayer: ({ image, layer, done, total }) =>
      reporter.layerDone(image.name.display, layer.digest, done, total, !read.has(`${image.name.display}\n${layer.digest}`)),
  };
}

/** `err` with a hint when IMAGE also names a local file or layout in another form (`app.tar` → `./app.tar`). */
async function withLocalHint(err: unknown, input: string): Promise<unknown> {
  if (!(err instanceof OciScanError)) return err;
  const hint = await localSourceHint(input);
  if (!hint) return err;
  return new OciScanError(err.code, `${err.message} — ${hint}`, {
    cause: err,
    ...(err.setting !== undefined ? { setting: err.setting } : {}),
    ...(err.status !== undefined ? { status: err.status } : {}),
  });
}

/** Runs a parsed scan command line. */
export async function runScan(config: ScanConfig, context: RunContext): Promise<number> {
  const { logger, signal } = context;
  const inputs = imagesToScan(config.images);
  const legacy = config.outputs.some((o) => o.format === 'legacy');
  if (config.unusedReportsDir !== undefined)
    logger.info(
      { dir: config.unusedReportsDir },
      'COMPLIANCE_REPORTS_DIR is not used: this run writes no legacy report (add --format legacy to write them there)',
    );
  const files = config.outputs.filter((o) => o.format !== 'legacy' && o.dest !== '-');
  const onStdout = config.outputs.find((o) => o.format !== 'legacy' && o.dest === '-');
  if (legacy) await checkReportsDir(config.reportsDir);
  for (const f of files) await checkOutputFile(f.dest);

  // One set of options for the whole run: every image shares the facts store and the sessions.
  const session = openSession({ registry: config.registry, logger });
  const options: ScanOptions = {
    ...runScanOptions(config, logger, signal, session),
    ...startProgress(config.progress),
    ...(config.base !== undefined ? { base: config.base } : {}),
  };
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
    if (f.format !== 'legacy')
      await batch.writeFile(f.dest, await documentOf(f.format, outcomes, scanTables(outcomes, config.quiet)), signal);
  }
  const stdoutDocument =
    onStdout && onStdout.format !== 'legacy' ? await documentOf(onStdout.format, outcomes, scanTables(outcomes, config.quiet)) : undefined;
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
        yield* terminalChunks(config.quiet ? s.results.filter((r) => !r.Pass) : s.results, {
          colour: config.colour && !stdoutIsData,
          layers: detailsByDigest(layerDetails(s)),
        });
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
  // A verdict that cannot be attached has its own exit code; an IMAGE that failed still comes first.
  const prefix = (s: { readonly image: Image }): string => (scans.length > 1 ? `${s.image.name.display}: ` : '');
  const attachFailures =
    config.attach && scans.length > 0
      ? await attachAll(scans, config.attach, {
          registry: config.registry,
          policy: config.policy,
          logger,
          signal,
          env: process.env,
          prefix,
        })
      : [];
  return runExitCode([...failures, ...attachFailures], highestOf(scans.map((s) => s.highest)), config.codes, config.threshold);
}

/** Prints the checks (`--list-checks`). */
export async function runListChecks(list: ListChecks, context: RunContext): Promise<number> {
  const text = checkListText(list.listChecks, 80, list);
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
