/**
 * Extended check `duplicate-ids` (docs/checks.md, "Extended checks"): each uid of /etc/passwd and
 * each gid of /etc/group belongs to one name. Two names with one id are one identity to the
 * kernel: files, processes and `su` rights of one are the other's (a second uid 0 is a second root).
 */
import { accountFiles, readAccountFile, type AccountFile } from './account-files.js';
import { incompleteNote, unscannedText } from './findings.js';
import type { Check } from './types.js';

/** `uid 0: root, toor` for every id held by more than one name in `file` (ids as written, fields 3). */
function duplicates(file: AccountFile, idName: 'uid' | 'gid'): string[] {
  if (file.status !== 'ok') return [];
  const byId = new Map<string, string[]>();
  for (const l of file.lines) {
    const id = l.fields[2];
    if (id === undefined || !/^\d+$/.test(id)) continue;
    const key = String(BigInt(id));
    byId.set(key, [...(byId.get(key) ?? []), l.fields[0] ?? '']);
  }
  return [...byId]
    .filter(([, names]) => names.length > 1)
    .map(([id, names]) => `${idName} ${id}${id === '0' && idName === 'uid' ? ' (root)' : ''}: ${names.join(', ')}`);
}

/** Fails naming each shared uid or gid and its names; `Files` lists the files (accept them by path). */
export const duplicateIdsCheck: Check = {
  id: 'duplicate-ids',
  title: 'Duplicate user and group ids',
  severity: 'Medium',
  mitigation: 'Give every user its own uid in /etc/passwd and every group its own gid in /etc/group',
  watchPaths: ['/etc/passwd', '/etc/group'],
  run(input) {
    const sides = [
      { path: '/etc/passwd', idName: 'uid' as const },
      { path: '/etc/group', idName: 'gid' as const },
    ].map((s) => ({ ...s, file: readAccountFile(input, s.path) }));
    const problems: string[] = [];
    const bad: Array<Extract<AccountFile, { status: 'ok' }>> = [];
    for (const { path, idName, file } of sides) {
      if (file.status === 'unreadable') problems.push(`${path} cannot be read with certainty: ${file.reason}`);
      const found = duplicates(file, idName);
      if (found.length === 0 || file.status !== 'ok') continue;
      bad.push(file);
      problems.push(`${path}: ${found.join('; ')}`);
    }
    const unverified = input.notScanned.length > 0 && input.allowUnscannedLayers !== true;
    if (problems.length === 0 && unverified)
      return { pass: false, description: `No duplicate id in the scanned layers, but not verified: ${unscannedText(input)}` };
    if (problems.length === 0) return { pass: true, description: `No duplicate uid or gid${incompleteNote(input)}` };
    const files = accountFiles(input, bad);
    const description = `Duplicate ids: ${problems.join('; ')}${incompleteNote(input)}`;
    return files ? { pass: false, description, files } : { pass: false, description };
  },
};
