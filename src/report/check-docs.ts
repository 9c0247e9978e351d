/**
 * What docs/checks.md says about each check, read from the shipped file (package.json "files"
 * holds docs/): the section of a check (`## 7. …`, or `## 9–15. …` shared by several; an
 * extended check's `### \`healthcheck\`: …` under "Extended checks") gives its help text for
 * SARIF rules and its "Looks at" sentence for `--list-checks`. The doc is
 * the one place this text is written; a check the doc does not describe falls back to its
 * mitigation.
 */
import { readFileSync } from 'node:fs';
import { ALL_CHECKS, EXTENDED_CHECKS } from '../checks/index.js';
import type { Check, Severity } from '../checks/types.js';

/** The package's docs/checks.md (dist/src/report → ../../../docs). */
const CHECKS_DOC = new URL('../../../docs/checks.md', import.meta.url);

/** One check as the documentation describes it. */
export interface CheckDoc {
  /** The check's `Id` (a policy may add checks beyond the documented ones). */
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  /** The first sentence of the section's "Looks at" text, one line. */
  readonly looksAt: string;
  /** The whole section (Markdown), for help texts. */
  readonly help: string;
}

let cached: readonly CheckDoc[] | undefined;

/** Sections of docs/checks.md by check number (1-based, report order). */
function sectionsByNumber(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const section of text.split(/^## /m).slice(1)) {
    const m = /^(\d+)(?:[\u2013-](\d+))?\. /.exec(section);
    if (!m) continue;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    for (let n = first; n <= last; n++) out.set(n, section.trim());
  }
  return out;
}

/** Sections of the extended checks by id: `### \`id\`…` up to the next heading. */
function sectionsById(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const section of text.split(/^#{2,3} /m).slice(1)) {
    const m = /^`([a-z0-9-]+)`/.exec(section);
    if (m?.[1]) out.set(m[1], section.trim());
  }
  return out;
}

/** The "**Looks at**" paragraph of a section, joined into one line. */
function looksAtOf(section: string, check: Check): string {
  const m = /\*\*Looks at\*\*\s+([\s\S]*?)(?:\n\n|\n\*\*|\n- |$)/.exec(section);
  const text = m?.[1] ? m[1].replace(/\s+/g, ' ').trim() : check.mitigation;
  const first = text.split(/(?<=\.)\s+(?=[A-Z"])/)[0] ?? text;
  // A one-line summary: long asides and Markdown code marks go (the help keeps them).
  return first
    .replace(/ \([^()]{40,}\)/g, '')
    .replace(/`/g, '')
    .replace(/[.:]$/, '');
}

/** Every check with its documentation, in report order (the doc numbers the 17 in that order; extended checks by id). */
export function checkDocs(checks: readonly Check[] = ALL_CHECKS): readonly CheckDoc[] {
  if (cached && checks === ALL_CHECKS) return cached;
  let text = '';
  try {
    text = readFileSync(CHECKS_DOC, 'utf8');
  } catch {
    // Without the doc (a trimmed install) every check still has its mitigation.
  }
  const sections = sectionsByNumber(text);
  const byId = sectionsById(text);
  const docs = checks.map((check) => {
    const number = ALL_CHECKS.indexOf(check) + 1;
    const section = number > 0 ? sections.get(number) : byId.get(check.id);
    return {
      id: check.id,
      title: check.title,
      severity: check.severity,
      looksAt: section ? looksAtOf(section, check) : check.mitigation,
      help: section ?? `${check.title}\n\n**Fix**: ${check.mitigation}`,
    };
  });
  if (checks === ALL_CHECKS) cached = docs;
  return docs;
}

let extendedCached: readonly CheckDoc[] | undefined;

/** The extended checks (EXTENDED_CHECKS) with their documentation. */
export function extendedCheckDocs(): readonly CheckDoc[] {
  extendedCached ??= checkDocs(EXTENDED_CHECKS);
  return extendedCached;
}
