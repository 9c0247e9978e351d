/**
 * The documents a command writes (docs/reports.md): the formats of
 * `--format` and `-o`, where each goes, the checks that fail fast before any download when a
 * destination cannot be written, and the text of each document format (each format's module
 * loaded only by a run that writes it: docs/architecture.md "Start-up").
 */
import { access, constants, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OciScanError } from '../errors.js';
import type { ImageOutcome } from '../report/model.js';
import { documentText, ensureReportsDir } from '../report/write.js';

/** Report formats of `--format`. */
export const FORMATS = ['legacy', 'json', 'sarif', 'junit', 'table', 'html'] as const;
/** A report format. */
export type Format = (typeof FORMATS)[number];

/** One `--format NAME[=DEST]`: where a format goes (`-`: stdout; legacy: the reports directory). */
export interface FormatOutput {
  readonly format: Format;
  readonly dest: string;
}

/** The format `-o FILE` writes when no --format is given, from the file's extension. */
function formatOfFile(file: string): Exclude<Format, 'legacy'> {
  const ext = /\.([a-z]+)$/i.exec(file)?.[1]?.toLowerCase();
  const format =
    ext === 'sarif'
      ? 'sarif'
      : ext === 'json'
        ? 'json'
        : ext === 'xml'
          ? 'junit'
          : ext === 'txt'
            ? 'table'
            : ext === 'html' || ext === 'htm'
              ? 'html'
              : undefined;
  if (!format)
    throw new OciScanError(
      'USAGE',
      `-o ${JSON.stringify(file)}: its extension names no format (.sarif, .json, .xml for JUnit, .txt for the table, .html): add --format json|sarif|junit|table|html`,
    );
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
    if (!format)
      throw new OciScanError(
        'USAGE',
        `--format ${JSON.stringify(value)}: the format is one of ${FORMATS.join(', ')}, optionally with =FILE (e.g. --format sarif=out.sarif)`,
      );
    if (eq >= 0 && value.slice(eq + 1) === '')
      throw new OciScanError('USAGE', `--format ${value} needs a file name after "=", or "-" for stdout`);
    if (format === 'legacy' && eq >= 0)
      throw new OciScanError(
        'USAGE',
        '--format legacy writes one report file per image in --reports-dir: give the directory with --reports-dir, not --format legacy=…',
      );
    return { format, dest: eq >= 0 ? value.slice(eq + 1) : format === 'legacy' ? '' : '-' };
  });
  if (output !== undefined) {
    const documents = outputs.filter((o) => o.format !== 'legacy');
    if (documents.length !== 1 || outputs.length !== 1) {
      throw new OciScanError(
        'USAGE',
        documents.length === 0
          ? '-o/--output writes the document of --format json|sarif|junit|table|html; the legacy reports go to --reports-dir (see oci-scan --help)'
          : '-o/--output takes the output of a single --format; with several, give each its file: --format sarif=out.sarif --format junit=junit.xml',
      );
    }
    return [{ format: documents[0]?.format ?? 'json', dest: output }];
  }
  const onStdout = outputs.filter((o) => o.dest === '-');
  if (onStdout.length > 1)
    throw new OciScanError(
      'USAGE',
      `at most one format can go to stdout, got ${onStdout.map((o) => o.format).join(' and ')}: give the others a file (--format ${onStdout[1]?.format ?? 'junit'}=FILE)`,
    );
  if (new Set(outputs.map((o) => o.format)).size !== outputs.length) throw new OciScanError('USAGE', 'each --format may be given once');
  return outputs;
}

/** Fails fast (exit 23) when the reports directory cannot be created or written, before any download. */
export async function checkReportsDir(dir: string): Promise<void> {
  await ensureReportsDir(dir);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new OciScanError(
      'REPORT_WRITE',
      `the reports directory ${dir} is not writable: set COMPLIANCE_REPORTS_DIR or --reports-dir to a writable directory`,
    );
  }
}

/** Fails fast (exit 23) when `-o FILE` cannot be written: its directory missing or read-only, or FILE a directory. */
export async function checkOutputFile(file: string): Promise<void> {
  const dir = dirname(file);
  const isDir = (path: string): Promise<boolean> =>
    stat(path).then(
      (st) => st.isDirectory(),
      () => false,
    );
  if (
    !(await isDir(dir)) ||
    !(await access(dir, constants.W_OK).then(
      () => true,
      () => false,
    ))
  ) {
    throw new OciScanError(
      'REPORT_WRITE',
      `cannot write the document ${file}: its directory ${dir} does not exist or is not writable; choose another -o FILE`,
    );
  }
  if (await isDir(file))
    throw new OciScanError('REPORT_WRITE', `cannot write the document ${file}: it is a directory; give -o a file name`);
}

/** The text of a document format for the run's `outcomes`; `table` gives the table's text (a scan's tables per image, an audit's summary table), `page` the HTML report's (default: the scan's). */
export async function documentOf(
  format: Exclude<Format, 'legacy'>,
  outcomes: readonly ImageOutcome[],
  table: () => Iterable<string>,
  page?: () => Iterable<string>,
): Promise<Iterable<string>> {
  switch (format) {
    case 'json':
      return documentText((await import('../report/formats/json.js')).scanDocument(outcomes));
    case 'sarif':
      return documentText((await import('../report/formats/sarif.js')).sarifLog(outcomes));
    case 'junit':
      return [(await import('../report/formats/junit.js')).junitXml(outcomes)];
    case 'table':
      return table();
    case 'html':
      return page ? page() : (await import('../report/formats/html.js')).scanHtml(outcomes);
  }
}
