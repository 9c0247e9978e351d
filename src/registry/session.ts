/**
 * Registry sessions (docs/registry.md "Sessions"): what a run shares per registry, however many
 * images and repositories it opens there — one undici Dispatcher (closed by `close()`), one
 * ping, credentials looked up once (a credential helper runs at most once per registry), and
 * one token cache per credential, shared by every repository. A run opens one `Session`; it
 * creates the session of each registry on first use.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Challenge } from '../auth/challenge.js';
import { CredentialStore, type Credential, type HelperRunner } from '../auth/credentials.js';
import { SecretScrubber } from '../auth/scrub.js';
import { hostIsPrivate, type HostResolver } from '../auth/realm.js';
import { Authenticator } from '../auth/token.js';
import { normaliseRegistry } from '../reference/reference.js';
import { AddressPins, createDispatcher, proxyOf } from './dispatcher.js';
import { resolveEndpoint, splitHostPort, type RegistryEndpoint } from './endpoint.js';
import { listRepositories, type ListOptions } from './catalog.js';
import type { Authorizer } from './http/auth.js';
import { scrubbedLogger, type Connection } from './http/connection.js';
import { ping } from './http/ping.js';
import { tokenHttp } from './http/token.js';
import { transportSettings, type RegistryOptions } from './options.js';
import { Repository } from './repository.js';
import { systemClock, type Clock } from './retry.js';

/** Test seams (the CLI sets none of them). */
export interface RegistryHooks {
  /** Runs credential helpers. */
  readonly runHelper?: HelperRunner;
  /** Resolves host names for the token-realm check (the connection is pinned to its answer). */
  readonly resolve?: HostResolver;
  /** Time, sleeps and jitter of the retries. */
  readonly clock?: Clock;
}

/** What a run's session is opened with. */
export interface SessionOptions {
  readonly registry: RegistryOptions;
  /** Where the sessions log (every record scrubbed of the run's secrets). */
  readonly logger: Logger;
  readonly hooks?: RegistryHooks;
}

/** How long `close()` lets requests still in flight finish before it cuts them. */
const CLOSE_GRACE_MS = 2000;

/** The registry sessions of one run. */
export class Session {
  readonly #options: SessionOptions;
  readonly #registries = new Map<string, RegistrySession>();
  readonly #credentials: CredentialStore;
  /** The secrets of the run (credentials, tokens), scrubbed from everything a server sends back. */
  readonly scrubber = new SecretScrubber();

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#credentials = new CredentialStore(options.registry.env, options.hooks?.runHelper);
  }

  /** The session of registry `name` as a reference names it (`docker.io`, `host:5000`), created on first use. */
  registry(name: string): RegistrySession {
    const endpoint = resolveEndpoint(name, this.#options.registry);
    const key = `${endpoint.plainHttp ? 'http' : 'https'}://${endpoint.host}|${endpoint.mirrorOf ?? ''}`;
    let session = this.#registries.get(key);
    if (!session) {
      session = new RegistrySession({
        ...this.#options,
        name: normaliseRegistry(name),
        endpoint,
        credentials: this.#credentials,
        scrubber: this.scrubber,
      });
      this.#registries.set(key, session);
    }
    return session;
  }

  /** Closes every registry's connections. */
  async close(): Promise<void> {
    const sessions = [...this.#registries.values()];
    this.#registries.clear();
    await Promise.all(sessions.map((s) => s.close()));
  }
}

/** Opens the registry sessions of a run; `close()` them once its images are scanned. */
export function openSession(options: SessionOptions): Session {
  return new Session(options);
}

/** What a registry session is made of. */
interface RegistrySessionInit extends SessionOptions {
  /** The registry as references name it (`docker.io`). */
  readonly name: string;
  readonly endpoint: RegistryEndpoint;
  readonly credentials: CredentialStore;
  readonly scrubber: SecretScrubber;
}

/** What one registry shares across a run. */
export class RegistrySession {
  /** The registry as references name it (`docker.io`, `host:5000`). */
  readonly name: string;
  readonly endpoint: RegistryEndpoint;
  /** The connection every request to this registry goes through. */
  readonly connection: Connection;
  readonly #init: RegistrySessionInit;
  readonly #dispatcher: Dispatcher;
  readonly #pins = new AddressPins();
  #ping: Promise<Challenge[]> | undefined;
  #private: Promise<boolean> | undefined;
  readonly #authenticators = new Map<Credential | undefined, Authenticator>();

  constructor(init: RegistrySessionInit) {
    this.#init = init;
    this.name = init.name;
    this.endpoint = init.endpoint;
    const settings = transportSettings(init.registry);
    this.#dispatcher = createDispatcher(init.registry, settings, this.#pins);
    const { host, mirrorOf, plainHttp } = init.endpoint;
    this.connection = {
      origin: `${plainHttp ? 'http' : 'https'}://${host}`,
      host,
      label: mirrorOf ? `${host} (mirror of ${mirrorOf})` : host,
      ...(mirrorOf ? { mirrorOf } : {}),
      dispatcher: this.#dispatcher,
      settings,
      clock: init.hooks?.clock ?? systemClock,
      scrubber: init.scrubber,
      log: scrubbedLogger(init.logger, { component: 'registry', registry: host }, init.scrubber),
    };
  }

  /** The registry's challenges: one ping per session (a failed ping is tried again by the next caller). */
  challenges(signal?: AbortSignal): Promise<Challenge[]> {
    if (!this.#ping) {
      const pinging = ping(this.connection, signal);
      this.#ping = pinging;
      pinging.catch(() => {
        if (this.#ping === pinging) this.#ping = undefined;
      });
    }
    return this.#ping;
  }

  /** The credential for `repository` (looked up once per run; a mirror's credentials are filed under its own host). */
  credential(repository: string): Promise<Credential | undefined> {
    const { endpoint } = this;
    return this.#init.credentials.find(endpoint.mirrorOf ? endpoint.host : this.name, repository);
  }

  /** An authorizer for `scopes` with `credential`; its tokens are cached for the session. */
  authorizer(credential: Credential | undefined, scopes: readonly string[]): Authorizer {
    let authenticator = this.#authenticators.get(credential);
    if (!authenticator) {
      const { hostname } = splitHostPort(this.endpoint.host);
      const resolve = this.#init.hooks?.resolve;
      authenticator = new Authenticator({
        policy: {
          registry: this.endpoint.host,
          plainHttp: this.endpoint.plainHttp,
          registryIsPrivate: () => (this.#private ??= hostIsPrivate(hostname, resolve)),
          ...(resolve ? { resolve } : {}),
          viaProxy: proxyOf(this.#init.registry.env) !== undefined,
        },
        ...(credential ? { credential } : {}),
        http: tokenHttp(this.connection, this.#pins),
        logger: this.connection.log,
        scrubber: this.#init.scrubber,
      });
      this.#authenticators.set(credential, authenticator);
    }
    return { challenges: (signal) => this.challenges(signal), authenticator, scopes };
  }

  /** A repository of this registry, for a caller logging to `logger` and stopped by `signal`; `push` asks for push rights too (attaching attestations, docs/attest.md). */
  async repository(
    name: string,
    caller: { readonly logger?: Logger; readonly signal?: AbortSignal | undefined; readonly push?: boolean } = {},
  ): Promise<Repository> {
    const credential = await this.credential(name);
    if (credential) this.#init.scrubber.addCredential(credential);
    const log = scrubbedLogger(
      caller.logger ?? this.#init.logger,
      { component: 'registry', registry: this.endpoint.host, repository: name },
      this.#init.scrubber,
    );
    log.debug(
      { registry: this.name, host: this.endpoint.host, plainHttp: this.endpoint.plainHttp, credential: credential?.toJSON() },
      'opening repository',
    );
    return new Repository({
      connection: { ...this.connection, log },
      authorizer: this.authorizer(credential, [`repository:${name}:${caller.push === true ? 'pull,push' : 'pull'}`]),
      name,
      signal: caller.signal,
    });
  }

  /** Every repository of the registry (`/v2/_catalog`, paged; see ./catalog.ts). */
  async *catalog(options: ListOptions = {}): AsyncGenerator<string, void, undefined> {
    const credential = await this.credential('');
    if (credential) this.#init.scrubber.addCredential(credential);
    yield* listRepositories(this.connection, this.authorizer(credential, ['registry:catalog:*']), options);
  }

  /** Closes the dispatcher: requests in flight get a short grace, then are cut. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS).unref();
    });
    try {
      const closed = await Promise.race([this.#dispatcher.close().then(() => 'closed' as const), grace]);
      if (closed === 'late') await this.#dispatcher.destroy();
    } catch {
      // A dispatcher that fails to close has nothing left to release.
    } finally {
      clearTimeout(timer);
    }
  }
}
