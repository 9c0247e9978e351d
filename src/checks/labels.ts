/** Check 4: the image must carry LABEL metadata, ideally vendor, version, component and product (docs/checks.md). */
import type { Check } from './types.js';

/** Label keys that state each recommended fact (OCI annotations and the plain names). */
export const RECOMMENDED_LABELS: Readonly<Record<string, readonly string[]>> = {
  vendor: ['org.opencontainers.image.vendor', 'org.opencontainers.image.authors', 'vendor', 'maintainer'],
  version: ['org.opencontainers.image.version', 'version'],
  component: ['component', 'org.opencontainers.image.title'],
  product: ['product', 'org.opencontainers.image.title'],
};

/**
 * The labels check: fails when the config has no labels, or lacks one of `required` (a policy's
 * `data.requiredLabels`; a label counts when its value is not blank); names the recommended
 * facts that are missing.
 */
export function createLabelsCheck(required: readonly string[] = []): Check {
  return {
    id: 'labels',
    title: 'Image LABEL metadata',
    severity: 'Low',
    mitigation: 'The image must contain a set of labels specified by the developer in the LABEL instruction',
    run({ config }) {
      const labels = config.config?.Labels ?? {};
      const keys = Object.keys(labels).filter((k) => (labels[k] ?? '').trim() !== '');
      const absent = required.filter((k) => !keys.includes(k));
      if (keys.length === 0)
        return { pass: false, description: `LABEL is not defined${absent.length > 0 ? ` (required: ${absent.join(', ')})` : ''}` };
      if (absent.length > 0) return { pass: false, description: `Required labels missing: ${absent.join(', ')}` };
      const lower = new Set(keys.map((k) => k.toLowerCase()));
      const missing = Object.entries(RECOMMENDED_LABELS)
        .filter(([, candidates]) => !candidates.some((c) => lower.has(c)))
        .map(([fact]) => fact);
      const note = missing.length > 0 ? `; recommended labels missing: ${missing.join(', ')}` : '';
      return { pass: true, description: `LABEL is defined (${keys.length} label(s))${note}` };
    },
  };
}

/** Fails when the config has no labels; names the recommended facts that are missing. */
export const labelsCheck: Check = createLabelsCheck();
