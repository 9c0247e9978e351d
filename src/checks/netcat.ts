/** Check 14: no netcat. */
import { forbiddenProgramCheck, type ForbiddenProgram } from './findings.js';

/** The check's definition: its names are the default data a policy extends (docs/checks.md). */
export const NETCAT: ForbiddenProgram = { id: 'netcat', title: 'Checking for a netcat file', label: 'netcat', names: ['netcat'] };

/** Fails on a program entry named netcat. */
export const netcatCheck = forbiddenProgramCheck(NETCAT);
