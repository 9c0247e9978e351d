/**
 * Check 3: the default user and group must be set and must not be root (SPEC §3, §6). Names
 * are resolved against the final filesystem's /etc/passwd and /etc/group, so a user called
 * `admin` with uid 0 fails; the original compared only the user, so `USER 1000:0` passed.
 */
import type { FinalFs } from '../layer/final-fs.js';
import type { Check } from './types.js';

/** The numeric id field (uid in passwd, gid in group) of `name`, or undefined. */
function idOf(fs: FinalFs, file: '/etc/passwd' | '/etc/group', name: string, field: 2): number | undefined {
  const text = fs.readFile(file);
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const cols = line.split(':');
    if (cols[0] === name && cols[field] !== undefined && /^\d+$/.test(cols[field])) return Number(cols[field]);
  }
  return undefined;
}

/** Why `value` (a user or group) means root, or undefined when it does not. */
function rootReason(fs: FinalFs, file: '/etc/passwd' | '/etc/group', value: string): string | undefined {
  if (value === 'root') return 'root';
  if (/^\d+$/.test(value)) return Number(value) === 0 ? '0' : undefined;
  const id = idOf(fs, file, value, 2);
  return id === 0 ? `${value}, which has ${file === '/etc/passwd' ? 'uid' : 'gid'} 0 in ${file}` : undefined;
}

/** Fails when USER is empty, has no group, or names root as user or group. */
export const defaultUserCheck: Check = {
  id: 'default-user',
  title: 'Default user and group',
  severity: 'Critical',
  mitigation: 'The default USER and GROUP must be explicitly defined in the USER statement and do not contain root or 0. For example, USER app:app',
  watchPaths: ['/etc/passwd', '/etc/group'],
  run({ config, fs }) {
    const spec = (config.config?.User ?? '').trim();
    if (spec === '') return { pass: false, description: 'User not defined' };
    const colon = spec.indexOf(':');
    const user = colon < 0 ? spec : spec.slice(0, colon);
    const group = colon < 0 ? '' : spec.slice(colon + 1);
    const problems: string[] = [];
    if (user === '') problems.push('User not defined');
    const userRoot = user === '' ? undefined : rootReason(fs, '/etc/passwd', user);
    if (userRoot) problems.push(`The default user is root: ${userRoot}`);
    if (group === '') problems.push('Default group not defined');
    const groupRoot = group === '' ? undefined : rootReason(fs, '/etc/group', group);
    if (groupRoot) problems.push(`The default group is root: ${groupRoot}`);
    if (problems.length > 0) return { pass: false, description: `${problems.join('. ')} (USER ${spec})` };
    return { pass: true, description: `The default user and group are ${user}:${group}` };
  },
};
