/** Ports that must not be exposed (docs/checks.md, check 2): remote shells and unauthenticated control planes. */
export const CRITICAL_PORTS: ReadonlyArray<{ readonly port: number; readonly protocol: 'tcp' | 'udp'; readonly service: string }> = [
  { port: 22, protocol: 'tcp', service: 'ssh' },
  { port: 23, protocol: 'tcp', service: 'telnet' },
  { port: 161, protocol: 'udp', service: 'snmp' },
  { port: 2375, protocol: 'tcp', service: 'docker' },
  { port: 2376, protocol: 'tcp', service: 'docker (TLS)' },
  { port: 3389, protocol: 'tcp', service: 'rdp' },
];
