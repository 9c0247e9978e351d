/**
 * What every layer of the HTTP pipeline knows about the registry it talks to, and the small
 * response helpers they share. The layers, bottom up, one file each (after
 * go-containerregistry's `pkg/v1/remote/transport`): `send.ts` (one request, redirects by
 * hand), `attempts.ts` (retries, limits), `status.ts` (status → error), `auth.ts`
 * (authorization, one re-authentication), `resume.ts` (bodies resumed with Range, verified).
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { SecretScrubber } from '../../auth/scrub.js';
import type { TransportSettings } from '../options.js';
import type { Clock } from '../retry.js';

/** Sent with every request. */
export const USER_AGENT = 'oci-scan/0.1';

/** A response as undici gives it. */
export type Response = Dispatcher.ResponseData;

/** One registry as the pipeline sees it. */
export interface Connection {
  /** `https://host[:port]` (or http): `Authorization` is sent to this origin only. */
  readonly origin: string;
  /** `host[:port]` spoken to (the registry's API host, or its mirror). */
  readonly host: string;
  /** How messages name it: `host`, or `host (mirror of docker.io)`. */
  readonly label: string;
  /** Set when `host` is a mirror of this registry. */
  readonly mirrorOf?: string;
  readonly dispatcher: Dispatcher;
  readonly settings: TransportSettings;
  readonly clock: Clock;
  /** The secrets of the run: every server text shown or logged passes through it. */
  readonly scrubber: SecretScrubber;
  /** Records of this connection (every record scrubbed). */
  readonly log: Logger;
}

/** A response and the attempt it came from: `finish` clears the attempt's timers once its body is done with. */
export interface Attempt {
  readonly res: Response;
  /** When the attempt started (clock time). */
  readonly startedAt: number;
  finish(): void;
}

/** Drains (small) or destroys a response body that is not needed; never throws. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body.dump({ limit: 64 * 1024 });
  } catch {
    res.body.destroy();
  }
}

/** The first value of a response header. */
export function header(res: Response, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A logger for `conn` whose every record is scrubbed of the run's secrets (docs/security.md). */
export function scrubbedLogger(logger: Logger, bindings: Record<string, string>, scrubber: SecretScrubber): Logger {
  return logger.child(bindings, { formatters: { log: (record) => scrubber.scrubRecord(record) } });
}
