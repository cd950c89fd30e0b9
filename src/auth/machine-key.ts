/**
 * DocSpace's x-signature HMAC key, derived from its machine key string exactly as the
 * DocSpace backend does (SPEC §3): a port of .NET's legacy subtractive `System.Random`,
 * with DocSpace's own quirk of wrapping the indices at 55 rather than 56.
 */

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const MSEED = 161803398;
export const SIGNATURE_KEY_LENGTH = 256;

/** Derives the 256-byte HMAC key from the machine key string. Pure and deterministic. */
export function deriveSignatureKeyBytes(machineKey: string): Uint8Array<ArrayBuffer> {
  const utf8 = new TextEncoder().encode(machineKey);
  const b = new Uint8Array(4 + utf8.length);
  b.set(utf8, 4);
  const seed = new DataView(b.buffer).getInt32(b.length - 4, true);

  const slots = new Int32Array(56);
  const n4 = seed === INT32_MIN ? INT32_MAX : Math.abs(seed);
  let n2 = (MSEED - n4) | 0;
  slots[55] = n2;
  let n3 = 1;
  for (let i = 1; i < 55; i++) {
    const idx = (21 * i) % 55;
    slots[idx] = n3;
    n3 = (n2 - n3) | 0;
    if (n3 < 0) n3 = (n3 + INT32_MAX) | 0;
    n2 = slots[idx] ?? 0;
  }
  for (let round = 0; round < 4; round++) {
    for (let k = 1; k < 56; k++) {
      let v = ((slots[k] ?? 0) - (slots[1 + ((k + 30) % 55)] ?? 0)) | 0;
      if (v < 0) v = (v + INT32_MAX) | 0;
      slots[k] = v;
    }
  }

  let inext = 0;
  let inextp = 21;
  const out = new Uint8Array(SIGNATURE_KEY_LENGTH);
  for (let i = 0; i < SIGNATURE_KEY_LENGTH; i++) {
    if (++inext >= 55) inext = 1;
    if (++inextp >= 55) inextp = 1;
    let num = ((slots[inext] ?? 0) - (slots[inextp] ?? 0)) | 0;
    if (num === INT32_MAX) num = (num - 1) | 0;
    if (num < 0) num = (num + INT32_MAX) | 0;
    slots[inext] = num;
    out[i] = num % 256;
  }
  return out;
}

let cached: { machineKey: string; key: Promise<CryptoKey> } | undefined;

/**
 * The imported HMAC-SHA-256 verification key for a machine key. Derived and imported once
 * per isolate and reused by every request; re-derived only if the configured key changes.
 */
export function signatureVerificationKey(machineKey: string): Promise<CryptoKey> {
  if (cached?.machineKey !== machineKey) {
    const key = crypto.subtle.importKey(
      "raw",
      deriveSignatureKeyBytes(machineKey),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify", "sign"],
    );
    cached = { machineKey, key };
    // A failed import must not poison the cache for later requests.
    key.catch(() => {
      if (cached?.key === key) cached = undefined;
    });
  }
  return cached.key;
}
