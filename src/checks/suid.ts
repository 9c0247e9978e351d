/**
 * Check 7: no setuid files in any layer, and no files with capabilities (docs/checks.md): a
 * `security.capability` xattr gives a program privileges at exec as setuid does
 * (`cap_setuid+ep` on an interpreter is root).
 */
import { fileOutcome } from './findings.js';
import type { Check } from './types.js';

/** Fails on any non-directory entry with mode bit 04000 or a `security.capability` xattr. */
export const suidCheck: Check = {
  id: 'suid',
  title: 'Checking for a suid bit file',
  severity: 'Critical',
  mitigation: 'The image must not contain file(s) suid bit in the image',
  matcher: {
    id: 'suid',
    fingerprint: 'mode & 0o4000 or a security.capability xattr, not a directory',
    matches: (e) => e.type !== 'dir' && ((e.mode & 0o4000) !== 0 || e.capability !== undefined),
  },
  run: (input) =>
    fileOutcome(input, 'suid', 'File(s) suid bit not found', {
      describe: (layer, path) => {
        const caps = Object.hasOwn(layer.facts.capabilities, path) ? layer.facts.capabilities[path] : undefined;
        return caps === undefined ? undefined : `${path} has ${caps}`;
      },
    }),
};
