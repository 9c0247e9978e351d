/**
 * Option values every command reads the same way (docs/usage.md "Options"): sizes, timeouts,
 * repeatable options, registry mirrors, colour, boolean environment variables, log levels and
 * formats, and the registry options built from them.
 */
import type { LevelWithSilent } from 'pino';
import type { Argv } from 'yargs';
import { OciScanError } from '../errors.js';
import type { RegistryOptions } from '../registry/options.js';

/** Levels `--log-level` accepts. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** How log lines look: one human line (`oci-scan: warning: …`), or pino's JSON lines (src/cli/logger.ts). */
export type LogFormat = 'human' | 'json';

/** Formats `--log-format` accepts. */
export const LOG_FORMATS: readonly LogFormat[] = ['human', 'json'];

/** Parses `1g`, `512m`, `1048576` into bytes. */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m)
    throw new OciScanError('USAGE', `${flag} ${JSON.stringify(text)} is not a size: use bytes or a number with k, m, g or t (e.g. 8g)`);
  const power = ['', 'k', 'm', 'g', 't'].indexOf((m[2] ?? '').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}

/** A `--timeout` value in seconds (0 for none): `90`, `90s`, `10m`, `1h`, `1.5h`; USAGE quoting the text otherwise. */
export function parseTimeout(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smh]?)$/i.exec(text.trim());
  if (!m)
    throw new OciScanError(
      'USAGE',
      `--timeout ${JSON.stringify(text)} is not a duration: use seconds or a number with s, m or h (e.g. 90s, 10m, 1h; 0 for no limit)`,
    );
  const unit = { '': 1, s: 1, m: 60, h: 3600 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

/** `--registry-mirror SOURCE=MIRROR` values → source → mirror. */
export function parseMirrors(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    // Split at the first '=' and never quote the value: a mirror URL may carry a password
    // (the registry source refuses it, without quoting it either).
    const eq = v.indexOf('=');
    const source = eq < 0 ? '' : v.slice(0, eq);
    const mirror = eq < 0 ? '' : v.slice(eq + 1);
    if (!source || !mirror) throw new OciScanError('USAGE', '--registry-mirror takes SOURCE=MIRROR (e.g. docker.io=mirror.local:5000)');
    out[source] = mirror;
  }
  return out;
}

/** The values of a repeatable option (yargs gives a string for one, an array for several). */
export function repeated(value: string | readonly string[] | undefined): string[] {
  return value === undefined ? [] : typeof value === 'string' ? [value] : value.map(String);
}

/** Whether to colour stdout: `--color`/`--no-color`, else NO_COLOR / FORCE_COLOR, else whether stdout is a terminal. */
export function wantColour(option: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (option !== undefined) return option;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force !== 'false';
  return process.stdout.isTTY === true;
}

/** True for `1`, `true`, `yes`, `on` (any case). */
export function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/** The registry options of a run from the registry flags and the environment. */
export function registryOptions(
  flags: { readonly insecureRegistries: readonly string[]; readonly mirrors: readonly string[]; readonly caFile: string | undefined },
  env: NodeJS.ProcessEnv,
): RegistryOptions {
  return {
    insecureRegistries: flags.insecureRegistries,
    mirrors: parseMirrors(flags.mirrors),
    env,
    ...(flags.caFile ? { caFile: flags.caFile } : {}),
  };
}

/**
 * `parser` made strict as every command's is: `-h/--help` known, unknown options and commands
 * refused, no exit, and a parse failure recorded through `onError` (thrown by the caller as
 * USAGE) instead of printed; a missing value reads `--NAME needs a value`.
 */
export function strictParser<T>(
  parser: Argv<T>,
  onError: (message: string) => void,
  argv: readonly string[] = [],
): Argv<T & { help: boolean | undefined }> {
  return parser
    .option('help', { alias: 'h', type: 'boolean' })
    .strictOptions()
    .strictCommands()
    .exitProcess(false)
    .fail((msg, err) => {
      const text = (msg || err?.message || 'invalid arguments').replace(/^Not enough arguments following: (.*)$/, '--$1 needs a value');
      // yargs' own table of the options declared (not in its types).
      const known = Object.keys((parser as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key);
      onError(unknownOptionMessage(text, known, argv) ?? text);
    });
}

/** Edit distance of `a` and `b` (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length] ?? 0;
}

/**
 * yargs' "Unknown argument(s): insecure-registri, insecureRegistri" as one clean line: the
 * option as typed (yargs adds its camel-case twin), and the nearest known option when one is
 * close (`did you mean --insecure-registry?`). Undefined for any other message.
 */
export function unknownOptionMessage(message: string, known: readonly string[], argv: readonly string[] = []): string | undefined {
  const m = /^Unknown arguments?: (.*)$/.exec(message);
  if (!m?.[1]) return undefined;
  const names = m[1].split(', ').filter((n) => n !== '' && !/[A-Z]/.test(n));
  const parsed = names[0] ?? m[1].split(', ')[0] ?? '';
  // yargs reads `--no-x` as "not --x" and names x: show it as typed.
  const typed = (n: string): boolean => argv.some((a) => a === `--${n}` || a.startsWith(`--${n}=`));
  const name = !typed(parsed) && typed(`no-${parsed}`) ? `no-${parsed}` : parsed;
  const options = known.filter((k) => k.length > 1 && !/[A-Z]/.test(k) && k !== '$0');
  const best = options.map((k) => ({ k, d: distance(name, k) })).sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))[0];
  const near =
    best && (best.d <= Math.max(2, Math.floor(name.length / 4)) || best.k.startsWith(name) || name.startsWith(best.k))
      ? `: did you mean --${best.k}?`
      : '';
  const dashes = name.length === 1 ? '-' : '--';
  return `unknown option ${dashes}${name}${near}${names.length > 1 ? ` (and ${names.length - 1} more unknown)` : ''}`;
}
