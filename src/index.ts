/**
 * oci-scan as a library: `scan()` with defaults a caller can override, the public types and
 * the error class. Nothing else is public.
 *
 *   import { scan } from 'oci-scan';
 *   const [result] = await scan('ghcr.io/org/app:1.2');
 *   result.highest; // 'Critical' | 'High' | 'Medium' | 'Low' | 'Informational'
 */
import { pino } from 'pino';
import { OciScanError } from './errors.js';
import { CHECK_SETS, type CheckSet } from './checks/index.js';
import { DEFAULT_PLATFORM, parsePlatform, type Platform } from './image/platform.js';
import type { RegistryOptions } from './registry/options.js';
import { scan as scanWith, type ImageScan, type ScanOptions } from './scan.js';

export { OciScanError, isOciScanError, exitCodeFor, type ErrorCode, type ErrorSetting } from './errors.js';
export type { ImageScan, ScanOptions, ScanLimits } from './scan.js';
export { memoryFactsStore, type FactsStore } from './store/facts-store.js';
export type { ConfigCache } from './image/config-cache.js';
export type { Report, ReportResult } from './report/model.js';
export type { BaseSplit, LayerDetail, LayerOrigin } from './report/layers.js';
export type { ScanDocument, ImageDocument, ErrorDocument } from './report/formats/json.js';
export type { Check, CheckId, Severity, LayerFiles, AcceptedFinding } from './checks/types.js';
export type { Policy, Acceptance, CheckRule, PolicyData } from './policy/types.js';
export type { Image, ImageName, Layer } from './image/types.js';
export type { Platform } from './image/platform.js';
export type { RegistryOptions } from './registry/options.js';
export type { SourceOptions } from './sources/options.js';
export { openSession, type Session, type SessionOptions } from './registry/session.js';
export { ALL_CHECKS, EXTENDED_CHECKS, CHECK_SETS, type CheckSet } from './checks/index.js';

/**
 * Options of `scan()`: every field optional; `registry` fields merge over the defaults;
 * `platform` may be written as the command line writes it (`'linux/arm64'`).
 */
export type ScanCallOptions = Partial<Omit<ScanOptions, 'registry' | 'platform'>> & {
  registry?: Partial<RegistryOptions>;
  platform?: Platform | 'all' | string;
};

/** A type name for messages: `null`, `array`, `number`, … */
function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** USAGE for option `name` of the wrong type (`scan()` is called from JavaScript too). */
function wrongType(
  name: string,
  expected: string,
  value: unknown,
  setting?: 'platform' | 'maxLayerBytes' | 'caFile' | 'insecureRegistries' | 'registryMirrors',
): OciScanError {
  return new OciScanError('USAGE', `scan() option ${name} must be ${expected}, not ${typeOf(value)}`, setting ? { setting } : undefined);
}

/** The platform of `options.platform`, in any form users write it; USAGE for anything else. */
function platformOption(value: unknown): Platform | 'all' {
  if (value === undefined) return DEFAULT_PLATFORM;
  if (value === 'all') return 'all';
  if (typeof value === 'string') return parsePlatform(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const p = value as Record<string, unknown>;
    if (
      typeof p['os'] === 'string' &&
      typeof p['architecture'] === 'string' &&
      (p['variant'] === undefined || typeof p['variant'] === 'string')
    )
      return value as Platform;
  }
  throw wrongType('platform', "'all', 'os/arch[/variant]' or { os, architecture, variant? }", value, 'platform');
}

/** Checks the type of every option a caller may get wrong; throws USAGE naming it. */
function checkCallOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw wrongType('object', 'an object', options);
  const o = options as Record<string, unknown>;
  const is = (name: string, test: (v: unknown) => boolean, expected: string, setting?: Parameters<typeof wrongType>[3]): void => {
    if (o[name] !== undefined && !test(o[name])) throw wrongType(name, expected, o[name], setting);
  };
  const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  is('allowUnscannedLayers', (v) => typeof v === 'boolean', 'a boolean');
  is('base', (v) => typeof v === 'string' && v.trim() !== '', 'an image reference string (registry, oci:, oci-archive:, docker-archive:)');
  is('layerConcurrency', (v) => Number.isInteger(v) && (v as number) >= 1, 'a whole number of at least 1');
  is('signal', (v) => v instanceof AbortSignal, 'an AbortSignal');
  is('checks', Array.isArray, 'an array of checks (ALL_CHECKS, or a part of it)');
  is('checkSet', (v) => CHECK_SETS.includes(v as CheckSet), `one of ${CHECK_SETS.join(', ')}`);
  is('policy', isObject, 'a policy object (docs/ci.md, "Policy")');
  is('limits', isObject, 'an object ({ maxLayerBytes, maxEntries, maxWatchedFileBytes })');
  is(
    'store',
    (v) => isObject(v) && typeof (v as { get?: unknown }).get === 'function' && typeof (v as { put?: unknown }).put === 'function',
    'a FactsStore ({ get, put })',
  );
  is('logger', (v) => isObject(v) && typeof (v as { warn?: unknown }).warn === 'function', 'a pino logger');
  is('onLayer', (v) => typeof v === 'function', 'a function');
  is('onLayerBytes', (v) => typeof v === 'function', 'a function');
  is('registry', isObject, 'an object (RegistryOptions)');
  if (isObject(o['limits'])) {
    for (const [k, v] of Object.entries(o['limits'] as Record<string, unknown>)) {
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0))
        throw wrongType(`limits.${k}`, 'a positive number', v, k === 'maxLayerBytes' ? 'maxLayerBytes' : undefined);
    }
  }
  if (isObject(o['registry'])) {
    const r = o['registry'] as Record<string, unknown>;
    if (
      r['insecureRegistries'] !== undefined &&
      !(Array.isArray(r['insecureRegistries']) && r['insecureRegistries'].every((h) => typeof h === 'string'))
    )
      throw wrongType('registry.insecureRegistries', 'an array of host[:port] strings', r['insecureRegistries'], 'insecureRegistries');
    if (
      r['mirrors'] !== undefined &&
      !(isObject(r['mirrors']) && Object.values(r['mirrors'] as object).every((m) => typeof m === 'string'))
    )
      throw wrongType('registry.mirrors', 'an object of registry → mirror strings', r['mirrors'], 'registryMirrors');
    if (r['caFile'] !== undefined && typeof r['caFile'] !== 'string')
      throw wrongType('registry.caFile', 'a file path string', r['caFile'], 'caFile');
    if (r['env'] !== undefined && !isObject(r['env'])) throw wrongType('registry.env', 'an object (like process.env)', r['env']);
  }
}

/**
 * Scans an image (a registry reference, `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]` or
 * `docker-archive:FILE[:REPO:TAG]`) and returns one result per image scanned (several with
 * `platform: 'all'`). Defaults: linux/amd64, credentials and proxies from `process.env`, no
 * logs. Rejects with an `OciScanError` whose `code` says what failed.
 */
export async function scan(input: string, options: ScanCallOptions = {}): Promise<ImageScan[]> {
  if (typeof input !== 'string') throw wrongType('input (the image)', 'a string', input);
  checkCallOptions(options);
  const { registry, platform, ...rest } = options;
  return scanWith(input, {
    logger: pino({ level: 'silent' }),
    ...rest,
    platform: platformOption(platform),
    registry: { insecureRegistries: [], mirrors: {}, env: process.env, ...registry },
  });
}
