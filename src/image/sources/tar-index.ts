/**
 * An index of a plain tar file's members (name → byte range), built by reading only the
 * 512-byte headers, so that an archive's blobs can be streamed straight from the file without
 * extracting anything (SPEC §1: no extraction to disk). Understands ustar prefixes, PAX `path`
 * / `size` records and GNU long names — the forms `docker save`, podman and skopeo write.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { OciScanError } from '../../errors.js';
import { normalisePath, resolveLinkTarget } from '../../layer/paths.js';

/** A member's content range in the archive file. */
export interface TarMember {
  readonly offset: number;
  readonly size: number;
}

/** Archive members allowed: far above any real image archive, bounded against hostile files. */
const MAX_MEMBERS = 1_000_000;
const MAX_META_BYTES = 1024 * 1024;

function readString(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end < 0 || end > start + length ? start + length : end);
}

function readNumber(block: Buffer, start: number, length: number): number {
  if ((block[start] ?? 0) & 0x80) {
    // GNU base-256 for sizes ≥ 8 GiB.
    let value = 0;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + (block[i] ?? 0);
    return value;
  }
  const text = readString(block, start, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += block[i] ?? 0;
  for (let i = 156; i < 512; i++) sum += block[i] ?? 0;
  return sum === readNumber(block, 148, 8);
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.toString('ascii', pos, space), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** Indexes the members of a plain tar file (paths normalised without the leading `/`). */
export async function indexTar(file: string, what: string): Promise<Map<string, TarMember>> {
  const fh = await open(file, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    const head = await readAt(fh, 0, 2);
    if (head[0] === 0x1f && head[1] === 0x8b) {
      throw new OciScanError('SOURCE_UNREADABLE', `${what} is gzip-compressed: decompress it first (gunzip), oci-scan reads plain tar archives in place`);
    }
    const members = new Map<string, TarMember>();
    let pos = 0;
    let longName: string | undefined;
    let longLinkName: string | undefined;
    const links = new Map<string, string>();
    let pax: Record<string, string> = {};
    while (pos + 512 <= fileSize) {
      const block = await readAt(fh, pos, 512);
      if (block.every((b) => b === 0)) break;
      if (!checksumOk(block)) throw new OciScanError('SOURCE_UNREADABLE', `${what} is not a tar archive (bad header at byte ${pos}): is the path right?`);
      const type = String.fromCharCode(block[156] ?? 0x30);
      const size = pax['size'] !== undefined ? Number(pax['size']) : readNumber(block, 124, 12);
      // Found by test/fuzz/streams.test.ts: a PAX `size` of "NaN", "-1536" or "1.5" (or a
      // garbage octal field) gave a member of size NaN, a RangeError, or moved `pos` backwards
      // into an endless loop. A size must be a non-negative whole number of bytes.
      if (!Number.isSafeInteger(size) || size < 0) throw new OciScanError('SOURCE_UNREADABLE', `${what} is not a valid tar archive (bad member size at byte ${pos}): is the path right?`);
      const dataStart = pos + 512;
      if (dataStart + size > fileSize) throw new OciScanError('SOURCE_UNREADABLE', `${what} is truncated (a member runs past the end of the file)`);
      pos = dataStart + Math.ceil(size / 512) * 512;
      // 'K' (GNU long link name) is metadata too: it used to be taken for a member, which
      // reset a pending 'L' long name (GNU tar may write L before K).
      if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
        if (size > MAX_META_BYTES) throw new OciScanError('SOURCE_UNREADABLE', `${what} has an oversized tar metadata record`);
        const data = await readAt(fh, dataStart, size);
        if (type === 'x') pax = paxRecords(data);
        if (type === 'L') longName = readString(data, 0, data.length);
        if (type === 'K') longLinkName = readString(data, 0, data.length);
        continue;
      }
      const prefix = readString(block, 345, 155);
      // The prefix field is POSIX ustar's (magic "ustar\0"); old GNU headers ("ustar  ") keep
      // atime/ctime there, which must not be glued in front of the name.
      const ustar = block.toString('binary', 257, 263) === 'ustar\0';
      const name = pax['path'] ?? longName ?? (ustar && prefix ? `${prefix}/${readString(block, 0, 100)}` : readString(block, 0, 100));
      const linkName = pax['linkpath'] ?? longLinkName ?? readString(block, 157, 100);
      pax = {};
      longName = undefined;
      longLinkName = undefined;
      if (type === '0' || type === '\0' || type === '7') {
        members.set(normalisePath(name).slice(1), { offset: dataStart, size });
        links.delete(normalisePath(name).slice(1));
        if (members.size > MAX_MEMBERS) throw new OciScanError('SOURCE_UNREADABLE', `${what} has more than ${MAX_MEMBERS} members: not an image archive`);
      } else if (type === '1' || type === '2') {
        // Fix: `docker save` (classic layout) writes a layer that two image ids share once and
        // makes the other `<id>/layer.tar` a symlink to `../<first id>/layer.tar`; such links
        // used to be dropped, so the image was reported as incomplete.
        const path = normalisePath(name).slice(1);
        const target = type === '2' ? resolveLinkTarget('/' + path, linkName).slice(1) : normalisePath(linkName).slice(1);
        links.set(path, target);
        members.delete(path);
      }
    }
    for (const [path, target] of links) {
      let resolved: string | undefined = target;
      for (let hops = 0; resolved !== undefined && !members.has(resolved) && hops < 40; hops++) resolved = links.get(resolved);
      const member = resolved === undefined ? undefined : members.get(resolved);
      if (member) members.set(path, member);
    }
    return members;
  } finally {
    await fh.close();
  }
}
