/**
 * Client secrets (SPEC §7): generated from a CSPRNG, stored only as a tagged HMAC-SHA-256
 * under the `CLIENT_SECRET_PEPPER` Workers secret, compared in constant time.
 */

const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const CLIENT_SECRET_LENGTH = 36;
/** Algorithm/version tag, so the hashing scheme can change without ambiguity. */
export const SECRET_HASH_VERSION = "hmac-sha256.v1";

/** 36 characters of [A-Za-z0-9], uniformly distributed (rejection sampling avoids modulo bias). */
export function generateClientSecret(): string {
  let secret = "";
  // 248 = 4 × 62: bytes at or above it would bias the first characters.
  while (secret.length < CLIENT_SECRET_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(64))) {
      if (byte < 248 && secret.length < CLIENT_SECRET_LENGTH) secret += SECRET_ALPHABET[byte % 62];
    }
  }
  return secret;
}

const peppers = new Map<string, Promise<CryptoKey>>();

function pepperKey(pepper: string): Promise<CryptoKey> {
  let key = peppers.get(pepper);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(pepper), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    peppers.clear();
    peppers.set(pepper, key);
  }
  return key;
}

/** base64url of a MAC (32 bytes: small enough to spread into one call). */
function toBase64Url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** `hmac-sha256.v1$<base64url MAC>` of the secret under the pepper. */
export async function hashClientSecret(secret: string, pepper: string): Promise<string> {
  if (!pepper) throw new Error("CLIENT_SECRET_PEPPER is not configured");
  const mac = await crypto.subtle.sign("HMAC", await pepperKey(pepper), new TextEncoder().encode(secret));
  return `${SECRET_HASH_VERSION}$${toBase64Url(mac)}`;
}

/** Constant-time comparison of two equal-purpose strings (length differences leak only length). */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return false;
  return crypto.subtle.timingSafeEqual(x, y);
}
