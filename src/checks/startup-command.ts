/** Check 6: ENTRYPOINT or CMD must be set (docs/checks.md). */
import { pythonList } from './findings.js';
import type { Check } from './types.js';

function asList(value: string[] | string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Fails when neither Entrypoint nor Cmd is a non-empty list. */
export const startupCommandCheck: Check = {
  id: 'startup-command',
  title: 'Parameters CMD, ENTRYPOINT',
  severity: 'Low',
  mitigation: 'It is good practice to specify default launch parameters by developer. You must define parameters in a CMD or ENTRYPOINT statement',
  run({ config }) {
    const entrypoint = asList(config.config?.Entrypoint);
    const cmd = asList(config.config?.Cmd);
    if (entrypoint.length === 0 && cmd.length === 0) return { pass: false, description: 'The image has no startup parameters: neither ENTRYPOINT nor CMD is set' };
    const parts = [entrypoint.length > 0 ? `ENTRYPOINT ${pythonList(entrypoint)}` : '', cmd.length > 0 ? `CMD ${pythonList(cmd)}` : ''].filter(Boolean);
    return { pass: true, description: `The image has startup parameters set in ${parts.join(' ')}` };
  },
};
