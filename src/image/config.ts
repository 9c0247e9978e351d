/**
 * The image configuration blob (OCI image config / Docker image JSON): only the fields the
 * checks read are typed; everything else is kept but not trusted.
 */
import type { Platform } from './platform.js';
import { compileWire, parseWire } from './wire.js';

/** The runtime part of an image config (`config` key). */
export interface RuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown> | null;
  Labels?: Record<string, string> | null;
  Entrypoint?: string[] | string | null;
  Cmd?: string[] | string | null;
  Env?: string[] | null;
  WorkingDir?: string;
}

/** An image config document. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  config?: RuntimeConfig | null;
  rootfs?: { type: string; diff_ids: string[] };
}

const stringList = { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }, { type: 'null' }] };

const validateConfig = compileWire<ImageConfig>('config', {
  type: 'object',
  properties: {
    architecture: { type: 'string' },
    os: { type: 'string' },
    variant: { type: 'string' },
    config: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: {
            User: { type: 'string' },
            ExposedPorts: { anyOf: [{ type: 'object' }, { type: 'null' }] },
            Labels: { anyOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'null' }] },
            Entrypoint: stringList,
            Cmd: stringList,
            Env: { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'null' }] },
            WorkingDir: { type: 'string' },
          },
        },
      ],
    },
    rootfs: {
      type: 'object',
      properties: { type: { type: 'string' }, diff_ids: { type: 'array', items: { type: 'string' } } },
      required: ['type', 'diff_ids'],
    },
  },
});

/** Parses and validates an image config; throws `INVALID_CONFIG` with `what` in the message. */
export function parseConfig(bytes: Uint8Array | string, what: string): ImageConfig {
  return parseWire(bytes, validateConfig, what, 'INVALID_CONFIG');
}

/** The platform a config declares (`os`, `architecture`, `variant`), if it declares one. */
export function platformOfConfig(config: ImageConfig): Platform | undefined {
  if (!config.os || !config.architecture) return undefined;
  return config.variant ? { os: config.os, architecture: config.architecture, variant: config.variant } : { os: config.os, architecture: config.architecture };
}
