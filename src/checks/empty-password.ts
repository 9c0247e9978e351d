/**
 * Extended check `empty-password` (docs/checks.md, "Extended checks"): no account may log in
 * without a password. An empty password field in /etc/shadow, or in /etc/passwd (where it
 * stands for the password itself), lets `su` and `login` in with none (pam_unix's `nullok`,
 * Debian's default). `!`, `*`, `x` and any locked or hashed value are not empty.
 */
import { accountFiles, readAccountFile, type AccountFile } from './account-files.js';
import { incompleteNote, unscannedText } from './findings.js';
import type { Check } from './types.js';

/** The accounts of `file` whose second field is empty. */
function emptyAccounts(file: AccountFile): string[] {
  if (file.status !== 'ok') return [];
  return file.lines.filter((l) => l.fields.length >= 2 && l.fields[1] === '').map((l) => l.fields[0] || `(no name, line ${l.line})`);
}

/** Fails naming every account with an empty password field, and the file; `Files` lists the files (accept them by path). */
export const emptyPasswordCheck: Check = {
  id: 'empty-password',
  title: 'Accounts with an empty password',
  severity: 'Critical',
  mitigation: 'Lock every account that needs no password (passwd -l NAME, or * / ! in the password field of /etc/shadow)',
  watchPaths: ['/etc/shadow', '/etc/passwd'],
  run(input) {
    const files = ['/etc/shadow', '/etc/passwd'].map((path) => ({ path, file: readAccountFile(input, path) }));
    const problems: string[] = [];
    const bad: Array<Extract<AccountFile, { status: 'ok' }>> = [];
    for (const { path, file } of files) {
      if (file.status === 'unreadable') problems.push(`${path} cannot be read with certainty: ${file.reason}`);
      const names = emptyAccounts(file);
      if (names.length === 0 || file.status !== 'ok') continue;
      bad.push(file);
      problems.push(
        `empty password field in ${path}${file.path !== path ? ` (${file.path})` : ''} for ${names.join(', ')}${file.truncated ? ' (in the part of the file the scan kept)' : ''}`,
      );
    }
    const unverified = input.notScanned.length > 0 && input.allowUnscannedLayers !== true;
    if (problems.length === 0 && unverified)
      return { pass: false, description: `No empty password in the scanned layers, but not verified: ${unscannedText(input)}` };
    if (problems.length === 0) {
      const present = files.filter((f) => f.file.status === 'ok').map((f) => f.path);
      return {
        pass: true,
        description: `${present.length === 0 ? 'No /etc/shadow or /etc/passwd' : `No empty password field in ${present.join(' and ')}`}${incompleteNote(input)}`,
      };
    }
    const found = accountFiles(input, bad);
    const description = `Login without a password: ${problems.join('; ')}${incompleteNote(input)}`;
    return found ? { pass: false, description, files: found } : { pass: false, description };
  },
};
