/** Check 15: no socat (arbitrary relays). */
import { forbiddenProgramCheck, type ForbiddenProgram } from './findings.js';

/** The check's definition: its names are the default data a policy extends (docs/checks.md). */
export const SOCAT: ForbiddenProgram = { id: 'socat', title: 'Checking for a socat file', label: 'socat', names: ['socat'] };

/** Fails on a program entry named socat. */
export const socatCheck = forbiddenProgramCheck(SOCAT);
