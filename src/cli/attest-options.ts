/**
 * The attestation options of the commands (docs/attest.md): `--attach` and `--sign-key FILE`
 * (or OCI_SCAN_SIGN_KEY holding the PEM) for scan and audit, `--key`, `--max-age` for verify
 * and the audit's `--reuse-attestations`; and attaching a run's verdicts once its reports are
 * written. The key's text never reaches a message or a log: it is read here, kept as a
 * KeyObject, and added to the session's scrubber. The signing, attaching and registry modules are
 * loaded only by a run that uses them (docs/architecture.md "Start-up").
 */
import type { KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Argv } from 'yargs';
import type { Logger } from 'pino';
import { OciScanError } from '../errors.js';
import type { LoadedPolicy } from '../policy/load.js';
import type { RegistryOptions } from '../registry/options.js';
import type { Session } from '../registry/session.js';
import { toolInfo } from '../report/tool.js';
import type { ScannedImage } from '../report/model.js';
import { printFailure } from './output.js';

/** The default of `--max-age` (verify, audit --reuse-attestations): a verdict older than a week is not taken. */
export const DEFAULT_MAX_AGE = '7d';

/** `--attach` with its signing key, resolved. */
export interface AttachConfig {
  /** The signing key; undefined attaches unsigned verdicts. */
  readonly key?: KeyObject;
  /** The key's PEM text, for the scrubber only. */
  readonly pem?: string;
}

/** `parser` with `--attach` and `--sign-key`. */
export function withAttachOptions<T>(parser: Argv<T>) {
  return parser.option('attach', { type: 'boolean', default: false }).option('sign-key', { type: 'string', requiresArg: true });
}

/** A key file's text (≤ 64 KiB: a PEM key is a few hundred bytes); USAGE naming the flag, never the content. */
async function readKeyFile(file: string, flag: string): Promise<string> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new OciScanError('USAGE', `${flag} ${JSON.stringify(file)}: no such file: give a PEM key file`);
  if (info.size > 64 * 1024) throw new OciScanError('USAGE', `${flag} ${JSON.stringify(file)} is larger than 64 KiB: not a PEM key`);
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new OciScanError(
      'USAGE',
      `${flag} ${JSON.stringify(file)} cannot be read (${err.code ?? 'error'}): give a readable PEM key file`,
    );
  });
}

/** The attach settings of `--attach` / `--sign-key` / OCI_SCAN_SIGN_KEY, undefined without `--attach`; USAGE for a key without `--attach` or a key that does not read. */
export async function attachConfig(
  args: { readonly attach: boolean; readonly 'sign-key'?: string | undefined },
  env: NodeJS.ProcessEnv,
): Promise<AttachConfig | undefined> {
  const file = args['sign-key'];
  if (Array.isArray(file)) throw new OciScanError('USAGE', '--sign-key was given more than once (see oci-scan --help)');
  if (!args.attach) {
    if (file !== undefined) throw new OciScanError('USAGE', '--sign-key signs the verdicts --attach pushes: add --attach');
    return undefined;
  }
  const fromEnv = env['OCI_SCAN_SIGN_KEY'] ?? '';
  if (file === undefined && fromEnv.trim() === '') return {};
  const pem = file !== undefined ? await readKeyFile(file, '--sign-key') : fromEnv;
  const { signingKey } = await import('../attest/sign.js');
  return { key: signingKey(pem, file !== undefined ? `--sign-key ${JSON.stringify(file)}` : 'OCI_SCAN_SIGN_KEY'), pem };
}

/** The public key of `--key FILE`; USAGE when missing or not an ECDSA P-256 key. */
export async function verifyKeyOf(file: string | undefined, needed: string): Promise<KeyObject> {
  if (file === undefined || file === '')
    throw new OciScanError('USAGE', `${needed} needs --key FILE, the public key the attestations were signed for (see oci-scan --help)`);
  if (Array.isArray(file)) throw new OciScanError('USAGE', '--key was given more than once (see oci-scan --help)');
  const pem = await readKeyFile(file, '--key');
  const { verifyingKey } = await import('../attest/sign.js');
  return verifyingKey(pem, `--key ${JSON.stringify(file)}`);
}

/** A `--max-age` value in seconds (0: any age): `7d`, `36h`, `90m`, `3600s`, `3600`. */
export function parseMaxAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/i.exec(text.trim());
  if (!m)
    throw new OciScanError(
      'USAGE',
      `--max-age ${JSON.stringify(text)} is not a duration: use a number with s, m, h or d (e.g. 7d, 36h; 0 for any age)`,
    );
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

/** The time a verdict states: SOURCE_DATE_EPOCH (seconds) when set, for reproducible verdicts, else now. */
export function verdictTime(env: NodeJS.ProcessEnv, now: Date = new Date()): Date {
  const epoch = env['SOURCE_DATE_EPOCH'];
  if (epoch === undefined || epoch.trim() === '') return now;
  if (!/^\d{1,12}$/.test(epoch.trim()))
    throw new OciScanError('USAGE', `SOURCE_DATE_EPOCH=${JSON.stringify(epoch)} is not a number of seconds since 1970`);
  return new Date(Number(epoch.trim()) * 1000);
}

/** What attaching a run's verdicts needs. */
export interface AttachRun {
  readonly policy?: LoadedPolicy | undefined;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  /** The failure line's prefix for a scan (its image, when the run has several). */
  readonly prefix: (scan: ScannedImage) => string;
}

/** Attaches the verdict of each of `scans` through `session`; each failure prints its one line. Returns the failures. */
export async function attachScans(
  scans: readonly ScannedImage[],
  attach: AttachConfig,
  session: Session,
  run: AttachRun,
): Promise<unknown[]> {
  if (attach.pem) session.scrubber.addSecret(attach.pem.trim());
  const [{ attachVerdict }, { policyFingerprint }] = await Promise.all([import('../attest/attach.js'), import('../policy/fingerprint.js')]);
  const failures: unknown[] = [];
  const scannedAt = verdictTime(run.env);
  for (const scan of scans) {
    try {
      await attachVerdict(scan, {
        session,
        logger: run.logger,
        signal: run.signal,
        ...(attach.key ? { key: attach.key } : {}),
        tool: toolInfo(),
        policyFingerprint: policyFingerprint(run.policy?.policy),
        scannedAt,
      });
    } catch (err) {
      if (run.signal.aborted) throw err;
      printFailure(err, run.logger, run.prefix(scan));
      failures.push(err);
    }
  }
  return failures;
}

/**
 * Attaches the verdict of every image a scan run scanned, after its reports are written (a
 * refused push never costs the scan its reports), through a session of its own: the scan's
 * closed once its layers were read. Returns the failures.
 */
export async function attachAll(
  scans: readonly ScannedImage[],
  attach: AttachConfig,
  run: AttachRun & { readonly registry: RegistryOptions },
): Promise<unknown[]> {
  const { openSession } = await import('../registry/session.js');
  const session = openSession({ registry: run.registry, logger: run.logger });
  try {
    return await attachScans(scans, attach, session, run);
  } finally {
    await session.close();
  }
}
