/** Check 12: no SSH client (remote access). */
import { forbiddenProgramCheck } from './findings.js';

/** Fails on a program entry named ssh. */
export const sshCheck = forbiddenProgramCheck({ id: 'ssh', title: 'Checking for a ssh client file', label: 'ssh client', names: ['ssh'] });
