/** Check 12: no SSH client (remote access). */
import { forbiddenProgramCheck, type ForbiddenProgram } from './findings.js';

/** The check's definition: its names are the default data a policy extends (docs/checks.md). */
export const SSH: ForbiddenProgram = { id: 'ssh', title: 'Checking for a ssh client file', label: 'ssh client', names: ['ssh'] };

/** Fails on a program entry named ssh. */
export const sshCheck = forbiddenProgramCheck(SSH);
