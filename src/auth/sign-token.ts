/**
 * Mints an HS256 x-signature the way a DocSpace backend does. The gateway itself never signs;
 * this serves `npm run sign`, the tests and the benchmark. Kept free of imports so Node can
 * run it directly from scripts/.
 */

function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Encodes a JSON value as a base64url JWS segment. */
export function encodeJsonSegment(value: unknown): string {
  return base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));
}

/** Signs `header.payload` with HMAC-SHA-256 under the given raw key bytes and returns the compact JWS. */
export async function signJws(
  payload: Record<string, unknown>,
  keyBytes: Uint8Array<ArrayBuffer>,
  header: Record<string, unknown> = { alg: "HS256", typ: "JWT" },
): Promise<string> {
  const signingInput = `${encodeJsonSegment(header)}.${encodeJsonSegment(payload)}`;
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput)));
  return `${signingInput}.${base64UrlEncode(mac)}`;
}
