/**
 * Check 6: ENTRYPOINT or CMD must set a command the runtime can start (docs/checks.md). The
 * command is read as Docker (daemon mergeAndVerifyConfig) and podman (specgen makeCommand)
 * build it: an Entrypoint of exactly `[""]` is no entrypoint, the argv is Entrypoint ++ Cmd,
 * and an empty argv, or one whose first element is the empty string, is no command.
 */
import { pythonList } from './findings.js';
import type { Check } from './types.js';

function asList(value: string[] | string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The argv the runtime starts: Entrypoint (unless exactly `[""]`) followed by Cmd. */
export function effectiveArgv(entrypoint: readonly string[], cmd: readonly string[]): string[] {
  const reset = entrypoint.length === 1 && entrypoint[0] === '';
  return [...(reset ? [] : entrypoint), ...cmd];
}

/** Fails when Entrypoint and Cmd give no command, or one whose program is the empty string. */
export const startupCommandCheck: Check = {
  id: 'startup-command',
  title: 'Parameters CMD, ENTRYPOINT',
  severity: 'Low',
  mitigation:
    'It is good practice to specify default launch parameters by developer. You must define parameters in a CMD or ENTRYPOINT statement',
  run({ config }) {
    const entrypoint = asList(config.config?.Entrypoint);
    const cmd = asList(config.config?.Cmd);
    if (entrypoint.length === 0 && cmd.length === 0)
      return { pass: false, description: 'The image has no startup parameters: neither ENTRYPOINT nor CMD is set' };
    const parts = [entrypoint.length > 0 ? `ENTRYPOINT ${pythonList(entrypoint)}` : '', cmd.length > 0 ? `CMD ${pythonList(cmd)}` : '']
      .filter(Boolean)
      .join(' ');
    const argv = effectiveArgv(entrypoint, cmd);
    if (argv.length === 0)
      return {
        pass: false,
        description: `The image has no startup command: ${parts} gives none (an ENTRYPOINT of [''] is no entrypoint for Docker and podman)`,
      };
    if (argv[0] === '')
      return {
        pass: false,
        description: `The image has no startup command: ${parts} starts the empty program name, which the runtime cannot run`,
      };
    return { pass: true, description: `The image has startup parameters set in ${parts}` };
  },
};
