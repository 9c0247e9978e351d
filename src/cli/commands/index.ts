/**
 * The command table (docs/usage.md "Commands"). A command is chosen only by the first argument,
 * and only when that argument is exactly its name; anything else is the default command,
 * `scan`, with every argument. So `oci-scan audit:1.0` and `oci-scan ./x` are scans, and an
 * image whose name is a command word stays reachable as `oci-scan scan audit` or
 * `oci-scan docker://audit`. Words reserved for later commands are refused today rather than
 * scanned, so that a script's meaning never changes when the command arrives.
 *
 * A command's module is loaded only when the command runs: a scan never loads the audit, cache
 * and verify commands and what they import (docs/architecture.md "Start-up").
 */
import { OciScanError } from '../../errors.js';
import type { Command, Invocation } from './command.js';

/** A command word: implemented (its module loaded on first use), or reserved for a later version. */
interface CommandEntry {
  readonly name: string;
  readonly load?: () => Promise<Command>;
}

/** The default command's entry, run when the first argument is no command word. */
const SCAN: CommandEntry & Required<Pick<CommandEntry, 'load'>> = {
  name: 'scan',
  load: async () => (await import('./scan.js')).scanCommand,
};

/** Every command word, in the order `--help` names them. */
export const COMMANDS: readonly CommandEntry[] = [
  SCAN,
  { name: 'audit', load: async () => (await import('./audit.js')).auditCommand },
  { name: 'cache', load: async () => (await import('./cache.js')).cacheCommand },
  { name: 'verify', load: async () => (await import('./verify.js')).verifyCommand },
];

/** The command `argv` runs and the arguments it gets; USAGE for a reserved command word. */
export async function resolveCommand(argv: readonly string[]): Promise<{ readonly command: Command; readonly args: readonly string[] }> {
  const [first, ...rest] = argv;
  const entry = COMMANDS.find((c) => c.name === first);
  if (!entry) return { command: await SCAN.load(), args: argv };
  if (!entry.load) {
    throw new OciScanError(
      'USAGE',
      `"${entry.name}" is reserved for a command of a later oci-scan version; to scan an image named ${entry.name}, run oci-scan scan ${entry.name} (or oci-scan docker://${entry.name})`,
    );
  }
  return { command: await entry.load(), args: rest };
}

/** Chooses the command from the first argument and parses the rest; undefined after --help/--version. */
export async function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined> {
  // `oci-scan help` and `oci-scan version` alone do what they say (an image named so: `oci-scan scan help`).
  if (argv.length === 1 && (argv[0] === 'help' || argv[0] === 'version')) return (await SCAN.load()).parse([`--${argv[0]}`], env);
  const { command, args } = await resolveCommand(argv);
  return command.parse(args, env);
}
