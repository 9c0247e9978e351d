/** Check 2: no remote-access or control-plane ports in EXPOSE (SPEC §3). */
import { CRITICAL_PORTS } from './data/ports.js';
import type { Check } from './types.js';

/** `22` → `22/tcp` (Docker's default protocol); `161/UDP` → `161/udp`. */
function normalisePort(key: string): string {
  const [port = '', protocol = 'tcp'] = key.trim().toLowerCase().split('/');
  return `${port}/${protocol}`;
}

const critical = new Map(CRITICAL_PORTS.map((p) => [`${p.port}/${p.protocol}`, p.service]));

/** Fails when config ExposedPorts lists a critical port. */
export const exposedPortsCheck: Check = {
  id: 'exposed-ports',
  title: 'Critical ports in the instructions EXPOSE',
  severity: 'High',
  mitigation: 'Make sure your containers only use protocols for remote connectivity when necessary.',
  run({ config }) {
    const exposed = Object.keys(config.config?.ExposedPorts ?? {}).map(normalisePort);
    const found = [...new Set(exposed.filter((p) => critical.has(p)))].sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    if (found.length === 0) return { pass: true, description: 'The image does not have critical ports in the EXPOSE statement' };
    const list = found.map((p) => `${p} (${critical.get(p) ?? ''})`).join(', ');
    return { pass: false, description: `The image has critical ports in the EXPOSE statement: ${list}` };
  },
};
