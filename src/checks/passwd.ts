/**
 * `USER` resolved the way the runtime resolves it: Docker (daemon/oci_linux.go getUser) and
 * runc call moby/sys/user's GetExecUser on the container's /etc/passwd and /etc/group, then
 * truncate the ids to uint32. Reproduced here byte for byte (docs/checks.md, check 3):
 * - passwd: read with bufio.Scanner (a line of 64 KiB or more is an error: the container does
 *   not start), each line TrimSpace'd, empty lines skipped, fields split on ':';
 * - group: read with bufio.Reader (any line length), lines starting with '#' skipped too;
 * - numeric fields parsed with strconv.Atoi, a failure or a missing field giving 0, so
 *   `app:x:abc:1000` or `app:x` is uid 0 (root); the first matching line wins;
 * - USER `user[:group]` split on ':' without trimming; a part Atoi accepts (`+0`, `-0`,
 *   `0000`) is an id, anything else a name that must be in the file.
 */

/** Longest passwd line bufio.Scanner reads (its MaxScanTokenSize is 64 KiB, newline included). */
export const MAX_PASSWD_LINE_BYTES = 64 * 1024 - 1;

/** uids and gids runc accepts for a numeric USER not listed in the file (moby/sys/user maxID). */
export const MAX_ID = 2 ** 31 - 1;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Go's strconv.Atoi on a 64-bit platform: `ok` false on a syntax or range error; `value` is what Go returns then (0, or the clamped bound). */
export function goAtoi(s: string): { readonly ok: boolean; readonly value: bigint } {
  const m = /^([+-]?)0*([0-9]+)$/.exec(s);
  if (!m) return { ok: false, value: 0n };
  const negative = m[1] === '-';
  const digits = m[2] ?? '0';
  // More than 19 significant digits is out of int64 range: no need to build the number.
  const value = digits.length > 19 ? (negative ? INT64_MIN - 1n : INT64_MAX + 1n) : BigInt(`${m[1] ?? ''}${digits}`);
  if (value > INT64_MAX) return { ok: false, value: INT64_MAX };
  if (value < INT64_MIN) return { ok: false, value: INT64_MIN };
  return { ok: true, value };
}

/** The id the kernel gets: Go's `uint32(int)` conversion (two's complement truncation). */
export function toUint32(value: bigint): number {
  return Number(BigInt.asUintN(32, value));
}

/** Go's bytes.TrimSpace: ASCII white space and Unicode White_Space (not U+FEFF, which JS's trim() also removes). */
export function goTrimSpace(s: string): string {
  return s.replace(/^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+|[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+$/g, '');
}

/** One parsed line: its fields as GetExecUser sees them. */
export interface IdLine {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly name: string;
  /** The raw id field (uid in passwd, gid in group), undefined when the line has too few fields. */
  readonly rawId: string | undefined;
  /** What Atoi made of it (0 on failure or when missing). */
  readonly id: bigint;
}

/** A passwd or group file, parsed as far as its kept content allows. */
export interface IdFile {
  readonly lines: readonly IdLine[];
  /** Set when runc could not read the file at all (a passwd line of 64 KiB or more). */
  readonly error?: string;
}

/**
 * Parses passwd (`kind` 'passwd': id = field 3) or group (`kind` 'group': id = field 3, '#'
 * comments skipped). When `truncated`, the last, partial line of `content` is left out.
 */
export function parseIdFile(content: string, kind: 'passwd' | 'group', truncated: boolean): IdFile {
  const raw = content.split('\n');
  if (truncated) raw.pop();
  const lines: IdLine[] = [];
  for (let i = 0; i < raw.length; i++) {
    const rawLine = raw[i] ?? '';
    // The content is the file decoded as UTF-8: an invalid byte became 3 bytes here, so this
    // can only overcount, which fails the check rather than passing it.
    if (kind === 'passwd' && Buffer.byteLength(rawLine) > MAX_PASSWD_LINE_BYTES) {
      return { lines, error: `line ${i + 1} of /etc/passwd is longer than ${MAX_PASSWD_LINE_BYTES} bytes, which runc cannot read (bufio.Scanner: token too long)` };
    }
    const line = goTrimSpace(rawLine);
    if (line === '' || (kind === 'group' && line.startsWith('#'))) continue;
    const fields = line.split(':');
    const rawId = fields[2];
    lines.push({ line: i + 1, name: fields[0] ?? '', rawId, id: rawId === undefined ? 0n : goAtoi(rawId).value });
  }
  return { lines };
}

/** Splits USER as GetExecUser does (parseLine on ':': a third field and beyond are ignored). */
export function splitUserSpec(spec: string): { readonly user: string; readonly group: string } {
  const [user = '', group = ''] = spec.split(':');
  return { user, group };
}
