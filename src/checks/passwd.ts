/**
 * `USER` resolved the way the runtime resolves it: Docker (daemon/oci_linux.go getUser) and
 * runc call runc's libcontainer/user GetExecUser on the container's /etc/passwd and
 * /etc/group, then truncate the ids to uint32. Reproduced here byte for byte (docs/checks.md,
 * check 3), and proven against runc's own code (test/unit/checks/runc-differential.test.ts):
 * - the files are bytes, not text: names are compared byte for byte, so a name holding an
 *   invalid UTF-8 byte matches only a USER with that very byte (none: USER is UTF-8);
 * - passwd: read with bufio.Scanner (a line of 64 KiB or more is an error: the container does
 *   not start), each line bytes.TrimSpace'd, empty lines skipped, fields split on ':';
 * - group: read with bufio.Reader.ReadLine (any line length; a last line without a newline
 *   whose length is a multiple of the 4096-byte buffer is lost), lines starting with '#'
 *   skipped too;
 * - numeric fields parsed with strconv.Atoi, a failure or a missing field giving 0, so
 *   `app:x:abc:1000` or `app:x` is uid 0 (root); the first matching line wins;
 * - USER `user[:group]` split on ':' without trimming; a part Atoi accepts (`+0`, `-0`,
 *   `0000`) is an id, anything else a name that must be in the file.
 *
 * Lines and fields are kept as byte strings: one UTF-16 code unit per byte (latin1), so that
 * `===` compares bytes and no decoding can merge two different byte sequences.
 */

/** Longest passwd line bufio.Scanner reads (its MaxScanTokenSize is 64 KiB, newline included). */
export const MAX_PASSWD_LINE_BYTES = 64 * 1024 - 1;

/** uids and gids runc accepts for a numeric USER not listed in the file (libcontainer/user maxID). */
export const MAX_ID = 2 ** 31 - 1;

/** bufio.Reader's default buffer, the chunk ReadLine returns a long group line in. */
const GROUP_READ_CHUNK = 4096;

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

/** ASCII white space as Go's asciiSpace table has it: \t \n \v \f \r and space. */
const isAsciiSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * Length of the white space rune Go's unicode.IsSpace accepts that starts at `i` of byte
 * string `s`, or 0: ASCII white space, and the UTF-8 encodings of U+0085, U+00A0, U+1680,
 * U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 (not U+FEFF). Each is a whole valid
 * UTF-8 sequence, so matching the bytes is what bytes.TrimSpace's rune decoding does: a lone
 * 0x85 or 0xA0 byte is not white space.
 */
function spaceAt(s: string, i: number): number {
  const b0 = s.charCodeAt(i);
  if (isAsciiSpace(b0)) return 1;
  const b1 = s.charCodeAt(i + 1);
  if (b0 === 0xc2) return b1 === 0x85 || b1 === 0xa0 ? 2 : 0;
  const b2 = s.charCodeAt(i + 2);
  if (b0 === 0xe1) return b1 === 0x9a && b2 === 0x80 ? 3 : 0;
  if (b0 === 0xe2 && b1 === 0x80) return (b2 >= 0x80 && b2 <= 0x8a) || b2 === 0xa8 || b2 === 0xa9 || b2 === 0xaf ? 3 : 0;
  if (b0 === 0xe2) return b1 === 0x81 && b2 === 0x9f ? 3 : 0;
  if (b0 === 0xe3) return b1 === 0x80 && b2 === 0x80 ? 3 : 0;
  return 0;
}

/** Go's bytes.TrimSpace on a byte string (linear: a hostile line of 64 KiB of spaces costs 64 KiB). */
export function goTrimSpace(s: string): string {
  let start = 0;
  for (let n = spaceAt(s, start); n > 0 && start < s.length; n = spaceAt(s, start)) start += n;
  let end = s.length;
  // A space rune ends at `end` when its one, two or three bytes before `end` are one.
  while (end > start) {
    const n = [1, 2, 3].find((k) => end - k >= start && spaceAt(s, end - k) === k);
    if (n === undefined) break;
    end -= n;
  }
  return s.slice(start, end);
}

/** A JS string (USER, a name) as the byte string of its UTF-8 encoding (a lone surrogate is U+FFFD, as Go's JSON decoder makes it). */
export function byteString(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A byte string as text for messages (invalid UTF-8 shown as U+FFFD). */
export function shownBytes(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** One parsed line: its fields as GetExecUser sees them. */
export interface IdLine {
  /** 1-based line number in the file. */
  readonly line: number;
  /** The name field, as a byte string. */
  readonly name: string;
  /** The raw id field (uid in passwd, gid in group) as a byte string, undefined when the line has too few fields. */
  readonly rawId: string | undefined;
  /** What Atoi made of it (0 on failure or when missing). */
  readonly id: bigint;
  /** passwd only: the gid field as Atoi read it (0 on failure or when missing). */
  readonly gid: bigint;
}

/** A passwd or group file, parsed as far as its kept content allows. */
export interface IdFile {
  readonly lines: readonly IdLine[];
  /** Set when runc could not read the file at all (a passwd line of 64 KiB or more). */
  readonly error?: string;
}

/** A byte string's fields as parseLine gives them: the id is the third, a passwd gid the fourth. */
function idLine(line: number, text: string): IdLine {
  const fields = text.split(':');
  const rawId = fields[2];
  const rawGid = fields[3];
  return {
    line,
    name: fields[0] ?? '',
    rawId,
    id: rawId === undefined ? 0n : goAtoi(rawId).value,
    gid: rawGid === undefined ? 0n : goAtoi(rawGid).value,
  };
}

/** The file's lines as byte strings (split on '\n'); when `truncated`, the last, partial line is left out. */
function rawLines(content: Uint8Array, truncated: boolean): string[] {
  const raw = Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('latin1').split('\n');
  if (truncated) raw.pop();
  return raw;
}

/** Parses /etc/passwd as ParsePasswdFilter does (bufio.Scanner, TrimSpace, empty lines skipped). */
export function parsePasswd(content: Uint8Array, truncated: boolean): IdFile {
  const raw = rawLines(content, truncated);
  const lines: IdLine[] = [];
  for (let i = 0; i < raw.length; i++) {
    const rawLine = raw[i] ?? '';
    // The scanner's buffer stops growing at 64 KiB, where it must hold a whole line and its
    // newline: a longer line stops the whole read, wherever it is in the file.
    if (rawLine.length > MAX_PASSWD_LINE_BYTES) {
      return {
        lines,
        error: `line ${i + 1} of /etc/passwd is longer than ${MAX_PASSWD_LINE_BYTES} bytes, which runc cannot read (bufio.Scanner: token too long)`,
      };
    }
    const line = goTrimSpace(rawLine);
    if (line !== '') lines.push(idLine(i + 1, line));
  }
  return { lines };
}

/**
 * Parses /etc/group as ParseGroupFilter does (bufio.Reader.ReadLine, TrimSpace, empty and '#'
 * lines skipped). ReadLine hands a line longer than its 4096-byte buffer over in chunks; when
 * the file ends exactly at the end of a chunk, with no newline, the next read is io.EOF and
 * ParseGroupFilter returns without that line.
 */
export function parseGroup(content: Uint8Array, truncated: boolean): IdFile {
  const raw = rawLines(content, truncated);
  const lines: IdLine[] = [];
  for (let i = 0; i < raw.length; i++) {
    const rawLine = raw[i] ?? '';
    const last = i === raw.length - 1 && !truncated;
    if (last && rawLine.length > 0 && lostAtEof(rawLine)) break;
    const line = goTrimSpace(rawLine);
    if (line !== '' && !line.startsWith('#')) lines.push(idLine(i + 1, line));
  }
  return { lines };
}

/** Whether ReadLine's chunks of a final line without a newline end exactly at the end of the file. */
function lostAtEof(line: string): boolean {
  let rest = line.length;
  let at = 0;
  while (rest >= GROUP_READ_CHUNK) {
    // A chunk ending in '\r' gives that byte back (it may start a "\r\n" in the next read).
    const chunk = line.charCodeAt(at + GROUP_READ_CHUNK - 1) === 0x0d ? GROUP_READ_CHUNK - 1 : GROUP_READ_CHUNK;
    at += chunk;
    rest -= chunk;
    if (rest === 0) return true;
  }
  return false;
}

/** Splits USER as GetExecUser does (parseLine on ':': a third field and beyond are ignored). */
export function splitUserSpec(spec: string): { readonly user: string; readonly group: string } {
  const [user = '', group = ''] = spec.split(':');
  return { user, group };
}

/** How one non-empty side of USER (the user against passwd, the group against group) resolves. */
export type SideResult =
  /** `id` as Go's int holds it (truncate with toUint32); `line` is the matching line, if one matched. */
  | { readonly kind: 'id'; readonly id: bigint; readonly line?: IdLine }
  /** runc refuses the spec: the file cannot be read, the name is not in it, or an unlisted numeric id is out of range. */
  | { readonly kind: 'error'; readonly error: 'unreadable' | 'not-found' | 'range' };

/**
 * Resolves a non-empty USER part against its file (undefined: the file does not exist) as
 * GetExecUser does: a number Atoi accepts is an id (the first line with that id, else the
 * number itself within 0–MAX_ID), anything else a name the file must hold (first match wins).
 */
export function resolveSide(arg: string, file: IdFile | undefined): SideResult {
  if (file?.error !== undefined) return { kind: 'error', error: 'unreadable' };
  const numeric = goAtoi(arg);
  if (numeric.ok) {
    const line = file?.lines.find((l) => l.id === numeric.value);
    if (line) return { kind: 'id', id: line.id, line };
    if (numeric.value < 0n || numeric.value > BigInt(MAX_ID)) return { kind: 'error', error: 'range' };
    return { kind: 'id', id: numeric.value };
  }
  const name = byteString(arg);
  const line = file?.lines.find((l) => l.name === name);
  return line ? { kind: 'id', id: line.id, line } : { kind: 'error', error: 'not-found' };
}

/** What GetExecUser returns: the ids as Go ints, or which error it fails with. */
export type ExecUser =
  | { readonly kind: 'ok'; readonly uid: bigint; readonly gid: bigint }
  | { readonly kind: 'error'; readonly error: 'user-not-found' | 'group-not-found' | 'range' | 'passwd-unreadable' };

/**
 * GetExecUser(spec, nil, passwd, group) as a whole (undefined file: it does not exist): the
 * user first (an empty one is uid 0 with the gid of the first passwd line of uid 0), the gid
 * of the user's passwd line unless the group is given, then the group.
 */
export function getExecUser(spec: string, passwd: IdFile | undefined, group: IdFile | undefined): ExecUser {
  const { user, group: groupArg } = splitUserSpec(spec);
  if (passwd?.error !== undefined) return { kind: 'error', error: 'passwd-unreadable' };
  let uid = 0n;
  let gid = 0n;
  if (user === '') {
    gid = passwd?.lines.find((l) => l.id === 0n)?.gid ?? 0n;
  } else {
    const r = resolveSide(user, passwd);
    if (r.kind === 'error') return { kind: 'error', error: r.error === 'range' ? 'range' : 'user-not-found' };
    uid = r.id;
    if (r.line) gid = r.line.gid;
  }
  if (groupArg !== '') {
    const r = resolveSide(groupArg, group);
    if (r.kind === 'error') return { kind: 'error', error: r.error === 'range' ? 'range' : 'group-not-found' };
    gid = r.id;
  }
  return { kind: 'ok', uid, gid };
}
