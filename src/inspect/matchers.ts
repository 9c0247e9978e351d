/**
 * The matchers a layer worker inspects with (./worker.ts). A matcher is code, which no message
 * carries: the worker builds the checks anew from the policy's data (`CheckData`, plain data)
 * and takes the matchers the scan asked for by id and fingerprint. The fingerprint names all
 * a matcher's decision depends on besides code (it keys the facts cache too), so a matcher
 * found with the same id and fingerprint decides as the scan's own does. A set that the data
 * does not rebuild (a caller's own checks, a matcher a policy rule changed) is inspected on
 * the main thread instead (docs/architecture.md, "Layer workers").
 */
import { createChecks, EXTENDED_CHECKS, matchersOf, type CheckData } from '../checks/index.js';
import type { EntryMatcher } from '../layer/inspect.js';

/** What a worker needs to rebuild a scan's matchers: the policy's data and the matchers wanted, in order. */
export interface MatcherRecipe {
  readonly data: CheckData;
  readonly wanted: readonly { readonly id: string; readonly fingerprint: string }[];
}

/** `wanted` rebuilt from `data` (every built-in and extended check), in order; undefined when one of them is not among them. */
export function rebuildMatchers(recipe: MatcherRecipe): EntryMatcher[] | undefined {
  const built = new Map<string, EntryMatcher>();
  for (const m of matchersOf(
    createChecks(
      recipe.data,
      EXTENDED_CHECKS.map((c) => c.id),
    ),
  ))
    built.set(`${m.id}\n${m.fingerprint}`, m);
  const out: EntryMatcher[] = [];
  for (const w of recipe.wanted) {
    const found = built.get(`${w.id}\n${w.fingerprint}`);
    if (!found) return undefined;
    out.push(found);
  }
  return out;
}

const recipes = new WeakMap<readonly EntryMatcher[], Map<string, MatcherRecipe | null>>();

/**
 * The recipe of `matchers` from `data`, when a worker can rebuild them (checked here by
 * rebuilding them, once per matcher list and data), else undefined.
 */
export function recipeOf(matchers: readonly EntryMatcher[], data: CheckData): MatcherRecipe | undefined {
  let byData = recipes.get(matchers);
  if (!byData) recipes.set(matchers, (byData = new Map()));
  const key = JSON.stringify(data);
  let recipe = byData.get(key);
  if (recipe === undefined) {
    const candidate: MatcherRecipe = { data, wanted: matchers.map((m) => ({ id: m.id, fingerprint: m.fingerprint })) };
    recipe = rebuildMatchers(candidate) ? candidate : null;
    byData.set(key, recipe);
  }
  return recipe ?? undefined;
}
