/** `oci-scan --list-checks` (docs/usage.md "Options"): the checks as a table at 80 columns, or as JSON. */
import { checkDocs } from '../report/check-docs.js';
import { wrapWords } from './help.js';

/** The checks as `--list-checks` prints them: a table (id, severity, title, what it looks at) or a JSON array. */
export function checkListText(kind: 'table' | 'json', width = 80): string {
  const docs = checkDocs();
  if (kind === 'json')
    return `${JSON.stringify(
      docs.map((d) => ({ id: d.id, title: d.title, severity: d.severity, looksAt: d.looksAt })),
      null,
      2,
    )}\n`;
  const idWidth = Math.max(2, ...docs.map((d) => d.id.length));
  const sevWidth = Math.max(8, ...docs.map((d) => d.severity.length));
  const indent = ' '.repeat(idWidth + sevWidth + 4);
  const lines = [`${'ID'.padEnd(idWidth)}  ${'SEVERITY'.padEnd(sevWidth)}  TITLE / LOOKS AT`];
  for (const d of docs) {
    lines.push(`${d.id.padEnd(idWidth)}  ${d.severity.padEnd(sevWidth)}  ${d.title}`);
    lines.push(...wrapWords(d.looksAt, width - indent.length).map((l) => indent + l));
  }
  return `${lines.join('\n')}\n`;
}
