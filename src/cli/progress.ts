/**
 * Download progress on stderr (docs/usage.md "Progress"). On a terminal: per image a line with the
 * whole image (layers done of all, bytes of its total, time since it started), then one line per
 * layer being read (image, layer, bytes of total, speed), redrawn at most 10 times a second and erased
 * before any other line is written — `beforeOutput()` is called by every writer of the CLI
 * (src/cli/output.ts), so that an error or a report line never lands glued to a progress line.
 * Not on a terminal (CI logs): one line per layer read, and one line per image every 30
 * seconds while its layers are still downloading (`perf/big: 180 MiB of 283 MiB, 12 MiB/s`).
 * The clock and the stream are injected: tests drive both.
 */
import { escapeForTerminal } from '../report/formats/terminal.js';

/** `--progress`: auto (tty on a terminal, else plain), tty, plain, none. */
export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'none'] as const;
/** A `--progress` value. */
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Where progress goes and what time it is. */
export interface ProgressSink {
  write(text: string): void;
  /** Milliseconds, monotonic. */
  now(): number;
}

/** Events of a run's downloads. */
export interface ProgressReporter {
  /** `bytes` more of layer `digest` (of `size` bytes) of `image` (whose layers total `imageSize` bytes) were read. */
  bytes(image: string, digest: string, size: number, bytes: number, imageSize?: number): void;
  /** Layer `digest` of `image` is read, or (`cached`) its facts came from the cache (`done` of `total` layers of the image). */
  layerDone(image: string, digest: string, done: number, total: number, cached?: boolean): void;
  /** Erases what is on screen; the next event draws again. */
  beforeOutput(): void;
}

/** Terminal redraws at most every 100 ms (10 per second). */
export const TTY_INTERVAL_MS = 100;
/** Plain mode prints an image's totals at most every 30 s. */
export const PLAIN_INTERVAL_MS = 30_000;

interface LayerState {
  readonly image: string;
  readonly digest: string;
  readonly size: number;
  read: number;
  readonly started: number;
}

/** `12.0 MiB` */
export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0)} MiB`;
}

function speed(bytes: number, ms: number): string {
  return ms <= 0 ? '' : `, ${mib((bytes * 1000) / ms)}/s`;
}

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/** The reporter for `mode`, or undefined for none. `isTty` is whether the sink is a terminal (for auto). */
export function progressReporter(mode: ProgressMode, isTty: boolean, sink: ProgressSink): ProgressReporter | undefined {
  if (mode === 'none') return undefined;
  return (mode === 'auto' ? isTty : mode === 'tty') ? ttyReporter(sink) : plainReporter(sink);
}

/** `12 s`, `3 min 05 s` */
function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

function ttyReporter(sink: ProgressSink): ProgressReporter {
  const active = new Map<string, LayerState>();
  /** Per image being read: bytes over its layers, its size, layers done of all, when it started. */
  const images = new Map<string, { read: number; size: number; done: number; total: number; readonly started: number }>();
  let drawn = 0;
  let last = Number.NEGATIVE_INFINITY;
  const erase = (): void => {
    if (drawn === 0) return;
    // Cursor to the start of the first drawn line, then clear to the end of the screen.
    sink.write(`\r${drawn > 1 ? `\u001b[${drawn - 1}A` : ''}\u001b[J`);
    drawn = 0;
  };
  const draw = (force: boolean): void => {
    const now = sink.now();
    if (!force && now - last < TTY_INTERVAL_MS) return;
    last = now;
    erase();
    const lines: string[] = [];
    for (const [image, totals] of images) {
      const layers = [...active.values()].filter((l) => l.image === image);
      if (layers.length === 0) continue;
      const of = totals.size > 0 ? ` of ${mib(totals.size)}` : '';
      lines.push(
        `${escapeForTerminal(image)}: ${totals.done}/${totals.total || '?'} layers, ${mib(totals.read)}${of}, ${elapsed(now - totals.started)}`,
      );
      for (const l of layers) lines.push(`  ${short(l.digest)}: ${mib(l.read)} of ${mib(l.size)}${speed(l.read, now - l.started)}`);
    }
    if (lines.length === 0) return;
    sink.write(lines.join('\n'));
    drawn = lines.length;
  };
  const imageOf = (image: string): { read: number; size: number; done: number; total: number; readonly started: number } => {
    let totals = images.get(image);
    if (!totals) images.set(image, (totals = { read: 0, size: 0, done: 0, total: 0, started: sink.now() }));
    return totals;
  };
  return {
    bytes(image, digest, size, bytes, imageSize) {
      const key = `${image}\n${digest}`;
      const state = active.get(key) ?? { image, digest, size, read: 0, started: sink.now() };
      state.read += bytes;
      active.set(key, state);
      const totals = imageOf(image);
      totals.read += bytes;
      if (imageSize !== undefined) totals.size = imageSize;
      draw(false);
    },
    layerDone(image, digest, done, total) {
      active.delete(`${image}\n${digest}`);
      const totals = imageOf(image);
      totals.done = done;
      totals.total = total;
      if (done === total) images.delete(image);
      draw(false);
    },
    beforeOutput: erase,
  };
}

function plainReporter(sink: ProgressSink): ProgressReporter {
  const layers = new Map<string, LayerState>();
  /** Per image: bytes read over all its layers, its size, when its first byte came, when its last totals line was written. */
  const images = new Map<string, { read: number; size: number; started: number; lastLine: number }>();
  return {
    bytes(image, digest, size, bytes, imageSize) {
      const now = sink.now();
      const key = `${image}\n${digest}`;
      const layer = layers.get(key) ?? { image, digest, size, read: 0, started: now };
      layer.read += bytes;
      layers.set(key, layer);
      const totals = images.get(image) ?? { read: 0, size: imageSize ?? 0, started: now, lastLine: now };
      totals.read += bytes;
      images.set(image, totals);
      if (now - totals.lastLine < PLAIN_INTERVAL_MS) return;
      totals.lastLine = now;
      const of = totals.size > 0 ? ` of ${mib(totals.size)}` : '';
      sink.write(`${escapeForTerminal(image)}: ${mib(totals.read)}${of}${speed(totals.read, now - totals.started)}\n`);
    },
    layerDone(image, digest, done, total, cached) {
      const key = `${image}\n${digest}`;
      const layer = layers.get(key);
      layers.delete(key);
      const totals = images.get(image);
      if (done === total) images.delete(image);
      const read = layer ? ` (${mib(layer.read)}${speed(layer.read, sink.now() - layer.started)})` : '';
      // The image's elapsed time with its last layer: how long the whole image took to read.
      const took = done === total && totals ? `; image read in ${elapsed(sink.now() - totals.started)}` : '';
      sink.write(`${escapeForTerminal(image)}: layer ${done}/${total} ${short(digest)} ${cached ? 'cached' : `read${read}`}${took}\n`);
    },
    beforeOutput: () => undefined,
  };
}
