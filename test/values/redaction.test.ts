import { describe, expect, it } from "vitest";
import { scrubText } from "../../src/values/redaction.js";

describe("scrubText: a credential after an auth scheme", () => {
  it.each([
    ["Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.sig", "Authorization: Bearer [REDACTED]"],
    ["Basic dXNlcjpwYXNz", "Basic [REDACTED]"],
    ["token abc123def", "token [REDACTED]"],
    ["Bearer bearerTokTt", "Bearer [REDACTED]"],
  ])("%s is censored", (text, shown) => {
    expect(scrubText(text)).toBe(shown);
  });

  it.each(["stage basic started", "stage basic finished in 2 s", "the token expired yesterday", "Digest authentication failed"])(
    "a plain word after the scheme is prose, kept: %s",
    (text) => {
      expect(scrubText(text)).toBe(text);
    },
  );
});
