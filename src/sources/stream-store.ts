/**
 * A compressed archive (`docker save | gzip`, `podman save | zstd`, `podman save | xz`, a
 * `.tar.gz` from a CI cache) read without extracting it. A compressed stream cannot be entered at a byte
 * range, so the archive is read in ONE streaming pass (docs/architecture.md, "Compressed
 * archives"): small JSON members (manifest.json, index.json, configs, manifests) are kept in
 * memory, within the document size caps; every other regular member may be a layer and is
 * handed, as it streams past, to `SourceOptions.consumeLayer` (the scan's inspector) as an
 * uncompressed tar, while its stored bytes and its uncompressed content are hashed. The image is
 * assembled from the kept documents after the pass, and each layer is checked against the
 * hashes the pass recorded before anything is reported.
 *
 * A member that must be read again (a second inspection, a member the pass did not keep) is
 * served by streaming the archive again up to it: slower, never wrong.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { PassThrough, Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OciScanError } from '../errors.js';
import { decompress, type Compressed } from '../layer/decompress.js';
import { TarReader, type EntrySink, type TarHandler, type TarHeader } from '../layer/tar/reader.js';
import { MAX_CONFIG_BYTES } from '../image/wire.js';
import type { SourceOptions } from './options.js';
import { memberStore, type BlobStore, type ConsumedMember } from './store.js';
import { MemberIndex, memberName, tarError } from './tar-index.js';

/** Largest member kept whole during the pass: the largest document ever read whole (a config). */
const MAX_KEPT_MEMBER = MAX_CONFIG_BYTES;
/** All kept members together: far above any real archive's metadata, bounded against hostile ones. */
const MAX_KEPT_TOTAL = 64 * 1024 * 1024;
/** Buffer between the pass and a layer's consumer. */
const HIGH_WATER_MARK = 256 * 1024;

/** Names that are documents, never layers: `manifest.json`, `index.json`, configs, v1 `json`/`VERSION`. */
function isDocumentName(name: string): boolean {
  return /(?:^|\/)(?:json|VERSION|repositories|oci-layout)$/.test(name) || name.endsWith('.json');
}

/** True when bytes start (after white space) like a JSON object or array. */
function looksLikeJson(bytes: Buffer): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b || b === 0x5b;
  }
  return false;
}

/** A pass-through that hashes what flows through it; `digest` is set once all of it has. */
class HashTap extends Transform {
  readonly #hash: Hash = createHash('sha256');
  digest: string | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.digest = `sha256:${this.#hash.digest('hex')}`;
    done();
  }
}

/** Resolves once `stream` can take more bytes, or is closed (a reader that gave up). */
async function writable(stream: Writable): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed) return;
  const stop = new AbortController();
  try {
    await Promise.race([once(stream, 'drain', { signal: stop.signal }), once(stream, 'close', { signal: stop.signal })]);
  } catch {
    // 'error' is followed by 'close'; either way the writer stops waiting.
  } finally {
    stop.abort();
  }
}

/** The archive file as an uncompressed tar stream. */
async function openArchive(file: string, kind: Compressed, what: string): Promise<Readable> {
  const { output } = await decompress(createReadStream(file, { highWaterMark: HIGH_WATER_MARK }), {
    what,
    code: 'SOURCE_UNREADABLE',
    compression: kind,
  });
  return output;
}

/**
 * Feeds the archive through a Go-semantics tar reader, waiting for `settle()` after every chunk
 * so that consumers downstream set the pace. Stops early when `stop()` says so.
 */
async function runPass(
  file: string,
  kind: Compressed,
  what: string,
  handler: TarHandler,
  hooks: { settle(): Promise<void>; stop(): boolean },
  signal: AbortSignal | undefined,
): Promise<void> {
  const reader = new TarReader(handler);
  const tar = await openArchive(file, kind, what);
  const onAbort = (): void => {
    tar.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      // Bytes after the end-of-archive marker are ignored, as Go ignores them.
      if (!reader.done) reader.write(chunk);
      await hooks.settle();
      if (hooks.stop()) return;
    }
    reader.end();
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw tarError(err, what);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    tar.destroy();
  }
}

/** What a consumed member's uncompressed content hashed to: its own digest when it was stored plain. */
type TarDigest = string | 'stored-plain' | undefined;

/** Receives one layer-like member during the pass: hashes it and streams it to the consumer. */
class ConsumingSink implements EntrySink {
  readonly #raw: Hash = createHash('sha256');
  readonly #input = new PassThrough({ highWaterMark: HIGH_WATER_MARK });
  readonly #run: Promise<TarDigest>;
  readonly #ended: Promise<void>;
  #onEnded: () => void = () => undefined;
  #detached = false;

  constructor(id: string, what: string, consume: NonNullable<SourceOptions['consumeLayer']>, signal: AbortSignal | undefined) {
    this.#ended = new Promise((resolve) => {
      this.#onEnded = resolve;
    });
    this.#run = (async (): Promise<TarDigest> => {
      let tar: Readable | undefined;
      let tap: HashTap | undefined;
      try {
        const { compression, output } = await decompress(this.#input, { what, code: 'LAYER_CORRUPT' });
        tar = output;
        if (compression === 'none') {
          // Stored plain: the uncompressed digest is the member's own.
          await consume(output, id, signal);
          return output.readableEnded ? 'stored-plain' : undefined;
        }
        tap = new HashTap();
        pipeline(tar, tap).catch(() => undefined);
        await consume(tap, id, signal);
        // Set only if the consumer read it all.
        return tap.digest;
      } catch {
        // The consumer keeps its own failure (the member may not be part of the image).
        return undefined;
      } finally {
        // Whatever the consumer left unread is dropped: the pass must go on.
        this.#detached = true;
        tap?.destroy();
        tar?.destroy();
        this.#input.resume();
      }
    })();
  }

  write(chunk: Buffer): void {
    this.#raw.update(chunk);
    if (!this.#detached) this.#input.write(chunk);
  }

  end(): void {
    this.#input.end();
    this.#onEnded();
  }

  /** Resolves when the consumer can take more (or no longer reads). */
  async drained(): Promise<void> {
    if (this.#detached) return;
    // After end() no 'drain' comes: the consumer finishing is what frees the pass then.
    await Promise.race([this.#input.writableEnded ? this.#run : writable(this.#input), this.#run]);
  }

  /** Ends the consumer's stream with `err` (the pass failed: no more bytes will come). */
  abort(err: Error): void {
    if (!this.#detached) this.#input.destroy(err);
  }

  /** The member's digests once all of it was written and the consumer is done with it. */
  async result(): Promise<{ digest: string; tarDigest?: string }> {
    const [tarDigest] = await Promise.all([this.#run, this.#ended]);
    const digest = `sha256:${this.#raw.digest('hex')}`;
    if (tarDigest === undefined) return { digest };
    return { digest, tarDigest: tarDigest === 'stored-plain' ? digest : tarDigest };
  }
}

/** Collects a member's bytes (bounded by its size, which the header gave). */
class BufferSink implements EntrySink {
  readonly #chunks: Buffer[] = [];
  readonly #onEnd: (bytes: Buffer) => void;

  constructor(onEnd: (bytes: Buffer) => void) {
    this.#onEnd = onEnd;
  }

  write(chunk: Buffer): void {
    this.#chunks.push(Buffer.from(chunk));
  }

  end(): void {
    this.#onEnd(Buffer.concat(this.#chunks));
  }
}

/** The first pass: the member index, the kept documents, and each layer-like member consumed. */
class FirstPass extends MemberIndex {
  readonly kept = new Map<string, Buffer>();
  readonly consumed = new Map<string, ConsumedMember>();
  readonly #what: string;
  readonly #options: SourceOptions;
  #keptBytes = 0;
  /** Consumers of members buffered whole: the pass waits for them before reading on. */
  #buffered: Promise<void> = Promise.resolve();
  /** The results of streamed members, collected at the end of the pass. */
  readonly #results: Array<Promise<void>> = [];
  #current: ConsumingSink | undefined;

  constructor(what: string, options: SourceOptions) {
    super(what);
    this.#what = what;
    this.#options = options;
  }

  protected override member(name: string, header: TarHeader): EntrySink | undefined {
    if (header.sparse) return undefined;
    const consume = this.#options.consumeLayer;
    if (header.dataSize <= MAX_KEPT_MEMBER) {
      const document = isDocumentName(name);
      if (!document && !consume) return undefined;
      return new BufferSink((bytes) => {
        if (document || looksLikeJson(bytes)) {
          this.#keep(name, bytes);
          return;
        }
        if (consume) this.#enqueue(name, Readable.from([bytes]), consume);
      });
    }
    if (!consume || isDocumentName(name)) return undefined;
    const sink = new ConsumingSink(name, `${name} in ${this.#what}`, consume, this.#options.signal);
    this.#current = sink;
    this.#results.push(
      sink.result().then((r) => {
        this.consumed.set(name, { ...r, consumedAs: name });
      }),
    );
    return sink;
  }

  #keep(name: string, bytes: Buffer): void {
    this.#keptBytes += bytes.length;
    if (this.#keptBytes > MAX_KEPT_TOTAL) {
      throw new OciScanError(
        'SOURCE_UNREADABLE',
        `${this.#what} holds more than ${MAX_KEPT_TOTAL / 1024 / 1024} MiB of JSON documents: not an image archive`,
      );
    }
    this.kept.set(name, bytes);
  }

  /** Consumes a member that was buffered whole (after the ones before it). */
  #enqueue(name: string, bytes: Readable, consume: NonNullable<SourceOptions['consumeLayer']>): void {
    const sink = new ConsumingSink(name, `${name} in ${this.#what}`, consume, this.#options.signal);
    const run = async (): Promise<void> => {
      for await (const chunk of bytes as AsyncIterable<Buffer>) {
        sink.write(chunk);
        await sink.drained();
      }
      sink.end();
      this.consumed.set(name, { ...(await sink.result()), consumedAs: name });
    };
    this.#buffered = this.#buffered.then(run);
  }

  /**
   * Waits until reading on is safe: buffered members consumed (so at most one chunk's worth
   * is held) and the streaming consumer ready for more (a finished member: done with it).
   */
  async settle(): Promise<void> {
    await this.#buffered;
    const current = this.#current;
    if (current) await current.drained();
  }

  /** The pass failed: the consumer of the member being read gets the error instead of waiting. */
  abort(err: Error): void {
    this.#current?.abort(err);
  }

  /** Waits for every consumer to finish. */
  async finish(): Promise<void> {
    await this.#buffered;
    await Promise.all(this.#results);
  }
}

/** Streams the archive again to serve one member. */
function replay(file: string, kind: Compressed, what: string, name: string, signal: AbortSignal | undefined): Readable {
  const out = new PassThrough({ highWaterMark: HIGH_WATER_MARK });
  let found = false;
  let ended = false;
  const handler: TarHandler = {
    entry(header) {
      if (found || (header.typeflag !== '0' && header.typeflag !== '7') || memberName(header.name) !== name) return undefined;
      found = true;
      return {
        write: (chunk) => {
          out.write(chunk);
        },
        end: () => {
          ended = true;
        },
      };
    },
  };
  runPass(file, kind, what, handler, { settle: () => writable(out), stop: () => ended || out.destroyed }, signal).then(
    () => {
      if (out.destroyed) return;
      if (!ended)
        out.destroy(
          new OciScanError('SOURCE_UNREADABLE', `${name} could not be found again in ${what}: the file changed while it was read`),
        );
      else out.end();
    },
    (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return out;
}

/**
 * The member names of a compressed archive, from one streaming pass over its headers (contents
 * are decompressed and skipped); stops as soon as `enough` is satisfied.
 */
export async function compressedMemberNames(
  file: string,
  what: string,
  kind: Compressed,
  enough: (names: ReadonlySet<string>) => boolean,
): Promise<Set<string>> {
  const names = new Set<string>();
  let done = false;
  const handler: TarHandler = {
    entry(header) {
      names.add(memberName(header.name));
      done = enough(names);
      return undefined;
    },
  };
  await runPass(file, kind, what, handler, { settle: () => Promise.resolve(), stop: () => done }, undefined);
  return names;
}

/** A blob store over a compressed archive, read in one streaming pass (see the file comment). */
export async function streamedTarStore(file: string, what: string, kind: Compressed, options: SourceOptions): Promise<BlobStore> {
  const pass = new FirstPass(what, options);
  try {
    await runPass(file, kind, what, pass, { settle: () => pass.settle(), stop: () => false }, options.signal);
  } catch (err) {
    pass.abort(err instanceof Error ? err : new Error(String(err)));
    await pass.finish().catch(() => undefined);
    throw err;
  }
  await pass.finish();
  const stream = (name: string): Readable => {
    const kept = pass.kept.get(name);
    return kept ? Readable.from([kept]) : replay(file, kind, what, name, options.signal);
  };
  return memberStore(what, {
    find(path) {
      const name = pass.resolve(memberName(path));
      const m = name === undefined ? undefined : pass.get(name);
      return name === undefined || m === undefined ? undefined : { name, size: m.size };
    },
    async readWhole(m) {
      const kept = pass.kept.get(m.name);
      if (kept) return kept;
      const chunks: Buffer[] = [];
      for await (const chunk of stream(m.name) as AsyncIterable<Buffer>) chunks.push(chunk);
      return Buffer.concat(chunks);
    },
    open: (m) => stream(m.name),
    consumed(path) {
      const name = pass.resolve(memberName(path));
      return name === undefined ? undefined : pass.consumed.get(name);
    },
  });
}
