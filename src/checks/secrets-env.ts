/**
 * Extended check `secrets-env` (docs/checks.md, "Extended checks"): no credential in the
 * config's `Env` or in the history (`ENV` and `ARG` lines, the build arguments of a RUN, the
 * `X=… cmd` and `export X=…` of its command). A value is a credential when its variable's name
 * says so (data/secret-env.ts) and the value is one (not a `$VAR` reference, a path, a flag, a
 * package pin or a key id), or when its shape is a known token's, whatever the name. The
 * report never holds the secret: the variable, where it is, and a fingerprint (./redact.ts).
 */
import { NON_SECRET_SUFFIXES, NON_SECRET_VALUES, SECRET_KEY_WORDS, SECRET_SHAPES } from './data/secret-env.js';
import { inputHistory, stepPlace, type HistoryStep } from './history.js';
import { fingerprint } from './redact.js';
import type { Check } from './types.js';

/** Policy data of the check: key words added and removed, and variable names never judged by name. */
export interface SecretEnvData {
  readonly addKeys?: readonly string[];
  readonly removeKeys?: readonly string[];
  readonly ignoreNames?: readonly string[];
}

/** One `NAME=value` the image sets, and where. */
export interface Assignment {
  readonly name: string;
  readonly value: string;
  /** `Env`, or the history entry (./history.ts stepPlace). */
  readonly where: string;
}

/** A credential found: the variable (or the kind of token), where, and the secret itself (only ever shown through `fingerprint`). */
interface Finding {
  readonly what: string;
  readonly where: string;
  readonly secret: string;
}

/** `dbPassword`, `db-password`, `db.password` → `['DB', 'PASSWORD']`. */
export function nameParts(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((p) => p !== '');
}

/** Whether `parts` hold `word` (`API_KEY`) as consecutive whole parts, or a one-part word of 5+ letters as a part's ending. */
function holdsWord(parts: readonly string[], word: string): boolean {
  const w = word.split('_');
  if (w.length === 1 && word.length >= 5 && parts.some((p) => p.endsWith(word))) return true;
  for (let i = 0; i + w.length <= parts.length; i++) if (w.every((x, j) => parts[i + j] === x)) return true;
  return false;
}

/** A key id list: one or more hex ids of 8, 16 or 40 digits (GPG short, long ids and fingerprints). */
const KEY_IDS =
  /^(?:0x)?(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{8})(?:[\s,;]+(?:0x)?(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{8}))*$/;

/** Why `value` of `name` is not a credential, or undefined when it is one. */
export function notSecretBecause(name: string, value: string): string | undefined {
  const v = value.trim();
  if (v === '') return 'empty';
  if (v.startsWith('$')) return 'a reference';
  if (/^\/\S*$/.test(v)) return 'a path';
  if (NON_SECRET_VALUES.includes(v.toLowerCase())) return 'a flag';
  // `libcrypto3=3.1.4-r1`: a package pinned to a version, not a variable.
  if (!/[A-Z]/.test(name) && /^[0-9][A-Za-z0-9.+~:_-]*$/.test(v)) return 'a package pin';
  if (/GPG|PGP|FINGERPRINT|KEY_?ID|KEYS$/i.test(name) && KEY_IDS.test(v)) return 'a key id';
  return undefined;
}

/** The key-name rule with a policy's data applied. */
export function secretNameRule(data: SecretEnvData = {}): (name: string) => boolean {
  const removed = new Set((data.removeKeys ?? []).map((k) => k.toUpperCase()));
  const words = [...new Set([...SECRET_KEY_WORDS, ...(data.addKeys ?? []).map((k) => k.toUpperCase())])]
    .filter((w) => !removed.has(w))
    .map((w) => nameParts(w).join('_'));
  const ignored = new Set(data.ignoreNames ?? []);
  return (name) => {
    if (ignored.has(name)) return false;
    const parts = nameParts(name);
    if (parts.length > 0 && NON_SECRET_SUFFIXES.includes(parts[parts.length - 1] ?? '')) return false;
    return words.some((w) => holdsWord(parts, w));
  };
}

/** Splits shell-like text into words (quotes removed, `\` escapes kept literal) and operators (`;`, `&&`, `|`, newline…). */
export function shellWords(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  const push = (): void => {
    if (word !== undefined) out.push(word);
    word = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end < 0 ? text.length : end;
      word = (word ?? '') + text.slice(i + 1, stop).replace(c === '"' ? /\\(["\\$`])/g : /$^/, '$1');
      i = stop;
    } else if (c === '\\' && i + 1 < text.length) {
      if (text[i + 1] !== '\n') word = (word ?? '') + (text[i + 1] ?? '');
      i++;
    } else if (/\s/.test(c) && c !== '\n') {
      push();
    } else if (/[;&|()\n]/.test(c)) {
      push();
      out.push(c);
    } else {
      word = (word ?? '') + c;
    }
  }
  push();
  return out;
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/;
/** Commands whose `NAME=value` arguments are assignments. */
const ASSIGNING_COMMANDS = new Set(['export', 'env', 'declare', 'typeset', 'local', 'readonly']);

/** The assignments of a shell command: `A=1 B=2 cmd`, `export A=1`, `env A=1 cmd`, at the start of every command. */
export function shellAssignments(command: string): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  let atStart = true;
  let assigning = false;
  for (const w of shellWords(command)) {
    if (/^[;&|()\n]$/.test(w)) {
      atStart = true;
      assigning = false;
      continue;
    }
    const m = ASSIGNMENT.exec(w);
    if (m && (atStart || assigning)) {
      out.push({ name: m[1] ?? '', value: m[2] ?? '' });
      continue;
    }
    if (atStart && ASSIGNING_COMMANDS.has(w)) {
      assigning = true;
      atStart = false;
      continue;
    }
    atStart = false;
    if (!w.startsWith('-')) assigning = false;
  }
  return out;
}

/** `ENV A=1 B="x y"` or the old form `ENV A value with spaces`; `ARG A=1`. */
function instructionAssignments(args: string): Array<{ name: string; value: string }> {
  const old = /^([^\s=]+)\s+([\s\S]*)$/.exec(args.trim());
  if (old && !(old[1] ?? '').includes('=')) return [{ name: old[1] ?? '', value: old[2] ?? '' }];
  return shellWords(args).flatMap((w) => {
    const m = ASSIGNMENT.exec(w);
    return m ? [{ name: m[1] ?? '', value: m[2] ?? '' }] : [];
  });
}

/** Every assignment of one history entry, each with where it is. */
function stepAssignments(step: HistoryStep): Assignment[] {
  const where = stepPlace(step);
  const pairs = [
    ...step.buildArgs.map((a) => ({ name: a.slice(0, a.indexOf('=')), value: a.slice(a.indexOf('=') + 1) })),
    ...(step.instruction === 'ENV' || step.instruction === 'ARG' ? instructionAssignments(step.args) : []),
    ...(step.instruction === 'RUN' ? shellAssignments(step.args) : []),
  ];
  return pairs.map((p) => ({ ...p, where: `${where}${step.buildArgs.some((a) => a.startsWith(`${p.name}=`)) ? ' build argument' : ''}` }));
}

/** Characters that end a URL's userinfo. */
const USERINFO_END = new Set(['/', '@', '"', "'", ' ', '\t', '\n', '\r']);

/**
 * The passwords of the URLs in `text` (`scheme://user:PASSWORD@host`), `$VAR` references left
 * out. Scanned from each `://` to the end of the userinfo, so the work is linear in the text
 * (a pattern over the whole scheme backtracks on long texts, and a config may hold 8 MiB).
 */
export function urlPasswords(text: string): string[] {
  const out: string[] = [];
  for (let at = text.indexOf('://'); at >= 0; at = text.indexOf('://', at + 3)) {
    if (!/[a-zA-Z0-9+.-]/.test(text[at - 1] ?? '')) continue;
    let end = at + 3;
    while (end < text.length && !USERINFO_END.has(text[end] ?? '')) end++;
    if (text[end] !== '@') continue;
    const userinfo = text.slice(at + 3, end);
    const colon = userinfo.indexOf(':');
    const password = colon >= 0 ? userinfo.slice(colon + 1) : '';
    if (password !== '' && !password.startsWith('$')) out.push(password);
  }
  return out;
}

/** The known-shape credentials in `text` (tokens, URL passwords that are not `$VAR` references). */
export function shapedSecrets(text: string): Array<{ kind: string; secret: string }> {
  const out: Array<{ kind: string; secret: string }> = [];
  for (const { kind, pattern } of SECRET_SHAPES) for (const m of text.matchAll(pattern)) out.push({ kind, secret: m[0] });
  for (const password of urlPasswords(text)) out.push({ kind: 'password in a URL', secret: password });
  return out;
}

/** The credentials among `assignments` and in `texts` (known shapes), each secret once per place. */
export function findSecrets(
  assignments: readonly Assignment[],
  texts: ReadonlyArray<{ text: string; where: string }>,
  isSecretName: (name: string) => boolean,
): Finding[] {
  const found: Finding[] = [];
  const seen = new Set<string>();
  const add = (f: Finding): void => {
    const key = `${f.where}\0${f.secret}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push(f);
  };
  for (const a of assignments) {
    const shaped = shapedSecrets(a.value);
    for (const s of shaped) add({ what: `${a.name} (${s.kind})`, where: a.where, secret: s.secret });
    if (shaped.length === 0 && isSecretName(a.name) && notSecretBecause(a.name, a.value) === undefined)
      add({ what: a.name, where: a.where, secret: a.value.trim() });
  }
  for (const t of texts) {
    // Shapes in text already found through an assignment of the same place are not repeated.
    for (const s of shapedSecrets(t.text))
      if (!found.some((f) => f.where.startsWith(t.where) && f.secret === s.secret)) add({ what: s.kind, where: t.where, secret: s.secret });
  }
  return found;
}

/** The check for a policy's data (the defaults without). */
export function createSecretsEnvCheck(data: SecretEnvData = {}): Check {
  const isSecretName = secretNameRule(data);
  return {
    id: 'secrets-env',
    title: 'Credentials in the environment and history',
    severity: 'Critical',
    mitigation:
      'Never put credentials in ENV, ARG or RUN lines: they stay in the image config and history for everyone who can pull it. Pass them at run time (secrets, mounted files, *_FILE variables) and use build secrets (RUN --mount=type=secret) at build time; revoke any credential that was published',
    run(input) {
      const env = (input.config.config?.Env ?? []).flatMap((e): Assignment[] => {
        const eq = e.indexOf('=');
        return eq <= 0 ? [] : [{ name: e.slice(0, eq), value: e.slice(eq + 1), where: 'Env' }];
      });
      const steps = inputHistory(input);
      const assignments = [...env, ...steps.flatMap(stepAssignments)];
      const found = findSecrets(
        assignments,
        steps.map((s) => ({ text: s.raw, where: stepPlace(s) })),
        isSecretName,
      );
      if (found.length > 0)
        return {
          pass: false,
          description: `Credentials found (values redacted): ${found.map((f) => `${f.what} in ${f.where}: ${fingerprint(f.secret)}`).join('; ')}`,
        };
      return { pass: true, description: `No credential in ${env.length} Env variable(s) and ${steps.length} history entries` };
    },
  };
}

/** The check with the default data. */
export const secretsEnvCheck: Check = createSecretsEnvCheck();
