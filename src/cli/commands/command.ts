/** What a command of the CLI is (docs/usage.md "Commands"): arguments → an invocation → an exit code. */
import type { LevelWithSilent, Logger } from 'pino';
import type { LogFormat } from '../options.js';

/** What a running command gets from the process around it. */
export interface RunContext {
  readonly logger: Logger;
  /** Aborted by SIGINT, SIGTERM or `--timeout`. */
  readonly signal: AbortSignal;
  /** Registers a synchronous clean-up that runs however the process ends (removes temporary files). */
  onExit(cleanup: () => void): void;
  /** Marks the moment the command's files are in place: the timeout stops applying, and a signal says the files were written. */
  committed(): void;
}

/** A parsed command line, ready to run. */
export interface Invocation {
  readonly logLevel: LevelWithSilent;
  /** How log lines look on stderr (default human). */
  readonly logFormat?: LogFormat;
  /** Seconds the whole run may take (0: no limit). */
  readonly timeoutSeconds: number;
  /** Runs the command; resolves to the exit code. */
  run(context: RunContext): Promise<number>;
}

/** One command of the CLI. */
export interface Command {
  /** The word that selects it as the first argument. */
  readonly name: string;
  /** Parses the arguments after the command word; undefined when `--help` or `--version` was printed. */
  parse(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined>;
}
