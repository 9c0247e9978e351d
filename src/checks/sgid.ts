/**
 * Check 8: no setgid files in any layer (docs/checks.md). A setgid directory only makes new files
 * inherit its group, so directories are not findings (the original tool reported them; docs/checks.md, check 8).
 */
import { fileOutcome } from './findings.js';
import type { Check } from './types.js';

/** Fails on any non-directory entry with mode bit 02000. */
export const sgidCheck: Check = {
  id: 'sgid',
  title: 'Checking for a sgid bit file',
  severity: 'Critical',
  mitigation: 'The image must not contain file(s) sgid bit in the image',
  matcher: { id: 'sgid', fingerprint: 'mode & 0o2000, not a directory', matches: (e) => e.type !== 'dir' && (e.mode & 0o2000) !== 0 },
  run: (input) => fileOutcome(input, 'sgid', 'File(s) sgid bit not found'),
};
