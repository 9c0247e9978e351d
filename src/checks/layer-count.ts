/** Check 5: a single resulting layer is preferred (docs/checks.md). */
import type { Check } from './types.js';

/** Fails when the manifest lists more than one layer. */
export const layerCountCheck: Check = {
  id: 'layer-count',
  title: 'The number of layers in the image',
  severity: 'Low',
  mitigation: 'A good practice would be to squash all layers in the resulting image into a single layer. See docker squash, multistage build',
  run({ layers, notScanned }) {
    const count = layers.length + notScanned.length;
    if (count > 1) return { pass: false, description: `Number of layers in the image ${count}. It is necessary to minimize the number of layers if possible` };
    return { pass: true, description: `Number of layers in the image ${count}` };
  },
};
