/**
 * Check 17: which OS the image is based on (never fails). Reads /etc/os-release, which is
 * often a symlink to /usr/lib/os-release (the os-release(5) fallback when it is missing), then
 * Alpine's /etc/alpine-release; distroless and scratch images are named as such.
 */
import { formatPlatform } from '../image/platform.js';
import { incompleteNote, pythonList } from './findings.js';
import type { Check } from './types.js';

/** Parses os-release(5) `KEY=value` lines with shell-style quotes. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m || !m[1]) continue;
    let value = m[2] ?? '';
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\([$"\\`])/g, '$1');
    }
    out[m[1]] = value;
  }
  return out;
}

/** Describes the OS from the final filesystem. */
export const osTypeCheck: Check = {
  id: 'os-type',
  title: 'Checking for OS type',
  severity: 'Informational',
  mitigation: 'A good practice would be to use Distroless images to minimize the components in the image',
  watchPaths: ['/etc/os-release', '/usr/lib/os-release', '/etc/alpine-release'],
  run(input) {
    const { name, fs, platform } = input;
    const subject = platform ? `${name.display} (${formatPlatform(platform)})` : name.display;
    const note = incompleteNote(input);
    const etc = fs.read('/etc/os-release');
    const release = etc.status === 'missing' ? fs.read('/usr/lib/os-release') : etc;
    if (release.status === 'ok') {
      const fields = parseOsRelease(release.content);
      const facts = [fields['NAME'] ?? fields['ID'] ?? 'unknown', fields['VERSION_ID']].filter(
        (v): v is string => v !== undefined && v !== '',
      );
      const distroless = /distroless/i.test(fields['PRETTY_NAME'] ?? '') ? ' (distroless)' : '';
      return { pass: true, description: `The image ${subject} is based on the OS ${pythonList(facts)}${distroless}${note}` };
    }
    const alpine = fs.read('/etc/alpine-release');
    if (alpine.status === 'ok')
      return {
        pass: true,
        description: `The image ${subject} is based on the OS ${pythonList(['Alpine Linux', alpine.content.trim()])}${note}`,
      };
    if (release.status === 'unreadable')
      return { pass: true, description: `The image ${subject} has OS release information that cannot be read: ${release.reason}${note}` };
    return {
      pass: true,
      description: `The image ${subject} has no OS release information (no /etc/os-release or /usr/lib/os-release): a scratch, static or minimal image${note}`,
    };
  },
};
