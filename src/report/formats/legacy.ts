/**
 * The original tool's report shape (docs/reports.md, "Legacy report"): `{ "<image>": [results] }`.
 * A report file holds one image, keyed by the image as the user named it; the `--json-stdout`
 * object of a run holds every image scanned, one key each, made unique.
 */
import { formatPlatform } from '../../image/platform.js';
import type { Report, ScannedImage } from '../model.js';
import { assertValidDocument } from '../validate.js';

/** The report file of one image: `{ "<reference>": [results] }`, validated against report.schema.json. */
export function legacyReport(scan: ScannedImage): Report {
  const report: Report = { [scan.image.name.display]: [...scan.results] };
  assertValidDocument('report', report);
  return report;
}

/**
 * The keys of a run's images, `groups` holding the images of each IMAGE in argument order:
 * the image as the user named it; with ` [os/arch[/variant]]` when one IMAGE was scanned for
 * several platforms; and ` (2)`, ` (3)`… when a key is already taken (two IMAGEs that name
 * one image, as `alpine` and `alpine:latest` do).
 */
export function legacyKeys(groups: readonly (readonly ScannedImage[])[]): string[] {
  const used = new Set<string>();
  return groups.flatMap((group) =>
    group.map((scan) => {
      const { image } = scan;
      const base =
        group.length > 1
          ? `${image.name.display} [${image.platform ? formatPlatform(image.platform) : 'unknown platform'}]`
          : image.name.display;
      let key = base;
      for (let n = 2; used.has(key); n++) key = `${base} (${n})`;
      used.add(key);
      return key;
    }),
  );
}

/**
 * The `--json-stdout` object of a run: ONE object, one key per image scanned (`legacyKeys`),
 * whatever the number of images and platforms; validated against report-set.schema.json.
 */
export function legacyReportSet(groups: readonly (readonly ScannedImage[])[]): Report {
  const keys = legacyKeys(groups);
  const scans = groups.flat();
  const set: Report = Object.fromEntries(scans.map((scan, i) => [keys[i] ?? '', [...scan.results]]));
  assertValidDocument('report-set', set);
  return set;
}
