/**
 * `WWW-Authenticate` parsing (RFC 7235 §4.1 challenges with RFC 7230 quoted strings), as the
 * registry token flow uses it: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
 * A header may carry several challenges; parameters may be tokens or quoted strings with `\`
 * escapes. Never throws: what cannot be parsed is left out.
 */

export interface AuthChallenge {
  /** Lower-cased scheme: `basic`, `bearer`, … */
  scheme: string;
  /** Lower-cased parameter names. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

/** All challenges in a `WWW-Authenticate` header value. */
export function parseChallenges(header: string | null | undefined): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  if (!header) return out;
  let i = 0;
  const s = header;
  const skipWs = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const readToken = (): string | null => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(s);
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  const readQuoted = (): string => {
    let v = "";
    i++; // opening quote
    while (i < s.length && s[i] !== '"') {
      if (s[i] === "\\" && i + 1 < s.length) i++;
      v += s[i];
      i++;
    }
    i++; // closing quote
    return v;
  };
  while (i < s.length) {
    skipWs();
    while (s[i] === ",") {
      i++;
      skipWs();
    }
    const scheme = readToken();
    if (scheme === null) break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    skipWs();
    // auth-params: name=value pairs separated by commas, until the next scheme token.
    for (;;) {
      skipWs();
      const save = i;
      const name = readToken();
      if (name === null) break;
      skipWs();
      if (s[i] !== "=") {
        i = save; // a new challenge starts here
        break;
      }
      i++;
      skipWs();
      const value = s[i] === '"' ? readQuoted() : readToken() ?? "";
      challenge.params[name.toLowerCase()] = value;
      skipWs();
      if (s[i] === ",") i++;
      else break;
    }
  }
  return out;
}
