/** Check 15: no socat (arbitrary relays). */
import { forbiddenProgramCheck } from './findings.js';

/** Fails on a program entry named socat. */
export const socatCheck = forbiddenProgramCheck({ id: 'socat', title: 'Checking for a socat file', label: 'socat', names: ['socat'] });
