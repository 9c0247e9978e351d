/**
 * The logger: pino, JSON lines on stderr (never stdout, which carries results), with
 * authorization headers and credential fields redacted wherever they appear, and no character
 * that a terminal would act on or that reorders text left raw.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { LogFormat } from './options.js';

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
 * What JSON.stringify leaves raw but a terminal showing stderr acts on: DEL and C1 controls (an
 * 8-bit CSI is U+009B), and the format characters that reorder or hide text (bidi marks,
 * embeddings, overrides and isolates; line and paragraph separators). Image names, paths and
 * registry messages in log fields come from the image and the registry (docs/security.md).
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** One log line with those characters as `\uXXXX` escapes: still the same JSON. They can only stand inside strings. */
export function escapeLogLine(line: string): string {
  return line.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const LEVEL_WORDS: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

/** A field's value in a human line: strings as they are, the rest as JSON; controls escaped (as in the JSON line). */
function fieldText(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value
      : Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? value.join(', ')
        : JSON.stringify(value);
  return (
    (text ?? '')
      // eslint-disable-next-line no-control-regex -- the controls are what is escaped
      .replace(/[\u0000-\u001f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
      .replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  );
}

/**
 * A pino JSON line (already redacted and escaped) as one human line:
 * `oci-scan: warning: <message> (key: value, …)`. A line that does not parse is kept as it is.
 */
export function humanLogLine(line: string): string {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time: _time, msg, ...fields } = doc;
  const word = LEVEL_WORDS[Number(level)] ?? String(level);
  const rest = Object.entries(fields).map(([k, v]) => `${k}: ${fieldText(v)}`);
  return `oci-scan: ${word}: ${fieldText(msg ?? '')}${rest.length > 0 ? ` (${rest.join('; ')})` : ''}\n`;
}

/**
 * A logger writing to stderr (or to `destination`, for tests), as JSON lines or (`human`) one
 * readable line each. `beforeWrite` runs before each line: the progress display erases itself
 * there, so that a log line never lands on it.
 */
export function createLogger(
  level: LevelWithSilent,
  destination: NodeJS.WritableStream | number = 2,
  beforeWrite?: () => void,
  format: LogFormat = 'json',
): Logger {
  const dest = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  const guarded =
    beforeWrite || format === 'human'
      ? {
          write: (line: string): boolean => {
            beforeWrite?.();
            return dest.write(format === 'human' ? humanLogLine(line) : line);
          },
        }
      : dest;
  return pino({ level, base: null, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, hooks: { streamWrite: escapeLogLine } }, guarded);
}
