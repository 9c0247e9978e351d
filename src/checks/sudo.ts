/** Check 9: no sudo (privilege escalation). */
import { forbiddenProgramCheck, type ForbiddenProgram } from './findings.js';

/** The check's definition: its names are the default data a policy extends (docs/checks.md). */
export const SUDO: ForbiddenProgram = { id: 'sudo', title: 'Checking for a sudo file', label: 'sudo', names: ['sudo', 'sudoedit'] };

/** Fails on a program entry named sudo, sudoedit. */
export const sudoCheck = forbiddenProgramCheck(SUDO);
