// Apart from file-fingerprint.ts (which loads node:crypto), for what only needs to tell a URI from a path.

/** A `scheme://` prefix. */
export const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** True for `s3://bucket/key`, `https://host/path` and other `scheme://` locations: recorded as given, never opened. */
export function isUri(path: string): boolean {
  return URI_SCHEME.test(path);
}
