/** The placeholder written wherever a secret was. */
export const REDACTED = "[REDACTED]";

// Matches key names, not values: `apiKey`, `TMDB_API_KEY`, `db.password`, `Authorization`...
// A key ending in one of these words (`tmdbApiKey`, `db_password`, `clientSecret`)...
const SECRET_KEY =
  /(password|passwd|passphrase|secret|token|api[-_]?key|access[-_]?key|account[-_]?key|shared[-_]?access[-_]?key|private[-_]?key|authori[sz]ation|credentials?|cookie|session[-_]?id|signature|bearer)$/i;
// ...or holding one as a whole word between separators (`db.pass`, `auth_header`); `bypass` and `author` are not secrets.
const SECRET_WORD = /(^|[-_.])(pass|pwd|secret|token|apikey|auth|credentials?)([-_.]|$)/i;

const secretKeyCache = new Map<string, boolean>();

/**
 * True when a config, metadata or log key looks like it holds a credential.
 * The one rule for config, metadata, resources, log fields and `KEY=VALUE`
 * text alike.
 */
export function isSecretKey(key: string): boolean {
  let hit = secretKeyCache.get(key);
  if (hit === undefined) {
    hit = SECRET_KEY.test(key) || SECRET_WORD.test(key);
    // Log field names are few; a program that invents keys per line must not grow this without bound.
    if (secretKeyCache.size < 10_000) secretKeyCache.set(key, hit);
  }
  return hit;
}

// Query parameters that carry a credential in signed or authenticated URLs
// (`?sig=` of Azure SAS, `X-Amz-Signature`, `?key=` of Google APIs, OAuth `code`).
const CREDENTIAL_PARAM = /^(sig|key|code|pass|pw|pwd|auth|x-amz-(signature|credential|security-token)|x-goog-(signature|credential))$/i;

/** True when a URL query parameter of this name holds a credential. */
export function isCredentialParam(name: string): boolean {
  return CREDENTIAL_PARAM.test(name) || isSecretKey(name);
}

// Cheap test first: most text (and most log lines) holds none of these.
const MAYBE_SECRET = /=|:\/\/|bearer|basic|token|PRIVATE KEY/i;
// `scheme://user:password@host`: the password (or a lone token before `@`).
const URL_USERINFO = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/@"'\\?#<>]+)@/g;
// `name=value` where the name looks secret: `--password=x`, `DB_PASSWORD=x`,
// `Password=x;` of a connection string, `?token=x&` of a URL. A value stops
// at whitespace, quotes, a backslash (a JSON escape) and `&`, `;`, `,`.
const KEY_VALUE = /(^|[^\w.])([A-Za-z_][\w.-]*)=([^\s&;,"'\\<>]*)/g;
const PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?:[^"\\]|\\[\s\S])*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|(?="|$))/g;
const AUTH_SCHEME = /\b(Bearer|Basic|Token|Digest)(\s+)([A-Za-z0-9._~+/=-]{6,})/gi;
/**
 * A credential after an auth scheme has a digit, a symbol or both cases in
 * it (base64, a JWT, a random token); a plain word does not: `stage basic
 * started` is prose, `Basic dXNlcjpwYXNz` is a credential.
 */
const looksLikeCredential = (value: string): boolean => /[0-9._~+/=-]/.test(value) || (/[a-z]/.test(value) && /[A-Z]/.test(value));

/**
 * `text` with whatever looks like a credential replaced by `[REDACTED]`:
 * URL userinfo, credential query parameters, `name=value` pairs whose name
 * looks secret (connection strings, `--password=`), private key blocks and
 * `Bearer`/`Basic` credentials. Safe on a serialized JSON line: no
 * replacement crosses a quote or an escape.
 */
export function scrubText(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  return text
    .replace(PRIVATE_KEY, (_m, kind: string) => `-----BEGIN ${kind}PRIVATE KEY-----${REDACTED}-----END ${kind}PRIVATE KEY-----`)
    .replace(URL_USERINFO, (_m, scheme: string, info: string) => {
      const colon = info.indexOf(":");
      return `${scheme}${colon < 0 ? REDACTED : `${info.slice(0, colon)}:${REDACTED}`}@`;
    })
    .replace(KEY_VALUE, (m, pre: string, name: string, value: string) => {
      if (value === "" || value === REDACTED) return m;
      const inQuery = pre === "?" || pre === "&";
      return (inQuery ? isCredentialParam(name) : isSecretKey(name)) ? `${pre}${name}=${REDACTED}` : m;
    })
    .replace(AUTH_SCHEME, (m, scheme: string, space: string, value: string) =>
      looksLikeCredential(value) ? `${scheme}${space}${REDACTED}` : m,
    );
}

/** A URL (an OTLP endpoint, a tracked URI) without its userinfo password or credential query parameters. */
export function redactUrl(url: string): string {
  return scrubText(url);
}

/**
 * A command line as it may be recorded: `--password=x` and `--token x`
 * style arguments, `Authorization: Bearer x` headers and URLs with
 * credentials have the secret replaced by `[REDACTED]`.
 */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let hideNext = false;
  for (const arg of argv) {
    if (hideNext) {
      out.push(REDACTED);
      hideNext = false;
      continue;
    }
    const flag = /^--?([A-Za-z][\w.-]*)$/.exec(arg);
    if (flag && isSecretKey(flag[1]!)) hideNext = true;
    out.push(scrubText(arg));
  }
  return out;
}

/**
 * The secret values of a command line (what follows `--token`, the value of
 * `--password=x`, a Bearer credential), so they can be scrubbed from the
 * command's own output too when it echoes them.
 */
export function argvSecrets(argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((arg, i) => {
    const prev = i > 0 ? /^--?([A-Za-z][\w.-]*)$/.exec(argv[i - 1]!) : null;
    if (prev && isSecretKey(prev[1]!)) out.push(arg);
    const kv = /^--?([A-Za-z][\w.-]*)=(.+)$/.exec(arg);
    if (kv && isSecretKey(kv[1]!)) out.push(kv[2]!);
    const credential = /\b(?:Bearer|Basic|Token)\s+(\S{6,})/i.exec(arg);
    if (credential) out.push(credential[1]!);
  });
  return out;
}

/**
 * Values known to be secrets (learned from redacted keys) are also scrubbed
 * from free text: warnings, error messages. Short values are ignored because
 * replacing "1" or "yes" everywhere would mangle unrelated text.
 */
export class SecretValues {
  private readonly values = new Set<string>();

  remember(value: unknown): void {
    if (typeof value !== "string" || value.length < 6) return;
    this.values.add(value);
    // `Authorization: Bearer <token>`: the token alone is the secret too, wherever it shows up later.
    const credential = /^(?:Bearer|Basic|Token|Digest)\s+(\S{6,})$/i.exec(value.trim())?.[1];
    if (credential) this.values.add(credential);
  }

  get size(): number {
    return this.values.size;
  }

  scrub(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return scrubText(out);
  }
}
