/** Check 14: no netcat. */
import { forbiddenProgramCheck } from './findings.js';

/** Fails on a program entry named netcat. */
export const netcatCheck = forbiddenProgramCheck({ id: 'netcat', title: 'Checking for a netcat file', label: 'netcat', names: ['netcat'] });
