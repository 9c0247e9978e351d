/**
 * Check 2: no remote-access or control-plane ports in EXPOSE (docs/checks.md). Each ExposedPorts key
 * is read as the runtime reads it (docker/go-connections nat: SplitProtoPort, ParsePortRange,
 * ParsePortSpec): the number is parsed as an integer (`0022/tcp` is 22), a missing protocol
 * is tcp, the protocol is lowercased as ParsePortSpec does for EXPOSE (`22/TCP` is 22/tcp),
 * and a range `20-25/tcp` exposes every port in it. A key the runtime rejects exposes nothing.
 */
import { CRITICAL_PORTS } from './data/ports.js';
import type { Check } from './types.js';

/** An ExposedPorts key as the runtime reads it. */
export interface ExposedRange {
  readonly start: number;
  readonly end: number;
  readonly protocol: string;
}

/** Go's strconv.ParseUint(s, 10, 16): digits only (leading zeros allowed), at most 65535. */
function parsePortNumber(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const digits = s.replace(/^0+/, '');
  if (digits.length > 5) return undefined;
  const n = Number(digits === '' ? '0' : digits);
  return n <= 65535 ? n : undefined;
}

/** Parses one ExposedPorts key; undefined when the runtime would reject it. */
export function parseExposedPort(key: string): ExposedRange | undefined {
  const slash = key.indexOf('/');
  const port = slash < 0 ? key : key.slice(0, slash);
  const protocol = (slash < 0 || slash === key.length - 1 ? 'tcp' : key.slice(slash + 1)).toLowerCase();
  if (port === '' || !['tcp', 'udp', 'sctp'].includes(protocol)) return undefined;
  // ParsePortRange: a range is split on '-' and only its first two parts are read.
  const [first = '', second] = port.split('-');
  const start = parsePortNumber(first);
  const end = second === undefined ? start : parsePortNumber(second);
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end, protocol };
}

/** A port that must not be exposed. */
export interface CriticalPort {
  readonly port: number;
  readonly protocol: string;
  readonly service: string;
}

/** The exposed-ports check for the default critical ports plus `extra` (a policy's `data.criticalPorts`). */
export function createExposedPortsCheck(extra: readonly CriticalPort[] = []): Check {
  const critical = [...new Map([...CRITICAL_PORTS, ...extra].map((p) => [`${p.port}/${p.protocol}`, p])).values()].sort(
    (a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1),
  );
  return {
    id: 'exposed-ports',
    title: 'Critical ports in the instructions EXPOSE',
    severity: 'High',
    mitigation: 'Make sure your containers only use protocols for remote connectivity when necessary.',
    run({ config }) {
      const keys = Object.keys(config.config?.ExposedPorts ?? {});
      const found: string[] = [];
      for (const c of critical) {
        const name = `${c.port}/${c.protocol}`;
        const via = keys.filter((k) => {
          const r = parseExposedPort(k);
          return r !== undefined && r.protocol === c.protocol && r.start <= c.port && c.port <= r.end;
        });
        if (via.length === 0) continue;
        // Name the keys as written when they are not the plain form (`0022/TCP`, `20-25/tcp`).
        const odd = via.filter((k) => k !== name && !(c.protocol === 'tcp' && k === String(c.port)));
        found.push(`${name} (${c.service}${odd.length > 0 ? `, exposed as ${odd.join(', ')}` : ''})`);
      }
      if (found.length === 0) return { pass: true, description: 'The image does not have critical ports in the EXPOSE statement' };
      return { pass: false, description: `The image has critical ports in the EXPOSE statement: ${found.join(', ')}` };
    },
  };
}

/** Fails when config ExposedPorts exposes a critical port, alone or in a range. */
export const exposedPortsCheck: Check = createExposedPortsCheck();
