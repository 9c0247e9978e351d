/**
 * An index of a plain tar file's members (name → byte range), read with Go's archive/tar
 * semantics (src/layer/tar/reader.ts) — the reader `docker load`, podman and skopeo open
 * archives with — from the headers alone: the reader says which bytes are member data and
 * those are skipped by seeking, so a multi-GiB archive costs a few reads per member and
 * nothing is extracted. Members then stream straight from the file.
 *
 * An archive the runtimes could read in different ways is refused (docs/security.md,
 * threat "Ambiguous archive"): a name that appears twice (podman reads the first copy, `docker load`
 * extracts the last) and a `manifest.json` / `index.json` that is a link.
 */
import { open } from 'node:fs/promises';
import { OciScanError } from '../errors.js';
import { normalisePath, resolveLinkTarget } from '../layer/paths.js';
import { TarFormatError, TarReader, type EntrySink, type TarHandler, type TarHeader } from '../layer/tar/reader.js';

/** A member's content range in the archive (the tar stream, once decompressed). */
export interface TarMember {
  readonly offset: number;
  readonly size: number;
  /** A GNU/PAX sparse file: its data has holes, so it cannot be served as a byte range. */
  readonly sparse?: boolean;
}

/** Archive members allowed: far above any real image archive, bounded against hostile files. */
const MAX_MEMBERS = 1_000_000;
/** Read size while walking headers; member data is skipped, not read. */
const READ_CHUNK = 64 * 1024;
/** Top-level documents a runtime reads first: a link there could point it anywhere. */
const ENTRY_DOCUMENTS = new Set(['manifest.json', 'index.json']);

/** The member name as runtimes compare it: `./a//b` and `/a/b` are `a/b`. */
export function memberName(name: string): string {
  return normalisePath(name).slice(1);
}

/**
 * The members of an archive, collected from Go-semantics headers: regular files with their
 * byte ranges, links resolved to the member they lead to (`docker save` stores a layer that two
 * image ids share once and links the other `<id>/layer.tar` to it), ambiguity refused.
 */
export class MemberIndex implements TarHandler {
  readonly #what: string;
  readonly #members = new Map<string, TarMember>();
  readonly #links = new Map<string, string>();
  /** Every name seen, with whether it was a directory. */
  readonly #seen = new Map<string, boolean>();

  constructor(what: string) {
    this.#what = what;
  }

  /** Records one entry; a subclass may return a sink for its content. */
  entry(header: TarHeader): EntrySink | undefined {
    if (header.typeflag === 'g') return undefined;
    const name = memberName(header.name);
    if (name === '') return undefined;
    const isDir = header.typeflag === '5';
    const earlier = this.#seen.get(name);
    if (earlier !== undefined && !(earlier && isDir)) {
      throw new OciScanError(
        'INVALID_MANIFEST',
        `${this.#what} holds two members named ${name}: podman reads the first, docker load the last; refusing an ambiguous archive (write it again with docker save, podman save or skopeo copy)`,
      );
    }
    this.#seen.set(name, isDir);
    if (this.#seen.size > MAX_MEMBERS)
      throw new OciScanError('SOURCE_UNREADABLE', `${this.#what} has more than ${MAX_MEMBERS} members: not an image archive`);
    switch (header.typeflag) {
      case '0':
      case '7':
        this.#members.set(name, { offset: header.dataOffset, size: header.dataSize, ...(header.sparse ? { sparse: true } : {}) });
        return this.member(name, header);
      case '1':
      case '2':
        if (ENTRY_DOCUMENTS.has(name)) {
          throw new OciScanError(
            'INVALID_MANIFEST',
            `${name} in ${this.#what} is a ${header.typeflag === '2' ? 'symbolic' : 'hard'} link to ${JSON.stringify(header.linkname)}: runtimes may read different files through it; refusing an ambiguous archive`,
          );
        }
        // A hard link names a member by its archive path; a symlink is relative to its directory.
        this.#links.set(
          name,
          header.typeflag === '2' ? resolveLinkTarget('/' + name, header.linkname).slice(1) : memberName(header.linkname),
        );
        return undefined;
      default:
        return undefined;
    }
  }

  /** Hook for a regular member: the sink for its content, if the subclass wants it. */
  protected member(_name: string, _header: TarHeader): EntrySink | undefined {
    return undefined;
  }

  /** The name a path leads to through links (itself when it is a member), or undefined. */
  resolve(path: string): string | undefined {
    let name: string | undefined = path;
    for (let hops = 0; name !== undefined && !this.#members.has(name) && hops < 40; hops++) name = this.#links.get(name);
    return name !== undefined && this.#members.has(name) ? name : undefined;
  }

  /** A member by path (through links). */
  get(path: string): TarMember | undefined {
    const name = this.resolve(memberName(path));
    return name === undefined ? undefined : this.#members.get(name);
  }

  /** Every readable path (members and links that lead to one) → its member. */
  members(): Map<string, TarMember> {
    const out = new Map(this.#members);
    for (const path of this.#links.keys()) {
      const member = this.get(path);
      if (member) out.set(path, member);
    }
    return out;
  }
}

/** A one-line error for a tar the reader refused. */
export function tarError(err: unknown, what: string): unknown {
  if (!(err instanceof TarFormatError)) return err;
  const truncated = /unexpected end/.test(err.message);
  return new OciScanError(
    'SOURCE_UNREADABLE',
    truncated
      ? `${what} is truncated (${err.message}): copy or export the archive again`
      : `${what} is not a tar archive (${err.message}): is the path right?`,
    { cause: err },
  );
}

/** The members of a plain tar file (paths without the leading `/`; links resolved). */
export async function indexTar(file: string, what: string): Promise<Map<string, TarMember>> {
  return (await readTarIndex(file, what)).members();
}

/** Indexes a plain tar file, reading headers and seeking past member data. */
export async function readTarIndex(file: string, what: string): Promise<MemberIndex> {
  const index = new MemberIndex(what);
  const reader = new TarReader(index);
  const fh = await open(file, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let pos = 0;
    while (!reader.done && pos < fileSize) {
      const skippable = reader.skippable;
      if (skippable > 0) {
        const n = Math.min(skippable, fileSize - pos);
        reader.skip(n);
        pos += n;
        continue;
      }
      const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, fileSize - pos), pos);
      if (bytesRead === 0) break;
      // The reader copies what it keeps across calls, so the buffer can be reused.
      reader.write(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    reader.end();
    return index;
  } catch (err) {
    throw tarError(err, what);
  } finally {
    await fh.close();
  }
}
