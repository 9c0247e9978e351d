/** Check 13: no nc in any of its packagings (Debian's nc is a symlink via /etc/alternatives). */
import { forbiddenProgramCheck } from './findings.js';

/** Fails on a program entry named nc, ncat, nc.openbsd, nc.traditional. */
export const ncCheck = forbiddenProgramCheck({ id: 'nc', title: 'Checking for a nc file', label: 'nc', names: ['nc', 'ncat', 'nc.openbsd', 'nc.traditional'] });
