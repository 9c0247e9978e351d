/**
 * One run of the CLI around whatever command it is (docs/errors.md "Exit codes"): SIGINT, SIGTERM
 * and `--timeout` abort the command's signal, temporary files go whatever ends the process,
 * and every failure becomes one line on stderr and an exit code. The only module besides the
 * bin that decides how the process ends.
 */
import type { Logger } from 'pino';
import { OciScanError } from '../errors.js';
import { parseCommandLine } from './commands/index.js';
import type { RunContext } from './commands/command.js';
import { untilStopped } from './interrupt.js';
import { beforeOutput, printFailure } from './output.js';

/** Runs the command line `argv` (without node and the script); never throws; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      beforeOutput();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    signalled = sig;
    controller.abort(new OciScanError('INTERRUPTED', `interrupted by ${sig}: scan stopped, no report written`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let logger: Logger | undefined;
  let committed = false;
  const cleanups: Array<() => void> = [];
  const cleanUp = (): void => {
    for (const cleanup of cleanups) cleanup();
  };
  // Whatever ends the process (a second signal included), no temporary file stays behind.
  process.on('exit', cleanUp);
  try {
    const invocation = await parseCommandLine(argv, process.env);
    if (!invocation) return 0;
    // pino only for a run that logs: `--version` and `--help` never load it (docs/architecture.md "Start-up").
    const { createLogger } = await import('./logger.js');
    logger = createLogger(invocation.logLevel, 2, beforeOutput, invocation.logFormat ?? 'human');
    if (invocation.timeoutSeconds > 0) {
      const seconds = invocation.timeoutSeconds;
      timer = setTimeout(
        () =>
          controller.abort(
            new OciScanError(
              'TIMEOUT',
              `the scan did not finish within ${seconds} s (--timeout): no report written; raise --timeout or check the registry's speed`,
            ),
          ),
        seconds * 1000,
      );
      timer.unref();
    }
    const context: RunContext = {
      logger,
      signal: controller.signal,
      onExit: (cleanup) => cleanups.push(cleanup),
      committed: () => {
        committed = true;
        clearTimeout(timer);
      },
    };
    return await untilStopped(invocation.run(context), controller.signal);
  } catch (err) {
    cleanUp();
    if (signalled) {
      const what = committed ? 'the reports were written, the output is incomplete' : 'scan stopped, no report written';
      // Progress lines go first (as before any other line), so the message is never glued to one.
      beforeOutput();
      process.stderr.write(`oci-scan: interrupted by ${signalled}: ${what}\n`);
      return signalled === 'SIGINT' ? 130 : 143;
    }
    return printFailure(err, logger);
  } finally {
    clearTimeout(timer);
  }
}
