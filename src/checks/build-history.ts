/**
 * Extended check `build-history` (docs/checks.md, "Extended checks"): what the RUN steps of the
 * history did that makes builds unrepeatable or unsafe. The command text is never quoted in
 * the description (it may hold credentials: `secrets-env` reports those, redacted).
 */
import { inputHistory, stepPlace } from './history.js';
import type { Check } from './types.js';

/** One rule over a RUN step's shell command. */
interface HistoryRule {
  /** What the description says when the rule matches. */
  readonly problem: string;
  readonly matches: (command: string) => boolean;
}

/** Where a command starts: the line's start or after `;`, `&`, `|`, `(`, a newline, or a shell keyword. */
const AT_COMMAND = String.raw`(?:^|[;&|(\n]|\b(?:then|do|else|exec)\s)\s*`;

/** A package manager's `update` without an install or upgrade in the same RUN step. */
function updateAlone(command: string, update: RegExp, install: RegExp): boolean {
  return update.test(command) && !install.test(command);
}

/** The rules, in the order descriptions list them. */
export const HISTORY_RULES: readonly HistoryRule[] = [
  {
    problem: 'apt-get update without an install in the same RUN (a later install uses a stale, cached index)',
    matches: (c) =>
      updateAlone(
        c,
        /\bapt(?:-get)?\s+(?:-\S+\s+)*update\b/,
        /\bapt(?:-get)?\s+(?:-\S+\s+)*(?:install|upgrade|dist-upgrade|full-upgrade)\b/,
      ),
  },
  {
    problem: 'apk update without an add in the same RUN',
    matches: (c) => updateAlone(c, /\bapk\s+(?:-\S+\s+)*update\b/, /\bapk\s+(?:-\S+\s+)*(?:add|upgrade)\b/),
  },
  {
    problem: 'dist-upgrade (upgrades the base distribution inside the image)',
    matches: (c) => /\bapt(?:-get)?\s+(?:-\S+\s+)*(?:dist-upgrade|full-upgrade)\b/.test(c),
  },
  { problem: 'sudo used in a build step', matches: (c) => new RegExp(`${AT_COMMAND}sudo\\b`).test(c) },
  {
    problem: 'a remote script piped to a shell (curl … | sh): unverified code run at build time',
    matches: (c) =>
      /\b(?:curl|wget)\b[^|;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:\S*\/)?(?:env\s+)?(?:sh|bash|ash|dash|zsh|ksh|python[0-9.]*|perl|ruby|node)\b/.test(
        c,
      ) || /\b(?:sh|bash|ash|dash|zsh|ksh)\s+(?:-c\s+)?["']?(?:\$\(|`|<\()\s*(?:curl|wget)\b/.test(c),
  },
];

/** Fails on each RUN step of the history that matches a rule, naming the entry and the rule, never the command. */
export const buildHistoryCheck: Check = {
  id: 'build-history',
  title: 'Build steps in the history',
  severity: 'Medium',
  mitigation:
    'Run update and install in one RUN (apt-get update && apt-get install -y …), do not dist-upgrade or use sudo in builds, and download scripts to a file, verify their checksum, then run them',
  run(input) {
    const steps = inputHistory(input).filter((s) => s.instruction === 'RUN');
    const found = steps.flatMap((s) => HISTORY_RULES.filter((r) => r.matches(s.args)).map((r) => `${stepPlace(s)}: ${r.problem}`));
    if (found.length > 0) return { pass: false, description: found.join('; ') };
    return { pass: true, description: steps.length === 0 ? 'No RUN step in the history' : `No problem in ${steps.length} RUN step(s)` };
  },
};
