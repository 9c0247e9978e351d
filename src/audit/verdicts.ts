/**
 * Verdicts kept in the cache directory beside the layer facts (docs/audit.md, "A nightly
 * schedule"): after a reference is scanned, its record (./records.ts) is kept under a key that
 * names everything its verdict depends on — the reference (the Tag check and a policy's rules
 * read the name), the manifest digest its tag resolved to (which pins the config and every
 * layer), the run's verdict key (oci-scan's version, policy, checks, platform choice,
 * `--allow-unscanned-layers`, expired acceptances) and the facts version. A later audit of the
 * same reference at the same digest under the same key writes its report from the kept record
 * instead of reading the manifest, the config and the facts and running the checks again: what
 * the scan would find is decided by those inputs alone. A kept record is untrusted input: it is
 * used only when it is a record of that very reference, digest and verdict key whose results
 * match the report schema; anything else is a miss, and the image is scanned.
 *
 * Not kept: an image with a layer left unscanned (a foreign layer's presence in the registry
 * may change without the digest changing). Not read: by an audit of an OCI layout (its blobs
 * are checked on every scan), with `--fresh`, with `--attach` (the verdict is attached from
 * the scan itself), or while an acceptance of the policy has expired (the scan warns of it).
 */
import type { ImageScan } from '../scan.js';
import { FACTS_VERSION, type VerdictStore } from '../store/facts-store.js';
import { makeRecord, recordedImageScan, recordOf, type RecordedImage } from './records.js';

/** The key of the verdict of `reference` at `digest` under the verdict key `verdict`. */
function verdictCacheKey(reference: string, digest: string, verdict: string): string {
  return `audit-verdict/facts-v${FACTS_VERSION}/${verdict}/${digest}/${reference}`;
}

/** The scans of `reference` at `digest` as a run under `verdict` kept them, or undefined (none, or not a record of them). */
export function cachedScans(store: VerdictStore, reference: string, digest: string, verdict: string): ImageScan[] | undefined {
  const record = recordOf(store.get(verdictCacheKey(reference, digest, verdict)), reference, digest, verdict);
  return record?.images.map(recordedImageScan);
}

/** Keeps the verdict of `reference` at `digest` (its recorded images), unless a layer of one of its `scans` was left unscanned. */
export async function keepVerdict(
  store: VerdictStore,
  reference: string,
  digest: string,
  verdict: string,
  scans: readonly ImageScan[],
  recorded: readonly RecordedImage[],
): Promise<void> {
  if (scans.some((s) => s.image.layers.some((l) => l.notScanned !== undefined))) return;
  await store.put(verdictCacheKey(reference, digest, verdict), makeRecord(reference, digest, verdict, recorded));
}
