/** Check 13: no nc in any of its packagings (Debian's nc is a symlink via /etc/alternatives). */
import { forbiddenProgramCheck, type ForbiddenProgram } from './findings.js';

/** The check's definition: its names are the default data a policy extends (docs/checks.md). */
export const NC: ForbiddenProgram = {
  id: 'nc',
  title: 'Checking for a nc file',
  label: 'nc',
  names: ['nc', 'ncat', 'nc.openbsd', 'nc.traditional'],
};

/** Fails on a program entry named nc, ncat, nc.openbsd, nc.traditional. */
export const ncCheck = forbiddenProgramCheck(NC);
