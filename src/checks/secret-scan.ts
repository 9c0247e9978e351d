/**
 * The content matcher of the `secret-files` check (docs/checks.md, "Extended checks: the
 * filesystem"): which files the recorder reads (a prefilter on the tar header: the name rules'
 * files, and small files with a text extension or a home directory's dotfiles), and what their
 * bytes say. What it returns — and so what the facts, the disk cache and the report hold — is a
 * rule id, a line and a fingerprint (./redact.ts), never the secret.
 */
import type { ContentScan, EntryInfo, EntryMatcher } from '../layer/inspect.js';
import {
  CONTENT_EXTENSIONS,
  CONTENT_RULES,
  CONTENT_SKIPPED_DIRS,
  CONTENT_SKIPPED_TREES,
  MAX_SCANNED_FILE_BYTES,
  NAME_RULES,
  TEXT_SNIFF_BYTES,
  hitsOf,
  type ContentRule,
  type Hit,
  type NameRule,
} from './data/secrets.js';
import { fingerprint } from './redact.js';

/** What a policy changes in the rules (`data.secretFiles`, docs/checks.md "Tunable data"). */
export interface SecretFilesData {
  /** Base names that are secret files by name alone (rule `policy-name`). */
  readonly addNames?: readonly string[];
  /** Names, extensions or path endings taken out of the built-in name rules (`credentials.json`, `.p12`, `/.aws/credentials`). */
  readonly removeNames?: readonly string[];
  /** Content rules: a JavaScript regular expression; its first capture group (else the match) is the secret. */
  readonly addRules?: ReadonlyArray<{ readonly id: string; readonly regex: string }>;
  /** Ids of built-in rules (content or name) not to run. */
  readonly removeRules?: readonly string[];
}

/** Bumped with any change to the rules' code (the data is fingerprinted as it is): part of the facts' cache key. */
const RULES_VERSION = 1;

/** Longest regular expression a policy may add. */
const MAX_RULE_REGEX = 1000;

/** The id of the name rule a policy's `addNames` make. */
export const POLICY_NAMES_RULE = 'policy-name';

/**
 * Why a rule a policy adds cannot be used, or undefined. Catastrophic backtracking cannot be
 * ruled out for every regex; a quantified group that holds a quantifier (`(a+)+`, `(\w*)*`) is
 * the classic one, and is refused. A regex that matches nothing at all would report every file.
 */
export function secretRuleProblem(rule: { readonly id: string; readonly regex: string }): string | undefined {
  if (rule.regex.length > MAX_RULE_REGEX) return `is longer than ${MAX_RULE_REGEX} characters`;
  let regex: RegExp;
  try {
    regex = new RegExp(rule.regex, 'g');
  } catch (err) {
    return `is not a valid JavaScript regular expression (${(err as Error).message})`;
  }
  if (/\((?:[^()\\]|\\.)*(?:[+*]|\{\d*,\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\d*\})/.test(rule.regex))
    return 'has a quantified group that holds a quantifier (catastrophic backtracking): rewrite it without nesting';
  if (regex.test('')) return 'matches an empty text: it would report every file';
  if (CONTENT_RULES.some((r) => r.id === rule.id) || NAME_RULES.some((r) => r.id === rule.id) || rule.id === POLICY_NAMES_RULE)
    return `has the id of a built-in rule ("${rule.id}"): choose another id, or remove the built-in one with removeRules`;
  return undefined;
}

/** The rules after a policy's changes. */
interface RuleSet {
  readonly content: readonly ContentRule[];
  readonly names: readonly NameRule[];
}

function ruleSet(data: SecretFilesData): RuleSet {
  const removedRules = new Set(data.removeRules ?? []);
  const removedNames = new Set(data.removeNames ?? []);
  const keep = (list: readonly string[] | undefined): string[] | undefined => list?.filter((n) => !removedNames.has(n));
  const names: NameRule[] = NAME_RULES.filter((r) => !removedRules.has(r.id)).map((r) => {
    const trimmed: NameRule = { ...r };
    for (const key of ['names', 'suffixes', 'pathSuffixes', 'prefixes'] as const) {
      const list = keep(r[key]);
      if (list) Object.assign(trimmed, { [key]: list });
    }
    return trimmed;
  });
  const added = (data.addNames ?? []).filter((n) => !removedNames.has(n));
  if (added.length > 0) names.push({ id: POLICY_NAMES_RULE, names: added });
  const content: ContentRule[] = [
    ...CONTENT_RULES.filter((r) => !removedRules.has(r.id)),
    ...(data.addRules ?? []).map((r) => ({ id: r.id, regex: new RegExp(r.regex, 'g') })),
  ];
  return { content, names };
}

/**
 * A cheap test every entry goes through: false when no name rule can name `entry` (most
 * entries), so that `named` runs only on the few that may be.
 */
function nameGate(rules: readonly NameRule[]): (entry: EntryInfo) => boolean {
  const names = new Set(rules.flatMap((r) => [...(r.names ?? []), ...(r.pathSuffixes ?? []).map((p) => p.slice(p.lastIndexOf('/') + 1))]));
  const suffixes = rules.flatMap((r) => r.suffixes ?? []);
  const extensions = new Set(suffixes.filter((x) => x.startsWith('.') && x.lastIndexOf('.') === 0));
  const otherSuffixes = suffixes.filter((x) => !extensions.has(x));
  const prefixes = rules.flatMap((r) => r.prefixes ?? []);
  return ({ basename: b }) =>
    names.has(b) || extensions.has(extensionOf(b)) || otherSuffixes.some((x) => b.endsWith(x)) || prefixes.some((p) => b.startsWith(p));
}

/** Whether `entry` is a file `rule` names. */
function named(rule: NameRule, entry: EntryInfo): boolean {
  const base = entry.basename;
  if (rule.names?.includes(base) === true) return true;
  if (rule.suffixes?.some((s) => base.endsWith(s) && base.length > s.length) === true) return true;
  if (rule.pathSuffixes?.some((s) => entry.path.endsWith(s)) === true) return true;
  return rule.prefixes?.some((p) => base.startsWith(p)) === true && rule.exceptSuffixes?.some((s) => base.endsWith(s)) !== true;
}

const HOME_DOTFILE = /^\/(?:root|home\/[^/]+)\/\.[^/]+$/;
const EXTENSIONS = new Set(CONTENT_EXTENSIONS);

/** `.json` for `a.json`, '' without a dot. */
function extensionOf(basename: string): string {
  const dot = basename.lastIndexOf('.');
  return dot < 0 ? '' : basename.slice(dot);
}

/** Whether the content rules read `entry` (a small file with a text extension, or a home directory's dotfile, outside the skipped trees). */
function contentCandidate(entry: EntryInfo): boolean {
  if (entry.size > MAX_SCANNED_FILE_BYTES) return false;
  const { path, basename } = entry;
  const wanted =
    EXTENSIONS.has(extensionOf(basename)) || (basename.startsWith('.') && (basename.startsWith('.env') || HOME_DOTFILE.test(path)));
  if (!wanted) return false;
  if (CONTENT_SKIPPED_TREES.some((t) => path.startsWith(t))) return false;
  return !CONTENT_SKIPPED_DIRS.some((d) => path.includes(`/${d}/`));
}

/** 1-based line of character `index`. */
function lineAt(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at >= 0 && at < index; at = text.indexOf('\n', at + 1)) line += 1;
  return line;
}

/** The text of `content`, or undefined when it is binary (a NUL early on). */
function textOf(content: Buffer | undefined): string | undefined {
  if (content === undefined || content.subarray(0, TEXT_SNIFF_BYTES).includes(0)) return undefined;
  // One character per byte: the formats the rules match are ASCII, and offsets stay exact.
  return content.toString('latin1');
}

/** One regex for every anchor of `rules`: one pass over a text tells whether any anchored rule can match (most texts: none). */
function anchorsOf(rules: readonly ContentRule[]): RegExp {
  const literals = rules.flatMap((r) => r.anchors ?? []).map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return literals.length === 0 ? /(?!)/ : new RegExp(literals.join('|'));
}

/** The content rules' hits in `text`; `anchors` is anchorsOf(rules). */
function contentHits(rules: readonly ContentRule[], anchors: RegExp, text: string): Array<{ rule: string; hit: Hit }> {
  const out: Array<{ rule: string; hit: Hit }> = [];
  const anchored = anchors.test(text);
  for (const rule of rules) {
    if (rule.anchors && (!anchored || !rule.anchors.some((a) => text.includes(a)))) continue;
    if (rule.requires && !rule.requires.test(text)) continue;
    for (const hit of hitsOf(text, rule.regex, rule.group)) {
      if (rule.ignore?.(hit.secret) !== true) out.push({ rule: rule.id, hit });
    }
  }
  return out;
}

/** The content matcher for `secret-files` with id `id`, the rules changed by `data`. */
export function secretFilesMatcher(id: string, data: SecretFilesData = {}): EntryMatcher {
  const rules = ruleSet(data);
  const anchors = anchorsOf(rules.content);
  const mayBeNamed = nameGate(rules.names);
  const content: ContentScan = {
    maxBytes: MAX_SCANNED_FILE_BYTES,
    scan(entry, bytes) {
      const text = textOf(bytes);
      const said: string[] = [];
      const hits: Array<{ rule: string; hit: Hit }> = [];
      let isNamed = false;
      for (const rule of rules.names) {
        if (!named(rule, entry)) continue;
        isNamed = true;
        if (!rule.content) said.push(`${rule.id}: a credential file by its name (${entry.size} bytes)`);
        else if (text !== undefined) hits.push(...rule.content(text).map((hit) => ({ rule: rule.id, hit })));
      }
      // A file a name rule names is read by the content rules too (`id_rsa` says "private-key" besides its name).
      if (text !== undefined && (isNamed || contentCandidate(entry))) hits.push(...contentHits(rules.content, anchors, text));
      for (const { rule, hit } of hits.sort((a, b) => a.hit.index - b.hit.index))
        said.push(`${rule} line ${lineAt(text ?? '', hit.index)}: ${fingerprint(hit.secret)}`);
      return said;
    },
  };
  const fingerprintText = JSON.stringify({
    version: RULES_VERSION,
    content: rules.content.map((r) => [r.id, r.regex.source, r.regex.flags, r.group ?? 1, r.anchors ?? [], r.requires?.source ?? '']),
    names: rules.names.map((r) => [
      r.id,
      r.names ?? [],
      r.suffixes ?? [],
      r.pathSuffixes ?? [],
      r.prefixes ?? [],
      r.exceptSuffixes ?? [],
      r.content ? 'content' : 'name',
    ]),
    extensions: CONTENT_EXTENSIONS,
    skipped: [CONTENT_SKIPPED_TREES, CONTENT_SKIPPED_DIRS],
    max: MAX_SCANNED_FILE_BYTES,
    sniff: TEXT_SNIFF_BYTES,
  });
  return {
    id,
    fingerprint: fingerprintText,
    matches: (e) => e.type === 'file' && e.size > 0 && (mayBeNamed(e) || contentCandidate(e)),
    content,
  };
}
