/**
 * Loading a policy (docs/ci.md, "Policy"): `--policy FILE`, else `.oci-scan.yaml`,
 * `.oci-scan.yml` or `.oci-scan.json` in the working directory, else none. The file is parsed
 * as YAML 1.2 (a JSON file is YAML too) keeping every node's position, so that a policy that
 * does not parse or does not validate is refused (USAGE, exit 2) with its file, line and what
 * is wrong.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';
import { OciScanError } from '../errors.js';
import type { Policy } from './types.js';
import { policyProblem } from './validate.js';

/** The yaml package, loaded on the first policy read: most runs have no policy and need not pay its load time. */
let yamlModule: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}

/** The file names looked for in the working directory, in order. */
export const POLICY_FILE_NAMES: readonly string[] = ['.oci-scan.yaml', '.oci-scan.yml', '.oci-scan.json'];

/** Largest policy file read: a policy is a few kilobytes; the bound keeps a wrong path from filling memory. */
export const MAX_POLICY_BYTES = 1024 * 1024;

/** A policy and the file it came from. */
export interface LoadedPolicy {
  readonly file: string;
  readonly policy: Policy;
}

function refuse(where: string, message: string): OciScanError {
  return new OciScanError('USAGE', `policy ${where}: ${message}: fix the policy file`);
}

/** The line (1-based) of the node at `path`, or of its nearest ancestor that has one. */
function lineOf(doc: Document, counter: LineCounter, path: ReadonlyArray<string | number>): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    // A key that is the problem (an unknown key): its pair has no node of its own; its value does.
    if (yaml().isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Parses and validates the text of a policy file; throws USAGE naming `file:line` on any problem. */
export function parsePolicy(text: string, file: string): Policy {
  const { LineCounter: Counter, parseDocument } = yaml();
  const counter = new Counter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: true, schema: 'core' });
  const [error] = doc.errors;
  if (error) {
    const line = error.linePos?.[0].line;
    throw refuse(
      `${file}${line === undefined ? '' : `:${line}`}`,
      `not valid YAML (${error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code})`,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw refuse(file, `cannot be read (${err instanceof Error ? err.message : String(err)})`);
  }
  const problem = policyProblem(value ?? {});
  if (problem) {
    const line = lineOf(doc, counter, problem.path);
    throw refuse(`${file}${line === undefined ? '' : `:${line}`}`, problem.message);
  }
  return value as Policy;
}

/** Checks a policy given as an object (the library API); throws USAGE naming the offending key. */
export function checkPolicy(value: unknown): Policy {
  const problem = policyProblem(value);
  if (problem) throw new OciScanError('USAGE', `policy: ${problem.message}: fix the policy`);
  return value as Policy;
}

/** Reads and parses the policy file `file`; throws USAGE when it is missing, too large or wrong. */
export async function loadPolicyFile(file: string): Promise<LoadedPolicy> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new OciScanError('USAGE', `policy ${file}: no such file: name an existing policy file`);
  if (info.size > MAX_POLICY_BYTES) throw refuse(file, `larger than ${MAX_POLICY_BYTES} bytes, not a policy`);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new OciScanError('USAGE', `policy ${file}: cannot be read (${err.code ?? err.message})`);
  });
  return { file, policy: parsePolicy(text, file) };
}

/** The policy of a run: `explicit` (`--policy`), else the first of POLICY_FILE_NAMES found in `cwd`, else undefined. */
export async function findPolicy(explicit: string | undefined, cwd: string): Promise<LoadedPolicy | undefined> {
  if (explicit !== undefined) return loadPolicyFile(explicit);
  for (const name of POLICY_FILE_NAMES) {
    const file = join(cwd, name);
    if ((await stat(file).catch(() => undefined))?.isFile()) return loadPolicyFile(file);
  }
  return undefined;
}
