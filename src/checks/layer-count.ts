/** Check 5: a single resulting layer is preferred (docs/checks.md); a policy may allow more (`data.maxLayers`). */
import type { Check } from './types.js';

/** The layer-count check: fails when the manifest lists more than `maxLayers` layers (default 1, as the original). */
export function createLayerCountCheck(maxLayers = 1): Check {
  return {
    id: 'layer-count',
    title: 'The number of layers in the image',
    severity: 'Low',
    mitigation:
      'A good practice would be to squash all layers in the resulting image into a single layer. See docker squash, multistage build',
    run({ layers, notScanned }) {
      const count = layers.length + notScanned.length;
      const limit = maxLayers === 1 ? '' : ` (at most ${maxLayers} allowed by policy)`;
      if (count > maxLayers)
        return {
          pass: false,
          description: `Number of layers in the image ${count}${limit}. It is necessary to minimize the number of layers if possible`,
        };
      return { pass: true, description: `Number of layers in the image ${count}${limit}` };
    },
  };
}

/** Fails when the manifest lists more than one layer. */
export const layerCountCheck: Check = createLayerCountCheck();
