/**
 * The terminal rendering of a report (docs/reports.md "Check lines"): one line per check in the original's form,
 * `PASS. Severity: Informational. <Title>. <Description>.`, and under a failed file check its
 * findings per layer — at most TERMINAL_PATHS_PER_LAYER of them, then `… and N more` (the
 * report file has the rest). Produced in pieces, so that printing never builds one huge
 * string. Text from the image is escaped so that a hostile name cannot move the cursor,
 * rewrite the screen or forge a line.
 */
import { formatPlatform } from '../../image/platform.js';
import type { Image } from '../../image/types.js';
import { cut, shortStep, type LayerDetail } from '../layers.js';
import type { ReportResult } from '../model.js';

/** Paths printed per layer under a failed check; the report file lists what the recorder kept. */
export const TERMINAL_PATHS_PER_LAYER = 1000;

/**
 * Control characters (C0, DEL, C1), lone surrogates, and the Unicode format characters that
 * reorder or hide text (bidi embeddings/overrides/isolates, line/paragraph separators).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udfff]/gu;

/** One character as a visible escape: `\x1b` up to U+00FF, else `\u202e`. */
export function visibleEscape(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Replaces control and text-reordering characters with visible escapes (`\x1b`, `\u202e`). */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, visibleEscape);
}

/** One line of outside text for the terminal: escaped, and cut to `max` characters (`…`). */
export function terminalText(text: string, max = 1000): string {
  const escaped = escapeForTerminal(text);
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}

const COLOURS = { red: '\u001b[31m', yellow: '\u001b[33m', green: '\u001b[32m', dim: '\u001b[2m', reset: '\u001b[0m' } as const;

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Options of the rendering. */
export interface TerminalOptions {
  readonly colour: boolean;
  /** Paths printed per layer (default TERMINAL_PATHS_PER_LAYER). */
  readonly pathsPerLayer?: number;
  /** Each layer's history and origin (report/layers.ts `detailsByDigest`): shown, short, after its digest. */
  readonly layers?: ReadonlyMap<string, LayerDetail>;
}

/** Characters of a build step on a layer line: the JSON document has it whole. */
export const TERMINAL_STEP_CHARS = 100;

/** ` RUN apk add sudo (introduced)`: a layer's build step, shortened and escaped, and its origin; empty when neither is known. */
export function layerSuffix(detail: LayerDetail | undefined, max = TERMINAL_STEP_CHARS): string {
  if (!detail) return '';
  const step = detail.createdBy !== null ? ` ${escapeForTerminal(cut(shortStep(detail.createdBy), max))}` : '';
  return `${step}${detail.origin !== null ? ` (${detail.origin})` : ''}`;
}

/** The lines of `results`, each ending in a newline, in pieces of at most a few hundred lines. */
export function* terminalChunks(results: readonly ReportResult[], options: TerminalOptions): Generator<string> {
  const paint = (c: keyof typeof COLOURS, s: string): string => (options.colour ? `${COLOURS[c]}${s}${COLOURS.reset}` : s);
  const cap = options.pathsPerLayer ?? TERMINAL_PATHS_PER_LAYER;
  for (const r of results) {
    const verdict = r.Pass ? paint('green', 'PASS') : paint(r.Severity === 'Critical' || r.Severity === 'High' ? 'red' : 'yellow', 'FAIL');
    yield `${verdict}. Severity: ${r.Severity}. ${escapeForTerminal(r.Title)}. ${escapeForTerminal(sentence(r.Description))}\n`;
    const files = r.Files ?? [];
    for (let i = 0; i < files.length; i++) {
      for (const [digest, paths] of Object.entries(files[i] ?? {})) {
        const total = Math.max(paths.length, r.FileCounts?.[i]?.[digest] ?? 0);
        const shown = paths.slice(0, cap);
        let chunk = `    ${paint('dim', `layer ${escapeForTerminal(digest)}${layerSuffix(options.layers?.get(digest))}`)}\n`;
        for (let j = 0; j < shown.length; j++) {
          chunk += `        ${escapeForTerminal(shown[j] ?? '')}\n`;
          if (j % 256 === 255) {
            yield chunk;
            chunk = '';
          }
        }
        if (total > shown.length) chunk += `        … and ${total - shown.length} more\n`;
        yield chunk;
      }
    }
  }
}

/** The header line above an image's check lines when a run scans several images. */
export function imageHeader(image: Image): string {
  const platform = image.platform ? terminalText(formatPlatform(image.platform), 300) : 'unknown platform';
  return `Image ${terminalText(image.name.display, 1000)} (${platform})\n`;
}
