/**
 * The options every command that scans images shares (scan, audit; docs/usage.md "Options",
 * docs/audit.md): their yargs definitions, their values read from argv and the environment
 * (platform, registry, limits, cache, logs, policy and failure threshold), and the scan options
 * a run's images share (one facts store, one registry session).
 */
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Argv } from 'yargs';
import type { LevelWithSilent } from 'pino';
import type { CheckSet } from '../checks/index.js';
import type { Severity } from '../checks/types.js';
import { OciScanError } from '../errors.js';
import { parsePlatform, type Platform } from '../image/platform.js';
import type { RegistryOptions } from '../registry/options.js';
import type { openSession } from '../registry/session.js';
import type { ScanOptions } from '../scan.js';
import { memoryFactsStore, type FactsStore } from '../store/facts-store.js';
import { diskFactsStore, tieredStore } from '../store/disk.js';
import type { LoadedPolicy } from '../policy/load.js';
import { cacheConfig, type CacheConfig } from './cache-options.js';
import type { RunContext } from './commands/command.js';
import { failThreshold, severityCodes, type FailThreshold } from './exit-codes.js';
import { LOG_FORMATS, LOG_LEVELS, parseSize, parseTimeout, registryOptions, repeated, type LogFormat } from './options.js';

/** What the image options come to: the settings of every image a run scans. */
export interface ImageOptionValues {
  readonly platform: Platform | 'all';
  readonly registry: RegistryOptions;
  readonly maxLayerBytes: number;
  readonly timeoutSeconds: number;
  readonly allowUnscannedLayers: boolean;
  readonly logLevel: LevelWithSilent;
  readonly logFormat: LogFormat;
  /** Exit code per highest severity (`*_EXIT_CODE`). */
  readonly codes: Readonly<Record<Severity, number>>;
  /** `--policy FILE` or the working directory's `.oci-scan.yaml|yml|json` (docs/ci.md, "Policy"). */
  readonly policy?: LoadedPolicy;
  /** `--fail-on` / `--exit-code`: undefined for the original's exit codes. */
  readonly threshold?: FailThreshold;
  /** The persistent layer-facts cache; undefined with `--no-cache`. */
  readonly cache?: CacheConfig;
  /** `--checks default|extended|all` (docs/checks.md, "Extended checks"); undefined: the policy's profile, else default. */
  readonly checkSet?: CheckSet;
}

/** Refuses a `--ca-file` that holds no PEM certificate (USAGE), before any connection. */
export async function checkCaFile(file: string): Promise<void> {
  let text: string;
  try {
    const st = await stat(file);
    // A CA bundle is a few hundred KiB at most (Debian's is ~200 KiB): bound the read.
    if (!st.isFile() || st.size > 16 * 1024 * 1024) throw new Error(st.isFile() ? 'larger than 16 MiB' : 'not a file');
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new OciScanError(
      'USAGE',
      `--ca-file ${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a PEM file of CA certificates`,
    );
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const valid = blocks.filter((b) => {
    try {
      new X509Certificate(b);
      return true;
    } catch {
      return false;
    }
  });
  if (valid.length === 0 || valid.length !== blocks.length)
    throw new OciScanError(
      'USAGE',
      `--ca-file ${JSON.stringify(file)} is not a PEM certificate file (${blocks.length === 0 ? 'no BEGIN CERTIFICATE block' : 'a certificate block does not parse'}): give the CA certificate(s) in PEM form`,
    );
}

/** `parser` with the options of every command that scans images (scan, audit): platform, registry, limits, cache, logs, policy and threshold. */
export function withImageOptions<T>(parser: Argv<T>) {
  return parser
    .option('platform', { type: 'string', default: 'linux/amd64', requiresArg: true })
    .option('insecure-registry', { type: 'string', requiresArg: true })
    .option('registry-mirror', { type: 'string', requiresArg: true })
    .option('ca-file', { type: 'string', requiresArg: true })
    .option('max-layer-size', { type: 'string', default: '64g', requiresArg: true })
    .option('timeout', { type: 'string', default: '0', requiresArg: true })
    .option('cache', { type: 'boolean', default: true })
    .option('cache-dir', { type: 'string', requiresArg: true })
    .option('cache-max-size', { type: 'string', requiresArg: true })
    .option('allow-unscanned-layers', { type: 'boolean', default: false })
    .option('log-level', { type: 'string', choices: LOG_LEVELS as string[], default: 'warn', requiresArg: true })
    .option('log-format', { type: 'string', choices: LOG_FORMATS as string[], requiresArg: true })
    .option('policy', { type: 'string', requiresArg: true })
    .option('checks', { type: 'string', requiresArg: true })
    .option('fail-on', { type: 'string', requiresArg: true })
    .option('exit-code', { type: 'string', requiresArg: true });
}

/** `--checks` as a check set; USAGE for another value. (The checks are loaded only by a run that names a set.) */
export async function checkSetOption(value: string | undefined): Promise<CheckSet | undefined> {
  if (value === undefined) return undefined;
  const { CHECK_SETS } = await import('../checks/index.js');
  const set = CHECK_SETS.find((s) => s === value);
  if (!set)
    throw new OciScanError(
      'USAGE',
      `--checks ${JSON.stringify(value)}: use default (the 17 checks), extended or all (the extended checks too; docs/checks.md)`,
    );
  return set;
}

/** What `withImageOptions` parses, as yargs gives it. */
export interface ImageOptionArgs {
  readonly platform: string;
  readonly 'insecure-registry'?: string | readonly string[] | undefined;
  readonly 'registry-mirror'?: string | readonly string[] | undefined;
  readonly 'ca-file'?: string | undefined;
  readonly 'max-layer-size': string;
  readonly timeout: string;
  readonly cache: boolean;
  readonly 'cache-dir'?: string | undefined;
  readonly 'cache-max-size'?: string | undefined;
  readonly 'allow-unscanned-layers': boolean;
  readonly 'log-level': string;
  readonly 'log-format'?: string | undefined;
  readonly policy?: string | undefined;
  readonly checks?: string | undefined;
  readonly 'fail-on'?: string | undefined;
  readonly 'exit-code'?: string | undefined;
}

/**
 * How log lines look: `--log-format` when given; else JSON when logs were asked for (`--log-level`
 * info, debug or trace: lines to be read by tools), and one human line each otherwise (warnings).
 */
function logFormatOf(format: string | undefined, level: string): LogFormat {
  if (format === 'json' || format === 'human') return format;
  return level === 'info' || level === 'debug' || level === 'trace' ? 'json' : 'human';
}

/** The image options' values (scan, audit): usage errors for a value that does not read, the CA file checked, the policy loaded. */
export async function imageOptionValues(args: ImageOptionArgs, env: NodeJS.ProcessEnv): Promise<ImageOptionValues> {
  if (args['ca-file'] !== undefined) await checkCaFile(args['ca-file']);
  const checkSet = await checkSetOption(args.checks);
  // Read even with --no-cache, so that a wrong --cache-max-size is refused all the same.
  const cache = cacheConfig(args['cache-dir'], args['cache-max-size'], env);
  return {
    platform: args.platform === 'all' ? 'all' : parsePlatform(args.platform),
    registry: registryOptions(
      { insecureRegistries: repeated(args['insecure-registry']), mirrors: repeated(args['registry-mirror']), caFile: args['ca-file'] },
      env,
    ),
    maxLayerBytes: parseSize(args['max-layer-size'], '--max-layer-size'),
    timeoutSeconds: parseTimeout(args.timeout),
    allowUnscannedLayers: args['allow-unscanned-layers'],
    logLevel: args['log-level'] as LevelWithSilent,
    logFormat: logFormatOf(args['log-format'], args['log-level']),
    codes: severityCodes(env),
    ...(args.cache ? { cache } : {}),
    ...(checkSet ? { checkSet } : {}),
    ...(await policyAndThreshold(args.policy, args['fail-on'], args['exit-code'])),
  };
}

/** The run's policy (`--policy`, else the working directory's file) and failure threshold; USAGE when either is wrong. */
export async function policyAndThreshold(
  policyFile: string | undefined,
  failOn: string | undefined,
  exitCode: string | undefined,
): Promise<Pick<ImageOptionValues, 'policy' | 'threshold'>> {
  if (policyFile === '') throw new OciScanError('USAGE', '--policy needs a file name (see oci-scan --help)');
  const threshold = failThreshold(failOn, exitCode);
  // The policy's loader (yaml, its schema) only once the command line is known good so far.
  const { findPolicy } = await import('../policy/load.js');
  const policy = await findPolicy(policyFile, process.cwd());
  return { ...(policy ? { policy } : {}), ...(threshold ? { threshold } : {}) };
}

/**
 * The scan options every image of a run shares (scan, audit): one layer-facts store — memory in
 * front of the disk cache, so that a layer two images share is read from disk once — the disk
 * cache's configs, and one registry session (one ping, one credential lookup, one token cache
 * per registry).
 */
export function runScanOptions(
  config: Pick<ImageOptionValues, 'platform' | 'registry' | 'allowUnscannedLayers' | 'maxLayerBytes' | 'policy' | 'cache' | 'checkSet'>,
  logger: RunContext['logger'],
  signal: AbortSignal,
  session: ReturnType<typeof openSession>,
): ScanOptions & { readonly store: FactsStore; readonly session: ReturnType<typeof openSession> } {
  const disk = config.cache ? diskFactsStore(config.cache.dir, { maxBytes: config.cache.maxBytes, logger }) : undefined;
  const store: FactsStore = disk ? tieredStore(memoryFactsStore(), disk) : memoryFactsStore();
  if (config.policy) logger.info({ file: config.policy.file }, 'policy loaded');
  return {
    platform: config.platform,
    registry: config.registry,
    logger,
    signal,
    store,
    ...(disk ? { configs: disk.configs } : {}),
    session,
    allowUnscannedLayers: config.allowUnscannedLayers,
    limits: { maxLayerBytes: config.maxLayerBytes },
    ...(config.policy ? { policy: config.policy.policy } : {}),
    ...(config.checkSet ? { checkSet: config.checkSet } : {}),
  };
}
