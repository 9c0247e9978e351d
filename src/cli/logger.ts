/**
 * The logger: pino, JSON lines on stderr (never stdout, which carries results), with
 * authorization headers and credential fields redacted wherever they appear.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

/** Levels `--log-level` accepts. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Paths pino blanks out, whatever a module logs by mistake. */
export const REDACT_PATHS = [
  'authorization',
  'password',
  'token',
  'identitytoken',
  'registrytoken',
  'auth',
  '*.authorization',
  '*.Authorization',
  '*.password',
  '*.token',
  '*.auth',
  '*.identitytoken',
  '*.registrytoken',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
];

/**
 * A logger writing to stderr (or to `destination`, for tests). `beforeWrite` runs before each
 * line: the progress display erases itself there, so that a log line never lands on it.
 */
export function createLogger(level: LevelWithSilent, destination: NodeJS.WritableStream | number = 2, beforeWrite?: () => void): Logger {
  const dest = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  const guarded = beforeWrite
    ? {
        write: (line: string): boolean => {
          beforeWrite();
          return dest.write(line);
        },
      }
    : dest;
  return pino({ level, base: null, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, guarded);
}
