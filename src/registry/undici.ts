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
 * test/unit/registry/undici.test.ts fails then, so that it is noticed. The CLI's bundle
 * (scripts/bundle.js) holds the parts themselves, evaluated on first use like the files: no
 * file to find and load at run time, and their code in the CLI's code cache (an update that
 * moved them fails the bundle's build).
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

/** Defined (true) by scripts/bundle.js. */
declare const OCI_SCAN_BUNDLED: boolean | undefined;

/** The parts as modules: the Agent, the proxy agent, the Dispatcher class and the dispatcher API. */
interface Parts {
  readonly Agent: unknown;
  readonly EnvHttpProxyAgent: unknown;
  readonly Dispatcher: unknown;
  readonly api: unknown;
}

/** The parts through `require`. */
const partsFrom = (require: NodeJS.Require): Parts => ({
  Agent: require('undici/lib/dispatcher/agent.js'),
  EnvHttpProxyAgent: require('undici/lib/dispatcher/env-http-proxy-agent.js'),
  Dispatcher: require('undici/lib/dispatcher/dispatcher.js'),
  api: require('undici/lib/api/index.js'),
});

/**
 * The parts the bundle holds: literal `require` calls, which esbuild bundles (scripts/bundle.js
 * defines OCI_SCAN_BUNDLED, and only the bundle calls this; an ES module has no `require`).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the literal calls esbuild bundles */
const bundledParts = (): Parts => ({
  Agent: require('undici/lib/dispatcher/agent.js'),
  EnvHttpProxyAgent: require('undici/lib/dispatcher/env-http-proxy-agent.js'),
  Dispatcher: require('undici/lib/dispatcher/dispatcher.js'),
  api: require('undici/lib/api/index.js'),
});
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Loads the parts through `require` (a test passes its own), else the bundle's own, else
 * node_modules'; the whole package when they are not there.
 */
export function loadUndici(require?: NodeJS.Require): Undici {
  const load = require ?? createRequire(import.meta.url);
  try {
    const parts = require === undefined && typeof OCI_SCAN_BUNDLED === 'boolean' ? bundledParts() : partsFrom(load);
    const Agent = parts.Agent as Undici['Agent'];
    const EnvHttpProxyAgent = parts.EnvHttpProxyAgent as Undici['EnvHttpProxyAgent'];
    const Dispatcher = parts.Dispatcher as (new () => object) | undefined;
    const api = parts.api as Record<string, unknown>;
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
  const full = load('undici') as typeof import('undici');
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
