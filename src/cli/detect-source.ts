/**
 * A bare path as IMAGE (`./app.tar`, `/data/layout`, `../out`): when it exists on disk, the
 * transport is read from its content — a directory with an `oci-layout` file is an OCI layout,
 * a tar with `manifest.json` is a docker archive (`docker save`, which since Docker 25 also
 * writes an OCI layout: the docker view keeps its RepoTags), a tar with `oci-layout` and
 * `index.json` an OCI archive. A compressed archive (gzip, zstd, xz, bzip2) is read through
 * once for its member names (stopping at `manifest.json`). Only inputs that start like a path
 * are looked at: `alpine` stays a registry reference even when a directory of that name exists.
 */
import { stat } from 'node:fs/promises';
import { sniffFile } from '../layer/decompress.js';
import { compressedMemberNames } from '../sources/stream-store.js';
import { indexTar } from '../sources/tar-index.js';
import { OciScanError } from '../errors.js';

/** The member names of an archive file, plain or compressed. */
async function memberNames(file: string): Promise<ReadonlySet<string>> {
  const kind = await sniffFile(file);
  if (kind === 'none') return new Set((await indexTar(file, file)).keys());
  return compressedMemberNames(file, file, kind, (names) => names.has('manifest.json'));
}

/** Whether `input` is written as a file system path rather than a reference. */
export function looksLikePath(input: string): boolean {
  return /^(\.{1,2}(\/|$)|\/)/.test(input);
}

/** The form that scans the local `path`, from what it is (a layout directory, an archive): `oci:./x`, `./app.tar`. */
async function localForm(path: string, tag?: string): Promise<string | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return undefined;
  const shown = looksLikePath(path) ? path : `./${path}`;
  if (st.isDirectory())
    return (await stat(`${path}/oci-layout`).then(
      (s) => s.isFile(),
      () => false,
    ))
      ? `oci:${shown}${tag !== undefined ? `:${tag}` : ''}`
      : undefined;
  return st.isFile() ? shown : undefined;
}

/**
 * A hint for an IMAGE that failed: a bare name that is also a local file or OCI layout here
 * (`app.tar`, `layout`) was taken as a registry reference; a path with a tag (`/tmp/layout:1.0`)
 * names a layout without its transport. Undefined when neither applies.
 */
export async function localSourceHint(input: string): Promise<string | undefined> {
  if (/^(oci|oci-archive|docker-archive|docker):/.test(input)) return undefined;
  if (!looksLikePath(input)) {
    const form = await localForm(input);
    return form
      ? `"${input}" is also ${form.startsWith('oci:') ? 'an OCI layout' : 'a file'} here, but a bare name is a registry reference: to scan the local one, run oci-scan ${form}`
      : undefined;
  }
  const tagged = /^(.*[^/]):([\w][\w.-]{0,127})$/.exec(input);
  const form = tagged?.[1] !== undefined ? await localForm(tagged[1], tagged[2]) : undefined;
  return form?.startsWith('oci:')
    ? `${tagged?.[1] ?? ''} is an OCI layout: to scan its tag ${tagged?.[2] ?? ''}, run oci-scan ${form}`
    : undefined;
}

/** `input` with its transport (`docker-archive:./app.tar`), and the note that says so; `input` unchanged when it is no bare path on disk. */
export async function detectSource(input: string): Promise<{ readonly image: string; readonly note?: string }> {
  if (!looksLikePath(input)) return { image: input };
  const st = await stat(input).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error) {
    if (st.code === 'ENOENT')
      throw new OciScanError(
        'SOURCE_NOT_FOUND',
        `${input} does not exist: give the path of an OCI layout directory or an image archive, or a registry reference without ./ or /`,
      );
    return { image: input };
  }
  const named = (transport: string, what: string): { image: string; note: string } => ({
    image: `${transport}:${input}`,
    note: `${input} is ${what}: scanning ${transport}:${input}`,
  });
  if (st.isDirectory()) {
    if (
      await stat(`${input}/oci-layout`).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return named('oci', 'an OCI layout');
    throw new OciScanError(
      'SOURCE_UNREADABLE',
      `${input} is a directory without an oci-layout file: give an OCI layout (oci:DIR), or a docker-archive:FILE / oci-archive:FILE`,
    );
  }
  let members: ReadonlySet<string>;
  try {
    members = await memberNames(input);
  } catch {
    throw new OciScanError(
      'SOURCE_UNREADABLE',
      `${input} is not a tar archive (plain, gzip, zstd, xz or bzip2) oci-scan can recognise: name its transport, docker-archive:${input} or oci-archive:${input}`,
    );
  }
  if (members.has('manifest.json')) return named('docker-archive', 'a docker archive');
  if (members.has('oci-layout') && members.has('index.json')) return named('oci-archive', 'an OCI archive');
  throw new OciScanError(
    'SOURCE_UNREADABLE',
    `${input} is a tar archive with neither manifest.json (docker archive) nor oci-layout and index.json (OCI archive): is it an image archive?`,
  );
}
