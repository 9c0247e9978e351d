/** Check 9: no sudo (privilege escalation). */
import { forbiddenProgramCheck } from './findings.js';

/** Fails on a program entry named sudo, sudoedit. */
export const sudoCheck = forbiddenProgramCheck({ id: 'sudo', title: 'Checking for a sudo file', label: 'sudo', names: ['sudo', 'sudoedit'] });
