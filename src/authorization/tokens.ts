/**
 * The random values of the authorization server's store (AS §4, §5.2) and their at-rest form.
 * Codes, refresh tokens, pending-request ids and CSRF tokens are 32 bytes from the CSPRNG (256
 * bits), base64url; D1 keeps only the SHA-256 of a code, token or CSRF token. A fast unkeyed hash
 * is enough for values that random: nobody can guess a preimage, and a leaked table leaks no
 * usable credential.
 */

/** Bytes of every random value here; OAuth 2.1 and RFC 9700 ask for at least 128 bits. */
export const RANDOM_BYTES = 32;

function toBase64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** A fresh random value, base64url without padding (43 characters). */
export function randomToken(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)));
}

/** The at-rest form of a code, refresh token or CSRF token: base64url of its SHA-256. */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return toBase64Url(new Uint8Array(digest));
}
