/**
 * Check 3: the default user and group must be set and must not be root (docs/checks.md). USER is
 * resolved against the final filesystem's /etc/passwd and /etc/group exactly as the runtime
 * resolves it (./passwd.ts), so `admin` with uid 0, `app` whose uid field is `abc` (Atoi → 0)
 * and `USER 1000:0` all fail. When the answer is not certain (a file that cannot be read, a
 * name beyond the kept 1 MiB, a layer not scanned), the check fails and says why: it never
 * passes on a guess.
 */
import type { FileRead, FinalFs } from '../layer/final-fs.js';
import { incompleteNote, unscannedText } from './findings.js';
import {
  MAX_ID,
  goAtoi,
  parseGroup,
  parsePasswd,
  resolveSide as resolveSpec,
  shownBytes,
  splitUserSpec,
  toUint32,
  type IdFile,
  type IdLine,
} from './passwd.js';
import type { Check, CheckInput } from './types.js';

/** Which side of USER is resolved, with the words its messages use. */
interface Side {
  readonly role: 'user' | 'group';
  readonly file: '/etc/passwd' | '/etc/group';
  readonly idName: 'uid' | 'gid';
}

const USER: Side = { role: 'user', file: '/etc/passwd', idName: 'uid' };
const GROUP: Side = { role: 'group', file: '/etc/group', idName: 'gid' };

/** How one side of USER resolved. */
type Resolved =
  /** `id` is what the kernel gets; `via` says how it was found, for the pass description. */
  | { readonly kind: 'id'; readonly id: number; readonly via?: string }
  /** The runtime would refuse to start the container, or the answer is not certain. */
  | { readonly kind: 'fail'; readonly reason: string };

/** The file as the check can use it: parsed lines, or why it cannot be used. */
type Source =
  | { readonly kind: 'parsed'; readonly file: IdFile; readonly read: Extract<FileRead, { status: 'ok' }> }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly reason: string };

function source(fs: FinalFs, side: Side): Source {
  const read = fs.read(side.file);
  if (read.status === 'missing') return { kind: 'missing' };
  if (read.status === 'unreadable') return { kind: 'unreadable', reason: read.reason };
  return { kind: 'parsed', file: (side.role === 'user' ? parsePasswd : parseGroup)(read.bytes, read.truncated), read };
}

/** `uid 1000`, or `uid 0 (4294967296 truncated to 32 bits)`. */
function idText(side: Side, value: bigint): string {
  const id = toUint32(value);
  return BigInt(id) === value ? `${side.idName} ${id}` : `${side.idName} ${id} (${value} truncated to 32 bits)`;
}

/** A name as messages show it: quoted when it holds anything but name characters (` 0`, ``). */
function shown(arg: string): string {
  return /^[\w.@+-]+$/.test(arg) ? arg : JSON.stringify(arg);
}

/** Why a matched line gives the id it gives, when that is not obvious (Atoi failed, field missing). */
function fieldNote(side: Side, line: IdLine): string {
  if (line.rawId === undefined) return ` (line ${line.line} has no ${side.idName} field: runc reads it as 0)`;
  if (!goAtoi(line.rawId).ok)
    return ` (${side.idName} field '${shownBytes(line.rawId)}' on line ${line.line} is not a number runc can parse: it reads it as ${line.id})`;
  return '';
}

/** Resolves one side of USER (a non-empty `arg`) as GetExecUser does (./passwd.ts), with the words of its messages. */
function resolveSide(side: Side, arg: string, src: Source): Resolved {
  if (src.kind === 'parsed' && src.file.error)
    return { kind: 'fail', reason: `The default ${side.role} cannot be resolved: ${src.file.error}, so the container would not start` };
  if (src.kind === 'unreadable' && !goAtoi(arg).ok)
    return { kind: 'fail', reason: `The default ${side.role} ${shown(arg)} cannot be resolved: ${src.reason}` };
  // A numeric USER is an id whatever the file says; an unreadable file only matters for names.
  const r = resolveSpec(arg, src.kind === 'parsed' ? src.file : undefined);
  if (r.kind === 'id') {
    // A number is the id it says: the line it matched (if any) only gives runc the default gid.
    if (r.line === undefined || goAtoi(arg).ok) return { kind: 'id', id: toUint32(r.id) };
    return { kind: 'id', id: toUint32(r.id), via: `${idText(side, r.id)} in ${side.file}${fieldNote(side, r.line)}` };
  }
  if (r.error === 'range') {
    const id = toUint32(goAtoi(arg).value);
    return {
      kind: 'fail',
      reason: `The default ${side.role} ${shown(arg)} is outside 0–${MAX_ID}: runc refuses to start the container and runtimes that truncate it to 32 bits run it as ${side.idName} ${id}${id === 0 ? ' (root)' : ''}`,
    };
  }
  if (src.kind === 'missing')
    return {
      kind: 'fail',
      reason: `${side.role} ${shown(arg)} not found in ${side.file} (the image has no ${side.file}): the container would not start`,
    };
  if (src.kind === 'parsed' && src.read.truncated) {
    return {
      kind: 'fail',
      reason: `The default ${side.role} ${shown(arg)} cannot be resolved: it is not in the part of ${side.file} the scan kept (the file has ${src.read.size} bytes)`,
    };
  }
  return { kind: 'fail', reason: `${side.role} ${shown(arg)} not found in ${side.file}: the container would not start` };
}

/** Why `arg`, resolved to `r`, is root, or undefined. */
function rootReason(side: Side, arg: string, r: Resolved): string | undefined {
  // A user or group called root is root by name, whatever the files say (the original's rule).
  if (arg === 'root') return 'root';
  if (r.kind !== 'id' || r.id !== 0) return undefined;
  if (r.via !== undefined) return `${shown(arg)}, which has ${r.via}`;
  return arg === '0' ? '0' : `${shown(arg)} (${side.idName} 0)`;
}

/** Names in USER depend on files a layer that was not scanned may replace. */
function unscannedProblem(input: CheckInput, names: readonly string[]): string | undefined {
  if (input.notScanned.length === 0 || names.length === 0 || input.allowUnscannedLayers === true) return undefined;
  return `${names.join(' and ')} cannot be resolved with certainty: ${unscannedText(input)}`;
}

/** Fails when USER is empty, has no group, names root as user or group, or cannot be resolved. */
export const defaultUserCheck: Check = {
  id: 'default-user',
  title: 'Default user and group',
  severity: 'Critical',
  mitigation:
    'The default USER and GROUP must be explicitly defined in the USER statement and do not contain root or 0. For example, USER app:app',
  watchPaths: ['/etc/passwd', '/etc/group'],
  run(input) {
    const spec = input.config.config?.User ?? '';
    // The runtime does not trim USER (` 0` is a name, which no passwd line can match), but a
    // value of only white space names nobody: it is reported as not defined, as an empty one.
    if (spec.trim() === '') return { pass: false, description: 'User not defined' };
    const { user, group } = splitUserSpec(spec);
    const problems: string[] = [];
    const names: string[] = [];
    const via: string[] = [];
    for (const [side, arg] of [
      [USER, user],
      [GROUP, group],
    ] as const) {
      if (arg === '') {
        problems.push(side === USER ? 'User not defined' : 'Default group not defined');
        continue;
      }
      const r = resolveSide(side, arg, source(input.fs, side));
      if (r.kind === 'id' && r.via !== undefined) via.push(r.via);
      if (!goAtoi(arg).ok) names.push(`${side.role} ${shown(arg)}`);
      const root = rootReason(side, arg, r);
      if (root !== undefined) problems.push(`The default ${side.role} is root: ${root}`);
      else if (r.kind === 'fail') problems.push(r.reason);
    }
    const unscanned = unscannedProblem(input, names);
    if (unscanned !== undefined) problems.push(unscanned);
    if (problems.length > 0) return { pass: false, description: `${problems.join('. ')} (USER ${spec})` };
    return {
      pass: true,
      description: `The default user and group are ${user}:${group}${via.length > 0 ? ` (${via.join(', ')})` : ''}${incompleteNote(input)}`,
    };
  },
};
