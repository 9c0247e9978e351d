/**
 * The command table (docs/usage.md "Commands"). A command is chosen only by the first argument,
 * and only when that argument is exactly its name; anything else is the default command,
 * `scan`, with every argument. So `oci-scan audit:1.0` and `oci-scan ./x` are scans, and an
 * image whose name is a command word stays reachable as `oci-scan scan audit` or
 * `oci-scan docker://audit`. Words reserved for later commands are refused today rather than
 * scanned, so that a script's meaning never changes when the command arrives.
 */
import { OciScanError } from '../../errors.js';
import type { Command, Invocation } from './command.js';
import { auditCommand } from './audit.js';
import { cacheCommand } from './cache.js';
import { scanCommand } from './scan.js';
import { verifyCommand } from './verify.js';

/** A command word: implemented, or reserved for a later version. */
interface CommandEntry {
  readonly name: string;
  readonly command?: Command;
}

/** Every command word, in the order `--help` names them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'scan', command: scanCommand },
  { name: 'audit', command: auditCommand },
  { name: 'cache', command: cacheCommand },
  { name: 'verify', command: verifyCommand },
];

/** The default command, run when the first argument is no command word. */
export const DEFAULT_COMMAND: Command = scanCommand;

/** The command `argv` runs and the arguments it gets; throws USAGE for a reserved command word. */
export function resolveCommand(argv: readonly string[]): { readonly command: Command; readonly args: readonly string[] } {
  const [first, ...rest] = argv;
  const entry = COMMANDS.find((c) => c.name === first);
  if (!entry) return { command: DEFAULT_COMMAND, args: argv };
  if (!entry.command) {
    throw new OciScanError(
      'USAGE',
      `"${entry.name}" is reserved for a command of a later oci-scan version; to scan an image named ${entry.name}, run oci-scan scan ${entry.name} (or oci-scan docker://${entry.name})`,
    );
  }
  return { command: entry.command, args: rest };
}

/** Chooses the command from the first argument and parses the rest; undefined after --help/--version. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined> {
  // `oci-scan help` and `oci-scan version` alone do what they say (an image named so: `oci-scan scan help`).
  if (argv.length === 1 && (argv[0] === 'help' || argv[0] === 'version')) return DEFAULT_COMMAND.parse([`--${argv[0]}`], env);
  const { command, args } = resolveCommand(argv);
  return command.parse(args, env);
}
