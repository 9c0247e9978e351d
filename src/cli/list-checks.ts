/**
 * `oci-scan --list-checks` (docs/usage.md "Options"): the checks as a table at 80 columns, or as
 * JSON — the 17, then the extended checks (docs/checks.md, "Extended checks"), each saying
 * whether it runs with the run's `--checks` and policy.
 */
import { extendedIdsOf, type CheckSet } from '../checks/index.js';
import type { CheckId } from '../checks/types.js';
import type { Policy } from '../policy/types.js';
import { checkDocs, extendedCheckDocs, type CheckDoc } from '../report/check-docs.js';
import { wrapWords } from './help.js';

/** Whether a check runs: for every image, for the images some rules name, or not at all; `disabled`: it runs and passes (a policy rule). */
export type CheckState = 'on' | 'some images' | 'off' | 'disabled';

/** What decides which checks run: `--checks` and the policy. */
export interface CheckSelection {
  readonly checkSet?: CheckSet;
  readonly policy?: Policy;
}

/** The state of check `id` (`extended`: one of the extended checks) under `selection`. */
export function checkState(id: CheckId, extended: boolean, selection: CheckSelection): CheckState {
  const rule = selection.policy?.checks?.[id];
  const inSet = !extended || extendedIdsOf(selection.checkSet ?? selection.policy?.profile).includes(id);
  let runs: CheckState = inSet ? 'on' : 'off';
  if (extended && rule?.enabled !== undefined) {
    if (!rule.images) runs = rule.enabled ? 'on' : 'off';
    else if (rule.enabled !== inSet) runs = 'some images';
  }
  return runs === 'on' && rule?.disabled === true && !rule.images ? 'disabled' : runs;
}

/** One listed check. */
interface Listed extends CheckDoc {
  readonly set: 'default' | 'extended';
  readonly state: CheckState;
}

function rows(docs: readonly CheckDoc[], set: Listed['set'], selection: CheckSelection): Listed[] {
  return docs.map((d) => ({ ...d, set, state: checkState(d.id as CheckId, set === 'extended', selection) }));
}

/** One section of the table: a heading (none for the 17), then per check its id, severity, title (and state when it differs from the section's) and what it looks at. */
function section(heading: string | undefined, list: readonly Listed[], usual: CheckState, width: number): string[] {
  const idWidth = Math.max(2, ...list.map((d) => d.id.length));
  const sevWidth = Math.max(8, ...list.map((d) => d.severity.length));
  const indent = ' '.repeat(idWidth + sevWidth + 4);
  const lines =
    heading === undefined
      ? [`${'ID'.padEnd(idWidth)}  ${'SEVERITY'.padEnd(sevWidth)}  TITLE / LOOKS AT`]
      : ['', ...wrapWords(heading, width)];
  for (const d of list) {
    lines.push(`${d.id.padEnd(idWidth)}  ${d.severity.padEnd(sevWidth)}  ${d.title}${d.state === usual ? '' : ` [${d.state}]`}`);
    lines.push(...wrapWords(d.looksAt, width - indent.length).map((l) => indent + l));
  }
  return lines;
}

/** The checks as `--list-checks` prints them: a table (id, severity, title, what it looks at) or a JSON array (with `set` and `state`). */
export function checkListText(kind: 'table' | 'json', width = 80, selection: CheckSelection = {}): string {
  const base = rows(checkDocs(), 'default', selection);
  const extended = rows(extendedCheckDocs(), 'extended', selection);
  if (kind === 'json') {
    const json = [...base, ...extended].map((d) => ({
      id: d.id,
      title: d.title,
      severity: d.severity,
      looksAt: d.looksAt,
      set: d.set,
      state: d.state,
    }));
    return `${JSON.stringify(json, null, 2)}\n`;
  }
  const on = extended.filter((d) => d.state === 'on').length;
  const usual: CheckState = on === extended.length ? 'on' : 'off';
  const heading = `Extended checks: ${usual === 'on' ? 'on' : "off unless enabled (--checks extended, a policy's profile: extended or checks.ID.enabled: true)"}; they follow the 17 in the report:`;
  return `${[...section(undefined, base, 'on', width), ...section(heading, extended, usual, width)].join('\n')}\n`;
}
