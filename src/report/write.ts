/**
 * Writing report files: into the reports directory (created if missing, never emptied — the
 * original deleted it), atomically (temp file in the same directory + rename), one file per
 * image named `<name>_<tag>-compliance.json` (SPEC §2).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OciScanError } from '../errors.js';
import { formatPlatform, type Platform } from '../image/platform.js';
import type { ImageName } from '../image/types.js';

/** A file-name-safe version of a name part (no separators, no control characters, no dot-only names). */
function safePart(part: string): string {
  const cleaned = part.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^\.+/, '_');
  return cleaned.slice(0, 100) || '_';
}

/** `<name>_<tag>-compliance.json`; `sha256-<12 hex>` stands for the tag of a digest-only image; a platform suffix when scanning several. */
export function reportFileName(name: ImageName, fallbackDigest: string, platform?: Platform): string {
  const digest = name.digest ?? fallbackDigest;
  const tag = name.tag ?? `${digest.split(':')[0] ?? 'sha256'}-${(digest.split(':')[1] ?? '').slice(0, 12)}`;
  const suffix = platform ? `_${formatPlatform(platform).replace(/\//g, '-')}` : '';
  return `${safePart(name.name)}_${safePart(tag)}${suffix}-compliance.json`;
}

/** Creates the reports directory if needed; throws REPORT_WRITE with what to do. */
export async function ensureReportsDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    // A recursive mkdir on a read-only file system says ENOENT; a plain one names the cause (EROFS).
    const code = await mkdir(dir).then(
      () => undefined,
      (plain: NodeJS.ErrnoException) => plain.code,
    );
    const reason = code && code !== 'ENOENT' ? code : ((err as NodeJS.ErrnoException).code ?? String(err));
    throw new OciScanError('REPORT_WRITE', `cannot create the reports directory ${dir}: ${reason}; set COMPLIANCE_REPORTS_DIR or --reports-dir to a writable directory`, { cause: err });
  }
}

/** Writes `content` to `dir/file` atomically. Returns the path written. */
export async function writeReportFile(dir: string, file: string, content: string): Promise<string> {
  await ensureReportsDir(dir);
  const target = join(dir, file);
  const temp = join(dir, `.${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, content, { mode: 0o644, flag: 'wx' });
    await rename(temp, target);
    return target;
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new OciScanError('REPORT_WRITE', `cannot write the report ${target}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; check that the reports directory is writable and the disk is not full`, { cause: err });
  }
}
