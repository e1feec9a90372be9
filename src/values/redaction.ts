/** The placeholder written wherever a secret was. */
export const REDACTED = "[REDACTED]";

// Matches key names, not values: `apiKey`, `TMDB_API_KEY`, `db.password`, `Authorization`...
// A key ending in one of these words (`tmdbApiKey`, `db_password`, `clientSecret`)...
const SECRET_KEY =
  /(password|passwd|passphrase|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|authori[sz]ation|credentials?|cookie|session[-_]?id|signature|bearer)$/i;
// ...or holding one as a whole word between separators (`db.pass`, `auth_header`); `bypass` and `author` are not secrets.
const SECRET_WORD = /(^|[-_.])(pass|pwd|secret|token|apikey|auth|credentials?)([-_.]|$)/i;

/** True when a config, metadata or log key looks like it holds a credential. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) || SECRET_WORD.test(key);
}

/**
 * Key names pino should censor in every log line, at the top level and one
 * level down (pino's `redact` paths need exact keys, not patterns).
 */
export const LOG_REDACT_KEYS = [
  "password",
  "passwd",
  "secret",
  "token",
  "apiKey",
  "api_key",
  "apikey",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "authorization",
  "Authorization",
  "clientSecret",
  "client_secret",
  "privateKey",
  "private_key",
  "cookie",
];

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
    return out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`);
  }
}
