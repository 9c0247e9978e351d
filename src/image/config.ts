/**
 * The image configuration blob (OCI image config / Docker image JSON), read as the runtimes
 * read it (docs/architecture.md "Reading JSON as the runtimes do"): decoded with Go's
 * encoding/json semantics (./go-json.ts) into each runtime's own struct, then the union of
 * what the runtimes that accept it see. Only the fields oci-scan reads are typed.
 */
import { OciScanError } from '../errors.js';
import { Go, GoJsonError, goRefusal, parseGoJson, setOwn, tryDecodeGo, type GoValue } from './go-json.js';
import type { Platform } from './platform.js';

/** A config's HEALTHCHECK (Docker and containers/image only; OCI's config has none). */
export interface HealthConfig {
  Test?: string[];
  Interval: number;
  Timeout: number;
  StartPeriod: number;
  Retries: number;
}

/** The runtime part of an image config (`config` key). */
export interface RuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown> | null;
  Labels?: Record<string, string> | null;
  Entrypoint?: string[] | string | null;
  Cmd?: string[] | string | null;
  Env?: string[] | null;
  WorkingDir?: string;
  Volumes?: Record<string, unknown> | null;
  Healthcheck?: HealthConfig | null;
}

/** One `history` entry. */
export interface HistoryEntry {
  /** RFC 3339; '' (docker's zero time) or null/absent (image-spec's nil pointer) when the entry gives none. */
  created?: string | null;
  created_by: string;
  author: string;
  comment: string;
  empty_layer: boolean;
}

/** An image config document. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  config?: RuntimeConfig | null;
  /** `diff_ids` absent when the document gives none or `null` (an image without layers). */
  rootfs?: { type: string; diff_ids?: string[] };
  history?: HistoryEntry[];
}

const stringSlice = Go.slice(Go.string);
const stringSet = Go.map(Go.empty);

/** image-spec v1 `ImageConfig`. */
const OCI_RUNTIME_CONFIG = Go.struct('v1.ImageConfig', [
  ['User', Go.string],
  ['ExposedPorts', stringSet],
  ['Env', stringSlice],
  ['Entrypoint', stringSlice],
  ['Cmd', stringSlice],
  ['Volumes', stringSet],
  ['WorkingDir', Go.string],
  ['Labels', Go.map(Go.string)],
  ['-StopSignal', Go.string],
  ['-ArgsEscaped', Go.bool],
]);

const OCI_HISTORY = Go.struct('v1.History', [
  ['created', Go.pointer(Go.time)],
  ['created_by', Go.string],
  ['author', Go.string],
  ['comment', Go.string],
  ['empty_layer', Go.bool],
]);

/**
 * image-spec v1 `Image` (Debian's 1.1.0~rc2): what containerd (so Kubernetes and Docker's
 * containerd image store) and podman's runtime settings (containers/image `OCIConfig`) read.
 */
export const OCI_IMAGE_SHAPE = Go.struct('v1.Image', [
  ['-created', Go.pointer(Go.time)],
  ['-author', Go.string],
  ['architecture', Go.string],
  ['variant', Go.string],
  ['os', Go.string],
  ['-os.version', Go.string],
  ['-os.features', stringSlice],
  ['config', OCI_RUNTIME_CONFIG],
  [
    'rootfs',
    Go.struct('v1.RootFS', [
      ['type', Go.string],
      ['diff_ids', stringSlice],
    ]),
  ],
  ['history', Go.slice(OCI_HISTORY)],
]);

/** docker's `container.Config` = containers/image's `Schema2Config` (same fields and types). */
const DOCKER_RUNTIME_CONFIG = Go.struct('container.Config', [
  ['-Hostname', Go.string],
  ['-Domainname', Go.string],
  ['User', Go.string],
  ['-AttachStdin', Go.bool],
  ['-AttachStdout', Go.bool],
  ['-AttachStderr', Go.bool],
  ['ExposedPorts', stringSet],
  ['-Tty', Go.bool],
  ['-OpenStdin', Go.bool],
  ['-StdinOnce', Go.bool],
  ['Env', stringSlice],
  ['Cmd', Go.strSlice],
  [
    'Healthcheck',
    Go.pointer(
      Go.struct('container.HealthConfig', [
        ['Test', stringSlice],
        ['Interval', Go.int64],
        ['Timeout', Go.int64],
        ['StartPeriod', Go.int64],
        ['Retries', Go.int64],
      ]),
    ),
  ],
  ['-ArgsEscaped', Go.bool],
  ['-Image', Go.string],
  ['Volumes', stringSet],
  ['WorkingDir', Go.string],
  ['Entrypoint', Go.strSlice],
  ['-NetworkDisabled', Go.bool],
  ['-MacAddress', Go.string],
  ['-OnBuild', stringSlice],
  ['Labels', Go.map(Go.string)],
  ['-StopSignal', Go.string],
  ['-StopTimeout', Go.pointer(Go.int64)],
  ['-Shell', Go.strSlice],
]);

const DOCKER_HISTORY = Go.struct('image.History', [
  ['created', Go.time],
  ['author', Go.string],
  ['created_by', Go.string],
  ['comment', Go.string],
  ['empty_layer', Go.bool],
]);

/**
 * docker's `image.Image` (V1Image's fields first, its `parent` hidden by Image's) =
 * containers/image's `Schema2Image`: what `docker pull`/`docker load` and podman's
 * `Inspect` (HEALTHCHECK) read. Docker (image.NewFromJSON) and containers/image's
 * docker-archive reader also refuse a config without `rootfs` (see DOCKER_NEEDS_ROOTFS).
 */
export const DOCKER_IMAGE_SHAPE = Go.struct('image.Image', [
  ['-id', Go.string],
  ['-comment', Go.string],
  ['-created', Go.time],
  ['-container', Go.string],
  ['-container_config', DOCKER_RUNTIME_CONFIG],
  ['-docker_version', Go.string],
  ['-author', Go.string],
  ['config', Go.pointer(DOCKER_RUNTIME_CONFIG)],
  ['architecture', Go.string],
  ['variant', Go.string],
  ['os', Go.string],
  ['-Size', Go.int64],
  ['-parent', Go.string],
  [
    'rootfs',
    Go.pointer(
      Go.struct('image.RootFS', [
        ['type', Go.string],
        ['diff_ids', stringSlice],
      ]),
    ),
  ],
  ['history', Go.slice(DOCKER_HISTORY)],
  ['-os.version', Go.string],
  ['-os.features', stringSlice],
]);

/** What each runtime's reading of a config gives: its view, or undefined where it refuses. */
export interface ConfigViews {
  /** image-spec v1.Image: containerd, Kubernetes, podman's runtime settings. */
  readonly oci: ImageConfig | undefined;
  /** containers/image Schema2Image: podman's inspect (no rootfs needed). */
  readonly schema2: ImageConfig | undefined;
  /** docker's image.Image plus image.NewFromJSON's rule: no `rootfs` (or `null`) is refused. */
  readonly docker: ImageConfig | undefined;
}

/** The views of a parsed config document. */
export function configViews(doc: GoValue): ConfigViews {
  const oci = tryDecodeGo<ImageConfig>(doc, OCI_IMAGE_SHAPE);
  const schema2 = tryDecodeGo<ImageConfig>(doc, DOCKER_IMAGE_SHAPE);
  return { oci, schema2, docker: schema2?.rootfs === undefined ? undefined : schema2 };
}

/**
 * The config the checks see: the union of the views of the runtimes that run the image
 * (docker; containerd and podman through the OCI struct). Where they differ on a field a check
 * reads, the value that fails the check wins (docs/architecture.md): the user `''` (root),
 * every port any of them exposes, the labels all of them have, an empty ENTRYPOINT/CMD.
 * They can differ only where a pointer and a struct read `null` differently (`"config": null`
 * after a config: docker sees none, OCI keeps the first) and where a reused slice keeps an
 * element that `null` does not overwrite.
 */
export function unionConfig(views: readonly ImageConfig[]): ImageConfig | undefined {
  const [first, ...others] = views;
  if (first === undefined || others.length === 0) return first;
  const runtimes = views.map((v) => v.config ?? {});
  const base = first.config ?? {};
  const user = runtimes.some((c) => (c.User ?? '') === '') ? '' : (base.User ?? '');
  const ports: Record<string, unknown> = {};
  for (const c of runtimes) for (const port of Object.keys(c.ExposedPorts ?? {})) setOwn(ports, port, {});
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(base.Labels ?? {})) {
    const all = runtimes.map((c) => (c.Labels && Object.hasOwn(c.Labels, key) ? c.Labels[key] : undefined));
    if (all.some((v) => v === undefined)) continue;
    const blank = all.find((v) => (v ?? '').trim() === '');
    setOwn(labels, key, blank ?? value);
  }
  const emptiest = (pick: (c: RuntimeConfig) => RuntimeConfig['Cmd']): RuntimeConfig['Cmd'] => {
    const lists = runtimes.map(pick);
    const empty = lists.findIndex((l) => l === undefined || l === null || l.length === 0);
    return lists[empty < 0 ? 0 : empty];
  };
  const config: RuntimeConfig = { ...base, User: user, ExposedPorts: ports, Labels: labels };
  const entrypoint = emptiest((c) => c.Entrypoint);
  const cmd = emptiest((c) => c.Cmd);
  if (entrypoint) config.Entrypoint = entrypoint;
  else delete config.Entrypoint;
  if (cmd) config.Cmd = cmd;
  else delete config.Cmd;
  return { ...first, config };
}

/**
 * Parses an image config as the runtimes do; throws `INVALID_CONFIG` with `what` in the
 * message when none of them would accept it (bad JSON, or a value its field cannot hold in
 * every runtime's struct).
 */
export function parseConfig(bytes: Uint8Array | string, what: string): ImageConfig {
  let doc: GoValue;
  try {
    doc = parseGoJson(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
  } catch (err) {
    if (!(err instanceof GoJsonError)) throw err;
    throw new OciScanError('INVALID_CONFIG', `${what} is not valid JSON (${err.message}): the image is damaged or not an OCI/Docker image`);
  }
  const views = configViews(doc);
  const accepted = [views.docker, views.oci].filter((v): v is ImageConfig => v !== undefined);
  const config = unionConfig(accepted);
  if (config === undefined)
    throw new OciScanError('INVALID_CONFIG', `${what} is invalid: ${goRefusal(doc, OCI_IMAGE_SHAPE)}; no container runtime would read it`);
  return config;
}

/** The platform a config declares (`os`, `architecture`, `variant`), if it declares one. */
export function platformOfConfig(config: ImageConfig): Platform | undefined {
  if (!config.os || !config.architecture) return undefined;
  return config.variant
    ? { os: config.os, architecture: config.architecture, variant: config.variant }
    : { os: config.os, architecture: config.architecture };
}
