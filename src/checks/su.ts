/** Check 10: no su (privilege escalation). */
import { forbiddenProgramCheck, type ForbiddenProgram } from './findings.js';

/** The check's definition: its names are the default data a policy extends (docs/checks.md). */
export const SU: ForbiddenProgram = { id: 'su', title: 'Checking for a su file', label: 'su', names: ['su'] };

/** Fails on a program entry named su. */
export const suCheck = forbiddenProgramCheck(SU);
