/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1). Registries send one challenge per header or
 * several in one header (`Bearer realm="…",service="…", Basic realm="…"`), and some send the
 * header more than once; all of them are returned, in order.
 */

/** One authentication challenge: a lower-cased scheme and its parameters (names lower-cased). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
/** token68 characters (RFC 9110 §11.2), for `Scheme abc==` challenges we do not use but must skip. */
const TOKEN68_CHAR = /[A-Za-z0-9._~+/=-]/;

/** Parses every challenge of one or more `WWW-Authenticate` header values. Never throws. */
export function parseChallenges(headers: string | readonly string[] | undefined): Challenge[] {
  if (headers === undefined) return [];
  const values = typeof headers === 'string' ? [headers] : headers;
  return values.flatMap((v) => parseOne(v));
}

function parseOne(text: string): Challenge[] {
  const out: Array<{ scheme: string; params: Record<string, string> }> = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < text.length && TOKEN_CHAR.test(text[i] ?? '')) i++;
    return text.slice(start, i);
  };
  const readBare = (): string => {
    const start = i;
    while (i < text.length && text[i] !== ',' && text[i] !== ' ' && text[i] !== '\t') i++;
    return text.slice(start, i);
  };
  const readQuoted = (): string => {
    // at the opening quote
    i++;
    let value = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < text.length) i++;
      value += text[i];
      i++;
    }
    i++; // closing quote (or end)
    return value;
  };
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (i < text.length) {
    skipSpace();
    if (text[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const token = readToken();
    if (token === '') {
      i++; // skip a stray character
      continue;
    }
    skipSpace();
    if (text[i] === '=' && current !== undefined && !/^=+\s*(,|$)/.test(text.slice(i))) {
      // auth-param of the current challenge
      i++;
      skipSpace();
      // Lenient: an unquoted value runs to the next comma or space (some servers send bare URLs).
      const value = text[i] === '"' ? readQuoted() : readBare();
      current.params[token.toLowerCase()] = value;
      continue;
    }
    if (text[i] === '=' && current === undefined) {
      // a parameter before any scheme: malformed; skip it
      i = start + token.length + 1;
      if (text[i] === '"') readQuoted();
      else readToken();
      continue;
    }
    // a new challenge: `token` is its scheme
    current = { scheme: token.toLowerCase(), params: {} };
    out.push(current);
    skipSpace();
    // token68 form (`Negotiate abc==`): consume it so it is not read as a scheme
    const rest = text.slice(i);
    const t68 = /^[A-Za-z0-9._~+/-]+=*(?=\s*(,|$))/.exec(rest);
    if (t68 && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=[^=]/.test(rest) && TOKEN68_CHAR.test(rest[0] ?? '')) {
      i += t68[0].length;
    }
  }
  return out;
}

/** The first challenge with the given scheme (`bearer`, `basic`). */
export function findChallenge(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  return challenges.find((c) => c.scheme === scheme);
}
