/** Check 10: no su (privilege escalation). */
import { forbiddenProgramCheck } from './findings.js';

/** Fails on a program entry named su. */
export const suCheck = forbiddenProgramCheck({ id: 'su', title: 'Checking for a su file', label: 'su', names: ['su'] });
