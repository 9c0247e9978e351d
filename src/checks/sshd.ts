/** Check 11: no SSH server (remote access). */
import { forbiddenProgramCheck, type ForbiddenProgram } from './findings.js';

/** The check's definition: its names are the default data a policy extends (docs/checks.md). */
export const SSHD: ForbiddenProgram = { id: 'sshd', title: 'Checking for a sshd file', label: 'sshd', names: ['sshd'] };

/** Fails on a program entry named sshd. */
export const sshdCheck = forbiddenProgramCheck(SSHD);
