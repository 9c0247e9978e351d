/** Check 1: the image must have a fixed tag (docs/checks.md). */
import type { Check } from './types.js';

/** Fails on `:latest` (named or implied) and on local images that record no tag. */
export const tagLatestCheck: Check = {
  id: 'tag-latest',
  title: 'Tag :latest',
  severity: 'Critical',
  mitigation: 'The image must have a fixed tag to determine the version',
  run({ name }) {
    if (name.tag === 'latest') return { pass: false, description: `Image ${name.display} has tag: latest` };
    if (name.tag) return { pass: true, description: `Image ${name.display} has tag: ${name.tag}` };
    if (name.digest) return { pass: true, description: `Image ${name.display} is pinned by digest ${name.digest}` };
    return { pass: false, description: `Image ${name.display}: tag not defined` };
  },
};
