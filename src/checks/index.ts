/**
 * The checks, in the order of docs/checks.md (the report keeps this order), and what the layer
 * inspector must collect for them.
 */
import type { EntryMatcher } from '../layer/inspect.js';
import { compilersCheck } from './compilers.js';
import { defaultUserCheck } from './default-user.js';
import { exposedPortsCheck } from './exposed-ports.js';
import { labelsCheck } from './labels.js';
import { layerCountCheck } from './layer-count.js';
import { ncCheck } from './nc.js';
import { netcatCheck } from './netcat.js';
import { osTypeCheck } from './os-type.js';
import { sgidCheck } from './sgid.js';
import { socatCheck } from './socat.js';
import { sshCheck } from './ssh.js';
import { sshdCheck } from './sshd.js';
import { startupCommandCheck } from './startup-command.js';
import { suCheck } from './su.js';
import { sudoCheck } from './sudo.js';
import { suidCheck } from './suid.js';
import { tagLatestCheck } from './tag-latest.js';
import type { Check } from './types.js';

/** All checks in report order. */
export const ALL_CHECKS: readonly Check[] = [
  tagLatestCheck,
  exposedPortsCheck,
  defaultUserCheck,
  labelsCheck,
  layerCountCheck,
  startupCommandCheck,
  suidCheck,
  sgidCheck,
  sudoCheck,
  suCheck,
  sshdCheck,
  sshCheck,
  ncCheck,
  netcatCheck,
  socatCheck,
  compilersCheck,
  osTypeCheck,
];

/** The entry matchers of `checks`, for the layer inspector. */
export function matchersOf(checks: readonly Check[]): EntryMatcher[] {
  return checks.flatMap((c) => (c.matcher ? [c.matcher] : []));
}

/** The union of the paths `checks` read from the final filesystem. */
export function watchPathsOf(checks: readonly Check[]): Set<string> {
  return new Set(checks.flatMap((c) => c.watchPaths ?? []));
}
