/**
 * Options every image source receives. The registry part is filled from the CLI options and
 * the environment (docs/registry.md); local sources use only `platform`, `signal` and
 * `consumeLayer`.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Platform } from '../image/platform.js';
import type { RegistryOptions } from '../registry/options.js';
import type { Session } from '../registry/session.js';
import type { ConfigCache } from '../image/config-cache.js';

/** Options for opening an image from any source. */
export interface SourceOptions {
  /** One platform, or every platform of an index. */
  readonly platform: Platform | 'all';
  readonly registry: RegistryOptions;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /**
   * The registry sessions of the run (`openSession`): images of one registry share its
   * connections, ping, credentials and tokens. Without one, each registry image opens its own
   * session, which lives as long as its layers are read.
   */
  readonly session?: Session;
  /** Image configs kept between runs (the disk cache): a registry image's config is read from it when there, and kept in it when fetched. */
  readonly configs?: ConfigCache;
  /**
   * Called by sources that can read an archive only once — a gzip/zstd-compressed archive,
   * read in one streaming pass without extracting it — with every member that may be a layer,
   * as it streams past: `tar` is the member's uncompressed content, `id` names it. The pass
   * waits for the returned promise (backpressure); a rejection is the consumer's to keep (the
   * member may not belong to the image). Layers of the returned images whose `consumedAs` is
   * `id` were read through this call only. Without it, such layers stream the archive again
   * when opened.
   */
  readonly consumeLayer?: (tar: Readable, id: string, signal?: AbortSignal) => Promise<void>;
}
