/** Check 11: no SSH server (remote access). */
import { forbiddenProgramCheck } from './findings.js';

/** Fails on a program entry named sshd. */
export const sshdCheck = forbiddenProgramCheck({ id: 'sshd', title: 'Checking for a sshd file', label: 'sshd', names: ['sshd'] });
