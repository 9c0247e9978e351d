/**
 * Extended check `sensitive-volumes` (docs/checks.md, "Extended checks"): the config's
 * `Volumes` must not name the root, the kernel's pseudo-filesystems or the Docker socket.
 */
import { isUnder, normalisePath } from '../layer/paths.js';
import type { Check } from './types.js';

/** Volumes that may only be the host's (a bind mount of them hands the host over): exact paths. */
export const SENSITIVE_VOLUMES: readonly string[] = ['/', '/var/run/docker.sock', '/run/docker.sock'];

/** Directories a volume must be neither at nor below (the kernel's views of the host). */
export const SENSITIVE_VOLUME_TREES: readonly string[] = ['/proc', '/sys', '/dev'];

/** Whether VOLUME `path` (normalised as the runtime joins it to `/`) is sensitive. */
export function isSensitiveVolume(path: string): boolean {
  const p = normalisePath(path);
  return SENSITIVE_VOLUMES.includes(p) || SENSITIVE_VOLUME_TREES.some((dir) => isUnder(p, dir));
}

/** Fails on each sensitive volume, named as the config writes it and normalised. */
export const sensitiveVolumesCheck: Check = {
  id: 'sensitive-volumes',
  title: 'Sensitive directories in VOLUME',
  severity: 'Medium',
  mitigation: 'Remove VOLUME instructions for /, /proc, /sys, /dev and the Docker socket: an image must not expect the host to mount them',
  run({ config }) {
    const volumes = Object.keys(config.config?.Volumes ?? {});
    const found = volumes.filter(isSensitiveVolume).map((v) => (normalisePath(v) === v ? v : `${JSON.stringify(v)} (${normalisePath(v)})`));
    if (found.length > 0) return { pass: false, description: `Sensitive VOLUME: ${found.join(', ')}` };
    return { pass: true, description: volumes.length === 0 ? 'No VOLUME defined' : `No sensitive VOLUME among ${volumes.length}` };
  },
};
