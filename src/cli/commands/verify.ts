/**
 * `oci-scan verify IMAGE --key PUB [--policy FILE] [--max-age 7d] [--format json]`
 * (docs/attest.md, "Verify"): finds the image's signed verdicts among the referrers of its
 * manifest, takes the newest valid one, prints its results as a scan prints them and exits as
 * that scan would have (`--fail-on`, `--exit-code`, `*_EXIT_CODE`). No valid attestation: exit
 * 25 and one line saying why (none, bad signature, other key, other image, other version,
 * other policy, too old). Downloads no layer.
 */
import yargs from 'yargs';
import type { LevelWithSilent } from 'pino';
import type { KeyObject } from 'node:crypto';
import type { Severity } from '../../checks/types.js';
import { registryImage } from '../../attest/attach.js';
import { findAttestation, formatAge, type Found, type Rejection, type VerifiedAttestation } from '../../attest/find.js';
import { keyId } from '../../attest/sign.js';
import { OciScanError } from '../../errors.js';
import { parsePlatform, type Platform } from '../../image/platform.js';
import { policyFingerprint } from '../../policy/fingerprint.js';
import type { RegistryOptions } from '../../registry/options.js';
import { openSession } from '../../registry/session.js';
import { toolInfo } from '../../report/tool.js';
import { escapeForTerminal, terminalChunks, terminalText } from '../../report/formats/terminal.js';
import { documentText } from '../../report/write.js';
import { openRegistryImages } from '../../sources/registry.js';
import { DEFAULT_MAX_AGE, parseMaxAge, verifyKeyOf } from '../attest-options.js';
import { runExitCode, severityCodes, type FailThreshold } from '../exit-codes.js';
import { VERIFY_HELP } from '../help.js';
import { LOG_FORMATS, LOG_LEVELS, registryOptions, parseTimeout, strictParser, wantColour, type LogFormat } from '../options.js';
import { emit, emitAll } from '../output.js';
import { policyAndThreshold } from '../image-options.js';
import type { Command, Invocation, RunContext } from './command.js';

/** A parsed verify command line. */
interface VerifyConfig {
  readonly image: string;
  readonly key: KeyObject;
  readonly policyFingerprint: string;
  readonly maxAgeSeconds: number;
  readonly json: boolean;
  readonly colour: boolean;
  readonly platform: Platform;
  readonly registry: RegistryOptions;
  readonly codes: Readonly<Record<Severity, number>>;
  readonly threshold?: FailThreshold;
  readonly logLevel: LevelWithSilent;
  readonly logFormat: LogFormat;
  readonly timeoutSeconds: number;
}

/** What to do about each reason, after the line's "why". */
const NEXT_STEP: Readonly<Record<Rejection, string>> = {
  none: 'attach one with oci-scan IMAGE --attach --sign-key KEY',
  unreadable: 'attach a new one with oci-scan IMAGE --attach --sign-key KEY',
  'bad-signature': "it was altered or is not oci-scan's: attach a new one",
  'other-key': 'verify with the key it was signed with, or attach one signed with the key given',
  'other-image': 'scan this image with --attach',
  'other-version': 'scan again with this oci-scan and --attach',
  'other-policy': 'scan again under this policy with --attach',
  'too-old': 'scan again with --attach, or allow older ones with --max-age',
};

/** The one line of a failed verification. */
export function rejectionLine(image: string, digest: string, found: Exclude<Found, { verified: VerifiedAttestation }>): string {
  const which = found.reason === 'none' ? `${image} (${digest})` : `${image} (${digest}): the newest one`;
  return `no valid attestation of ${which} ${found.problem}: ${NEXT_STEP[found.reason]}`;
}

async function parseVerifyArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<VerifyConfig | undefined> {
  let usageError: string | undefined;
  const parser = yargs([...argv])
    .scriptName('oci-scan verify')
    .help(false)
    .version(false)
    .command('$0 [image]', false)
    .positional('image', { type: 'string' })
    .option('key', { type: 'string', requiresArg: true })
    .option('policy', { type: 'string', requiresArg: true })
    .option('max-age', { type: 'string', default: DEFAULT_MAX_AGE, requiresArg: true })
    .option('format', { type: 'string', choices: ['terminal', 'json'], default: 'terminal', requiresArg: true })
    .option('fail-on', { type: 'string', requiresArg: true })
    .option('exit-code', { type: 'string', requiresArg: true })
    .option('platform', { type: 'string', default: 'linux/amd64', requiresArg: true })
    .option('insecure-registry', { type: 'string', requiresArg: true })
    .option('registry-mirror', { type: 'string', requiresArg: true })
    .option('ca-file', { type: 'string', requiresArg: true })
    .option('timeout', { type: 'string', default: '0', requiresArg: true })
    .option('color', { type: 'boolean' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS as string[], default: 'warn', requiresArg: true })
    .option('log-format', { type: 'string', choices: LOG_FORMATS as string[], requiresArg: true });
  const args = await strictParser(parser, (message) => (usageError = message), argv).parseAsync();
  if (usageError) throw new OciScanError('USAGE', `${usageError} (see oci-scan verify --help)`);
  if (args.help) {
    await emit(process.stdout, VERIFY_HELP);
    return undefined;
  }
  for (const name of ['key', 'policy', 'max-age', 'format', 'platform', 'ca-file', 'timeout'] as const) {
    if (Array.isArray(args[name])) throw new OciScanError('USAGE', `--${name} was given more than once (see oci-scan verify --help)`);
  }
  const image = args.image ?? env['COMPLIANCE_IMAGE_FULL_REF'];
  if (image === undefined || image === '')
    throw new OciScanError('NO_IMAGE', 'no image given: pass IMAGE (e.g. oci-scan verify ghcr.io/org/app:1.2 --key cosign.pub)');
  if (args.platform === 'all')
    throw new OciScanError('USAGE', '--platform all: verify checks one image; name its platform (e.g. --platform linux/arm64)');
  const key = await verifyKeyOf(args.key, 'oci-scan verify');
  const { policy, threshold } = await policyAndThreshold(args.policy, args['fail-on'], args['exit-code']);
  const repeated = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [v]);
  const logLevel = args['log-level'] as LevelWithSilent;
  return {
    image,
    key,
    policyFingerprint: policyFingerprint(policy?.policy),
    maxAgeSeconds: parseMaxAge(args['max-age']),
    json: args.format === 'json',
    colour: wantColour(args.color, env),
    platform: parsePlatform(args.platform),
    registry: registryOptions(
      { insecureRegistries: repeated(args['insecure-registry']), mirrors: repeated(args['registry-mirror']), caFile: args['ca-file'] },
      env,
    ),
    codes: severityCodes(env),
    ...(threshold ? { threshold } : {}),
    logLevel,
    logFormat:
      args['log-format'] === 'json' || args['log-format'] === 'human'
        ? args['log-format']
        : logLevel === 'info' || logLevel === 'debug' || logLevel === 'trace'
          ? 'json'
          : 'human',
    timeoutSeconds: parseTimeout(args.timeout),
  };
}

/** What `--format json` prints: what was verified, or why nothing was. */
function verifiedDocument(image: string, digest: string, config: VerifyConfig, found: Found): object {
  const expected = {
    key: keyId(config.key),
    policy: config.policyFingerprint,
    maxAge: config.maxAgeSeconds > 0 ? formatAge(config.maxAgeSeconds) : null,
    toolVersion: toolInfo().version,
  };
  const refused = found.refused.map((r) => ({ artifact: r.artifact, reason: r.reason, problem: r.problem }));
  if ('verified' in found) {
    const v = found.verified;
    return {
      verified: true,
      image,
      digest,
      expected,
      attestation: {
        artifact: v.artifact,
        scannedAt: v.statement.predicate.scannedAt,
        tool: v.tool,
        policy: v.statement.predicate.policy.fingerprint,
        key: v.keyId,
      },
      result: v.image,
      refused,
    };
  }
  return { verified: false, image, digest, expected, reason: found.reason, message: rejectionLine(image, digest, found), refused };
}

async function runVerify(config: VerifyConfig, context: RunContext): Promise<number> {
  const { logger, signal } = context;
  const session = openSession({ registry: config.registry, logger });
  let found: Found;
  let digest: string;
  try {
    const [image] = await openRegistryImages(config.image, {
      platform: config.platform,
      registry: config.registry,
      logger,
      signal,
      session,
    });
    if (!image) throw new OciScanError('NO_IMAGE', `${config.image} resolved to no image`);
    const target = registryImage(image, 'USAGE');
    digest = target.digest;
    const repo = await session.registry(target.registry).repository(target.repository, { logger, signal });
    found = await findAttestation(
      repo,
      {
        key: config.key,
        digest,
        policyFingerprint: config.policyFingerprint,
        toolVersion: toolInfo().version,
        maxAgeSeconds: config.maxAgeSeconds,
        now: new Date(),
      },
      signal,
    );
  } finally {
    await session.close();
  }
  context.committed();
  for (const r of found.refused) logger.info({ artifact: r.artifact, reason: r.reason, problem: r.problem }, 'attestation refused');
  if (config.json) await emitAll(process.stdout, documentText(verifiedDocument(config.image, digest, config, found)), signal);
  if (!('verified' in found)) throw new OciScanError('NO_VALID_ATTESTATION', rejectionLine(config.image, digest, found));
  const v = found.verified;
  if (!config.json) {
    const head = `Verified: ${terminalText(config.image)} (${digest}) attested by oci-scan ${terminalText(v.tool.version, 40)} at ${escapeForTerminal(v.statement.predicate.scannedAt)}, policy ${v.statement.predicate.policy.fingerprint}, key ${v.keyId}\n`;
    await emitAll(process.stdout, [head, ...terminalChunks(v.image.results, { colour: config.colour })], signal);
  }
  return runExitCode([], v.image.highest, config.codes, config.threshold);
}

/** The `verify` command. */
export const verifyCommand: Command = {
  name: 'verify',
  async parse(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation | undefined> {
    const config = await parseVerifyArgs(argv, env);
    if (!config) return undefined;
    return {
      logLevel: config.logLevel,
      logFormat: config.logFormat,
      timeoutSeconds: config.timeoutSeconds,
      run: (context) => runVerify(config, context),
    };
  },
};
