/**
 * The extended set's filesystem checks (docs/checks.md, "Extended checks: the filesystem"): what
 * Dockle and Trivy ask of an image's files, answered from the files the image really holds (the
 * layers' entries and the final filesystem the storage drivers build), never from the history's
 * command text. Each finding is attributed to the layer that added it, as the 17 checks do.
 */
import type { EntryInfo, EntryMatcher } from '../layer/inspect.js';
import { isUnder } from '../layer/paths.js';
import { fileOutcome, notScannedNote, unscannedText, type Judge } from './findings.js';
import { secretFilesMatcher, type SecretFilesData } from './secret-scan.js';
import type { Check, CheckInput, CheckOutcome, LayerFiles } from './types.js';

/** The data of these checks a policy may tune (docs/checks.md, "Tunable data"). */
export interface FileExtendedData {
  readonly secretFiles?: SecretFilesData;
}

/** One kind of package-manager cache: where its files are, and the directory the report names. */
interface CacheKind {
  readonly id: string;
  readonly label: string;
  /** The rule in words: the matcher's fingerprint (part of the facts' cache key). */
  readonly rule: string;
  /** Whether a regular file belongs to the cache. */
  readonly holds: (path: string, basename: string) => boolean;
  /** The cache directory a kept path is in. */
  readonly root: (path: string) => string;
}

/** The directory `marker` ends in, within `path` (`/root/.cache/pip` for a file below it). */
const rootAt =
  (marker: string) =>
  (path: string): string =>
    path.slice(0, path.indexOf(marker) + marker.length);

/** The caches `package-caches` looks for (Dockle DKL-DI-0004/0005, from the files themselves). */
export const CACHE_KINDS: readonly CacheKind[] = [
  {
    id: 'apt-lists',
    label: 'apt package lists',
    rule: '/var/lib/apt/lists/** but lock, partial/, auxfiles/',
    // `lock`, `partial/` and `auxfiles/` are apt's own working files, there in a clean image too.
    holds: (p, b) =>
      isUnder(p, '/var/lib/apt/lists') &&
      b !== 'lock' &&
      !isUnder(p, '/var/lib/apt/lists/partial') &&
      !isUnder(p, '/var/lib/apt/lists/auxfiles'),
    root: () => '/var/lib/apt/lists',
  },
  {
    id: 'apt-archives',
    label: 'apt package archives and caches',
    rule: '/var/cache/apt/archives/**/*.deb, /var/cache/apt/*.bin',
    holds: (p, b) => (isUnder(p, '/var/cache/apt/archives') && b.endsWith('.deb')) || (p === `/var/cache/apt/${b}` && b.endsWith('.bin')),
    root: () => '/var/cache/apt',
  },
  { id: 'apk', label: 'apk cache', rule: '/var/cache/apk/**', holds: (p) => isUnder(p, '/var/cache/apk'), root: () => '/var/cache/apk' },
  { id: 'yum', label: 'yum cache', rule: '/var/cache/yum/**', holds: (p) => isUnder(p, '/var/cache/yum'), root: () => '/var/cache/yum' },
  { id: 'dnf', label: 'dnf cache', rule: '/var/cache/dnf/**', holds: (p) => isUnder(p, '/var/cache/dnf'), root: () => '/var/cache/dnf' },
  { id: 'pip', label: 'pip cache', rule: '**/.cache/pip/**', holds: (p) => p.includes('/.cache/pip/'), root: rootAt('/.cache/pip') },
  {
    id: 'npm',
    label: 'npm cache',
    rule: '**/.npm/_cacache/**',
    holds: (p) => p.includes('/.npm/_cacache/'),
    root: rootAt('/.npm/_cacache'),
  },
];

/**
 * Whether `e` may be a cache file: every cache is below /var or a dot directory. The recorder
 * hands the same entry to each cache's matcher in turn, so the answer is kept for the last
 * entry: one test per entry rules most of them out for all caches.
 */
const mayBeCache = ((): ((e: EntryInfo) => boolean) => {
  let last: EntryInfo | undefined;
  let answer = false;
  return (e) => {
    if (e !== last) {
      last = e;
      answer = e.type === 'file' && (e.path.startsWith('/var/') || e.path.includes('/.cache/pip/') || e.path.includes('/.npm/_cacache/'));
    }
    return answer;
  };
})();

/** The matcher id of a cache kind. */
const cacheMatcherId = (kind: CacheKind): string => `package-caches:${kind.id}`;

/** `12.3 MiB` */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit] ?? 'TiB'}`;
}

const filesText = (n: number): string => `${n} file${n === 1 ? '' : 's'}`;

/**
 * The layer index of the last layer whose matcher `id` kept `path`, per path: a path several
 * layers write is one finding of the final filesystem, attributed to the last of them.
 */
function lastMatches(input: CheckInput, id: string): Map<string, number> {
  const last = new Map<string, number>();
  input.layers.forEach((layer, index) => {
    for (const p of layer.facts.matches[id] ?? []) last.set(p, index);
  });
  return last;
}

/**
 * Whether the final filesystem shows, in either storage driver's view (fail safe), a `type` at
 * `path` that layer `index` wrote (a regular file's inode records its layer; a directory is
 * the one the layer declared when no later layer declared it again: `lastDir`).
 */
function presentInFinalFs(input: CheckInput, index: number, path: string, type: 'file' | 'dir'): boolean {
  return input.fs.views.some((view) => {
    const r = view.lookup(path, { followLast: false });
    if (r.status !== 'found' || r.node.type !== type) return false;
    return r.node.type !== 'file' || r.node.inode.layer === index;
  });
}

/** A judge for checks of the final filesystem: the finding counts when it is still there, in the last layer that wrote it. */
function finalFsJudge(input: CheckInput, id: string, typeOf: (path: string) => 'file' | 'dir'): Judge {
  const last = lastMatches(input, id);
  return (_layer, index, path) =>
    last.get(path) === index && presentInFinalFs(input, index, path, typeOf(path)) ? { verdict: 'counts' } : { verdict: 'ignored' };
}

/** The fail-safe ending of a check over unscanned layers, as fileOutcome words it. */
function unverifiedOutcome(input: CheckInput, passText: string): CheckOutcome | undefined {
  if (input.notScanned.length === 0 || input.allowUnscannedLayers === true) return undefined;
  return { pass: false, description: `${passText} in the scanned layers, but not verified: ${unscannedText(input)}` };
}

/** `package-caches`: package-manager caches left in the final filesystem, with their size per layer. */
function packageCachesCheck(): Check {
  const passText = 'Package manager caches not found';
  return {
    id: 'package-caches',
    title: 'Checking for package manager caches',
    severity: 'Low',
    mitigation:
      'Remove package manager caches in the layer that made them (apt-get clean and rm -rf /var/lib/apt/lists/*, apk add --no-cache, pip --no-cache-dir, npm cache clean --force)',
    matchers: CACHE_KINDS.map((kind): EntryMatcher => ({
      id: cacheMatcherId(kind),
      fingerprint: `regular files ${kind.rule}`,
      matches: (e: EntryInfo) => mayBeCache(e) && kind.holds(e.path, e.basename),
    })),
    run(input) {
      const files: LayerFiles = [];
      const found: string[] = [];
      const cleaned: string[] = [];
      const seen = new Set<string>();
      for (const [index, layer] of input.layers.entries()) {
        if (seen.has(layer.digest)) continue;
        seen.add(layer.digest);
        const roots = new Set<string>();
        for (const kind of CACHE_KINDS) {
          const id = cacheMatcherId(kind);
          const count = layer.facts.matchCounts[id] ?? 0;
          if (count === 0) continue;
          const kept = layer.facts.matches[id] ?? [];
          const bytes = sizeText(layer.facts.matchBytes[id] ?? 0);
          const present = kept.filter((p) => presentInFinalFs(input, index, p, 'file'));
          const where = [...new Set(kept.map(kind.root))].join(', ');
          if (present.length === 0) {
            cleaned.push(
              `${kind.label} at ${where} added by layer ${layer.digest} (${filesText(count)}, ${bytes}) removed by a later layer, the bytes still in the image's layers`,
            );
            continue;
          }
          for (const p of present) roots.add(kind.root(p));
          const part = present.length < kept.length ? `, ${present.length} of the ${kept.length} files recorded remain` : '';
          found.push(
            `${kind.label} at ${[...new Set(present.map(kind.root))].join(', ')}: ${filesText(count)}, ${bytes} added by layer ${layer.digest}${part}`,
          );
        }
        if (roots.size > 0) files.push({ [layer.digest]: [...roots].sort() });
      }
      const unverified = unverifiedOutcome(input, passText);
      const cleanedNote = cleaned.length > 0 ? ` (${cleaned.join('; ')})` : '';
      if (found.length === 0) return unverified ?? { pass: true, description: passText + cleanedNote + notScannedNote(input) };
      const notVerified = unverified ? ` (not verified: ${unscannedText(input)})` : notScannedNote(input);
      return { pass: false, description: `Found package manager caches (${found.join('; ')})${cleanedNote}${notVerified}`, files };
    },
  };
}

const DOCKERFILE = /^(?:(?:Dockerfile|Containerfile)(?:\.[^/]+)?|[^/]+\.(?:dockerfile|containerfile))$/i;
const COMPOSE = /^(?:docker-)?compose(?:\.[\w-]+)?\.ya?ml$/;
const DEBRIS = new Set(['.DS_Store', 'Thumbs.db']);

/** A base name that starts with d or c or ends in "file" (any case): the only ones DOCKERFILE or COMPOSE can match. */
function mayBeBuildFile(b: string): boolean {
  const first = b.charCodeAt(0) | 0x20;
  if (first === 0x64 || first === 0x63) return true;
  const n = b.length;
  return (
    n > 4 &&
    (b.charCodeAt(n - 4) | 0x20) === 0x66 &&
    (b.charCodeAt(n - 3) | 0x20) === 0x69 &&
    (b.charCodeAt(n - 2) | 0x20) === 0x6c &&
    (b.charCodeAt(n - 1) | 0x20) === 0x65
  );
}

/** Whether `e` is a leftover (docs/checks.md): build files, a repository, a user's cloud or SSH settings, editor and OS debris. */
function isLeftover(e: EntryInfo): boolean {
  if (e.type === 'dir') return e.basename === '.git';
  if (e.type !== 'file') return false;
  const { basename: b, path } = e;
  if (DEBRIS.has(b) || b.endsWith('.swp') || (mayBeBuildFile(b) && (DOCKERFILE.test(b) || COMPOSE.test(b)))) return true;
  if (!path.includes('/.')) return false;
  // A .git directory that has no entry of its own (a tar may omit it) still has its HEAD.
  if (path.endsWith('/.git/HEAD')) return true;
  // authorized_keys lets a key in: it is the image's purpose when present, not a leftover.
  if (/\/\.ssh\/[^/]+$/.test(path)) return b !== 'authorized_keys' && b !== 'authorized_keys2';
  return /\/\.aws\/[^/]+$/.test(path);
}

/** `leftover-files`: files of the build or of a developer's machine left in the final filesystem (Dockle DKL-LI-0003). */
function leftoverFilesCheck(): Check {
  const id = 'leftover-files';
  return {
    id,
    title: 'Checking for leftover build and editor files',
    severity: 'Low',
    mitigation:
      'Keep build files, repositories, credentials directories and editor files out of the image (.dockerignore, a multi-stage build copying only what runs)',
    matcher: {
      id,
      fingerprint: `dir .git, ${DOCKERFILE.source}, ${COMPOSE.source}, */.git/HEAD, */.ssh/* but authorized_keys, */.aws/*, *.swp, .DS_Store, Thumbs.db`,
      matches: isLeftover,
    },
    run: (input) => {
      const dirs = new Set(input.layers.flatMap((l) => (l.facts.matches[id] ?? []).filter((p) => p.endsWith('/.git'))));
      return fileOutcome(input, id, 'Leftover build, repository and editor files not found', {
        judge: finalFsJudge(input, id, (p) => (dirs.has(p) ? 'dir' : 'file')),
      });
    },
  };
}

/** Trees `world-writable` does not judge: the runtime mounts its own /proc, /sys and /dev over them, and below /tmp and /var/tmp writing is their purpose. */
const WRITABLE_SKIPPED = ['/proc', '/sys', '/dev'];
const TEMP_DIRS = ['/tmp', '/var/tmp'];

/** Whether `e` is writable by any user: a regular file (or a hard link, whose mode is the inode's) with o+w, a directory with o+w and no sticky bit. */
function isWorldWritable(e: EntryInfo): boolean {
  if ((e.mode & 0o002) === 0) return false;
  if (e.type === 'dir' ? (e.mode & 0o1000) !== 0 : e.type !== 'file' && e.type !== 'hardlink') return false;
  if (WRITABLE_SKIPPED.some((d) => isUnder(e.path, d))) return false;
  return !TEMP_DIRS.some((d) => e.path !== d && isUnder(e.path, d));
}

/** `world-writable`: files and directories any user may change, as the final filesystem has them (CIS hardening). */
function worldWritableCheck(): Check {
  const id = 'world-writable';
  return {
    id,
    title: 'Checking for world-writable files',
    severity: 'Medium',
    mitigation:
      'Remove write permission for others (chmod o-w) in the layer that adds the file, or give a shared directory the sticky bit (chmod +t)',
    matcher: {
      id,
      fingerprint: 'mode & 0o002 on a file or hard link, or on a dir without 0o1000; not under /proc /sys /dev, nor below /tmp /var/tmp',
      matches: isWorldWritable,
    },
    run: (input) => {
      const candidates = new Set(input.layers.flatMap((l) => l.facts.matches[id] ?? []));
      // A directory's mode is its last entry's (the runtime chmods an existing directory to each entry's mode).
      const lastDir = new Map<string, number>();
      input.layers.forEach((layer, index) => {
        for (const op of layer.facts.ops) if (op.op === 'dir' && candidates.has(op.path)) lastDir.set(op.path, index);
      });
      const last = lastMatches(input, id);
      const judge: Judge = (_layer, index, path) => {
        if (last.get(path) !== index) return { verdict: 'ignored' };
        const isDir = lastDir.has(path);
        if (isDir)
          return lastDir.get(path) === index && presentInFinalFs(input, index, path, 'dir')
            ? { verdict: 'counts' }
            : { verdict: 'ignored' };
        const writable = input.fs.views.some((view) => {
          const r = view.lookup(path, { followLast: false });
          return r.status === 'found' && r.node.type === 'file' && (r.node.inode.mode & 0o002) !== 0;
        });
        return writable ? { verdict: 'counts' } : { verdict: 'ignored' };
      };
      return fileOutcome(input, id, 'World-writable files and directories not found', { judge });
    },
  };
}

/** `secret-files`: files that hold credentials, in any layer: a secret a later layer deletes is still in the image. */
function secretFilesCheck(data: SecretFilesData = {}): Check {
  const id = 'secret-files';
  return {
    id,
    title: 'Checking for files holding secrets',
    severity: 'Critical',
    mitigation:
      'Never copy credentials into a layer, even to delete them later: use build secrets (RUN --mount=type=secret) and revoke every credential reported here',
    matcher: secretFilesMatcher(id, data),
    run: (input) =>
      fileOutcome(input, id, 'Files holding secrets not found', {
        describe: (layer, path) => {
          const details = layer.facts.details[id]?.[path];
          return details && details.length > 0 ? `${path}: ${details.join(', ')}` : undefined;
        },
      }),
  };
}

/** The extended filesystem checks, in report order, built from a policy's data. */
export function createFileExtendedChecks(data: FileExtendedData = {}): Check[] {
  return [packageCachesCheck(), leftoverFilesCheck(), worldWritableCheck(), secretFilesCheck(data.secretFiles)];
}

/** The extended filesystem checks with the default data; the extended set lists them after its own. */
export const FILE_EXTENDED_CHECKS: readonly Check[] = createFileExtendedChecks();
