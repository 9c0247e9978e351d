/**
 * The terminal rendering of a report (SPEC §2): one line per check in the original's form,
 * `PASS. Severity: Informational. <Title>. <Description>.`, and under a failed file check its
 * findings per layer. Names from the image are escaped so that a hostile file name cannot
 * move the cursor or rewrite the screen.
 */
import type { ReportResult } from './model.js';

/** Replaces control characters (C0, DEL, C1) and lone surrogates with visible escapes. */
export function escapeForTerminal(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]|[\ud800-\udfff]/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const COLOURS = { red: '\u001b[31m', yellow: '\u001b[33m', green: '\u001b[32m', dim: '\u001b[2m', reset: '\u001b[0m' } as const;

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Renders results as lines (no trailing newline). */
export function renderTerminal(results: readonly ReportResult[], colour: boolean): string {
  const paint = (c: keyof typeof COLOURS, s: string): string => (colour ? `${COLOURS[c]}${s}${COLOURS.reset}` : s);
  const lines: string[] = [];
  for (const r of results) {
    const verdict = r.Pass ? paint('green', 'PASS') : paint(r.Severity === 'Critical' || r.Severity === 'High' ? 'red' : 'yellow', 'FAIL');
    lines.push(`${verdict}. Severity: ${r.Severity}. ${r.Title}. ${escapeForTerminal(sentence(r.Description))}`);
    for (const layer of r.Files ?? []) {
      for (const [digest, paths] of Object.entries(layer)) {
        lines.push(`    ${paint('dim', `layer ${digest}`)}`);
        for (const p of paths) lines.push(`        ${escapeForTerminal(p)}`);
      }
    }
  }
  return lines.join('\n');
}
