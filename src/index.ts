/**
 * oci-scan as a library: `scan()` with defaults a caller can override, the public types and
 * the error class. Nothing else is public.
 *
 *   import { scan } from 'oci-scan';
 *   const [result] = await scan('ghcr.io/org/app:1.2');
 *   result.highest; // 'Critical' | 'High' | 'Medium' | 'Low' | 'Informational'
 */
import { pino } from 'pino';
import { DEFAULT_PLATFORM } from './image/platform.js';
import type { RegistryOptions } from './registry/options.js';
import { scan as scanWith, type ImageScan, type ScanOptions } from './scan.js';

export { OciScanError, isOciScanError, type ErrorCode, type ErrorSetting } from './errors.js';
export { exitCodeFor } from './cli/exit-codes.js';
export type { ImageScan, ScanOptions, ScanLimits } from './scan.js';
export { memoryFactsStore, type FactsStore } from './store/facts-store.js';
export type { ConfigCache } from './image/config-cache.js';
export type { Report, ReportResult } from './report/model.js';
export type { ScanDocument, ImageDocument, ErrorDocument } from './report/formats/json.js';
export type { Check, CheckId, Severity, LayerFiles, AcceptedFinding } from './checks/types.js';
export type { Policy, Acceptance, CheckRule, PolicyData } from './policy/types.js';
export type { Image, ImageName, Layer } from './image/types.js';
export type { Platform } from './image/platform.js';
export type { RegistryOptions } from './registry/options.js';
export type { SourceOptions } from './sources/options.js';
export { openSession, type Session, type SessionOptions } from './registry/session.js';
export { ALL_CHECKS } from './checks/index.js';

/** Options of `scan()`: every field optional; `registry` fields merge over the defaults. */
export type ScanCallOptions = Partial<Omit<ScanOptions, 'registry'>> & { registry?: Partial<RegistryOptions> };

/**
 * Scans an image (a registry reference, `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]` or
 * `docker-archive:FILE[:REPO:TAG]`) and returns one result per image scanned (several with
 * `platform: 'all'`). Defaults: linux/amd64, credentials and proxies from `process.env`, no
 * logs. Rejects with an `OciScanError` whose `code` says what failed.
 */
export function scan(input: string, options: ScanCallOptions = {}): Promise<ImageScan[]> {
  const { registry, ...rest } = options;
  return scanWith(input, {
    platform: DEFAULT_PLATFORM,
    logger: pino({ level: 'silent' }),
    ...rest,
    registry: { insecureRegistries: [], mirrors: {}, env: process.env, ...registry },
  });
}
