/** Check 7: no setuid files in any layer (docs/checks.md). */
import { fileOutcome } from './findings.js';
import type { Check } from './types.js';

/** Fails on any non-directory entry with mode bit 04000. */
export const suidCheck: Check = {
  id: 'suid',
  title: 'Checking for a suid bit file',
  severity: 'Critical',
  mitigation: 'The image must not contain file(s) suid bit in the image',
  matcher: { id: 'suid', fingerprint: 'mode & 0o4000, not a directory', matches: (e) => e.type !== 'dir' && (e.mode & 0o4000) !== 0 },
  run: (input) => fileOutcome(input, 'suid', 'File(s) suid bit not found'),
};
