/**
 * Extended check `add-instruction` (docs/checks.md, "Extended checks"): content should come in
 * by COPY, not ADD. Reads the history (./history.ts); the base image's root filesystem, an
 * `ADD … in /` before any other ADD, COPY or RUN, is not counted.
 */
import { inputHistory, stepPlace, type HistoryStep } from './history.js';
import type { Check } from './types.js';

/** `https://user:pw@host:8080/x?y` → `host:8080`: what a description may say of a URL (never its credentials or query). */
function hostOf(url: string): string {
  try {
    return new URL(url).host || 'an unknown host';
  } catch {
    return 'an unparsable URL';
  }
}

/** The destination of an ADD: `… in /dest ` (classic builder, buildah) or the last word (BuildKit, kaniko). */
function destination(args: string): string | undefined {
  const classic = /\sin\s+(\S+)\s*$/.exec(args);
  if (classic) return classic[1];
  return args
    .split(/\s+/)
    .filter((w) => w !== '' && !w.startsWith('--'))
    .pop();
}

/** Instructions that put content in the image. */
const CONTENT = new Set(['ADD', 'COPY', 'RUN']);

/**
 * Whether `step` added the base image's root filesystem: an ADD to `/` before any other
 * content step. Not "the first layer": buildah without --layers marks every entry but the
 * last `empty_layer`, the root filesystem's ADD included.
 */
function isBaseRootfs(step: HistoryStep, steps: readonly HistoryStep[]): boolean {
  const first = steps.find((s) => (s.instruction !== undefined ? CONTENT.has(s.instruction) : !s.emptyLayer));
  return first === step && destination(step.args) === '/';
}

/** What one ADD did, for the description: a URL fetched (its host) or local content. */
function describeAdd(step: HistoryStep): string {
  const urls = step.args.match(/\bhttps?:\/\/[^\s"']+/g) ?? [];
  const dest = destination(step.args) ?? 'an unknown destination';
  if (urls.length > 0) return `${stepPlace(step)}: ADD fetched a URL (from ${[...new Set(urls.map(hostOf))].join(', ')}) into ${dest}`;
  const source = /^((?:file|dir|multi):[0-9a-f]{12})[0-9a-f]*\s/.exec(step.args)?.[1];
  return `${stepPlace(step)}: ADD of local content${source !== undefined ? ` (${source}…)` : ''} into ${dest}`;
}

/** Fails on each ADD of the history other than the base root filesystem; says when one fetched a URL. */
export const addInstructionCheck: Check = {
  id: 'add-instruction',
  title: 'ADD instead of COPY',
  severity: 'Low',
  mitigation:
    'Use COPY for local files (ADD also unpacks archives and fetches URLs); fetch remote files in a RUN step that verifies their checksum, or with ADD --checksum',
  run(input) {
    const steps = inputHistory(input);
    const adds = steps.filter((s) => s.instruction === 'ADD' && !isBaseRootfs(s, steps));
    if (adds.length > 0) return { pass: false, description: adds.map(describeAdd).join('; ') };
    if (steps.length === 0) return { pass: true, description: 'No history in the image config: nothing to check' };
    return { pass: true, description: 'No ADD instruction in the history (apart from the base root filesystem)' };
  },
};
