/**
 * The registry source: references like `ghcr.io/org/app:1.2` resolved through the
 * Distribution API. (Being written: see issue 3.)
 */
import { OciScanError } from '../../errors.js';
import type { Image } from '../types.js';
import type { SourceOptions } from './options.js';

/** Resolves a registry reference to the image(s) to scan (several with `--platform all`). */
export async function openRegistryImages(input: string, _options: SourceOptions): Promise<Image[]> {
  throw new OciScanError('SOURCE_UNREADABLE', `registry references are not supported yet: ${input}`);
}
