/**
 * undici, loaded on first use, and only the parts oci-scan uses: the Agent, the proxy agent and
 * the dispatcher API (request; connect for the proxy's tunnel). A scan of a local archive or
 * layout, `--help` and `--version` never talk HTTP and load none of it; a registry scan loads
 * those parts in about 20 ms, where the package's index (fetch, WebSocket, caches, mocks)
 * takes about 55 — most of a CLI start's module loading (docs/architecture.md "Memory and
 * speed").
 *
 * The parts' paths are undici's own files, pinned by package-lock.json. Should an update move
 * them, the whole package is loaded instead and everything works as before, only slower;
 * test/unit/registry/undici.test.ts fails then, so that it is noticed.
 */
import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

/** What oci-scan uses of undici. */
export interface Undici {
  readonly Agent: typeof import('undici').Agent;
  readonly EnvHttpProxyAgent: typeof import('undici').EnvHttpProxyAgent;
  /** One request to `url` through `dispatcher` (undici's `request`). */
  request(dispatcher: Dispatcher, url: URL, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>): Promise<Dispatcher.ResponseData>;
  /** True when the parts were loaded on their own, false when the whole package was. */
  readonly parts: boolean;
}

/** Loads the parts through `require` (a test passes its own), else the whole package. */
export function loadUndici(require: NodeJS.Require = createRequire(import.meta.url)): Undici {
  try {
    const Agent = require('undici/lib/dispatcher/agent.js') as Undici['Agent'];
    const EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent.js') as Undici['EnvHttpProxyAgent'];
    const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as (new () => object) | undefined;
    const api = require('undici/lib/api/index.js') as Record<string, unknown>;
    if (
      typeof Agent === 'function' &&
      typeof EnvHttpProxyAgent === 'function' &&
      typeof Dispatcher === 'function' &&
      typeof api['request'] === 'function' &&
      typeof api['connect'] === 'function'
    ) {
      // What the package index does: every dispatcher gets request(), connect() (the proxy
      // agent's CONNECT tunnel uses it), stream(), pipeline() and upgrade().
      Object.assign(Dispatcher.prototype, api);
      return {
        Agent,
        EnvHttpProxyAgent,
        parts: true,
        request: (dispatcher, url, options) => dispatcher.request({ ...options, origin: url.origin, path: `${url.pathname}${url.search}` }),
      };
    }
  } catch {
    // Moved or renamed by an undici update: the whole package below.
  }
  const full = require('undici') as typeof import('undici');
  return {
    Agent: full.Agent,
    EnvHttpProxyAgent: full.EnvHttpProxyAgent,
    parts: false,
    request: (dispatcher, url, options) => full.request(url, { ...options, dispatcher }),
  };
}

let loaded: Undici | undefined;

/** The parts of undici oci-scan uses. */
export function undici(): Undici {
  loaded ??= loadUndici();
  return loaded;
}
