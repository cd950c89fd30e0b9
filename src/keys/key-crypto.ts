import { base64url, type JWK } from "jose";

/**
 * Encryption at rest of the signing keys' private JWKs (AS §5.3): AES-256-GCM (WebCrypto) under the
 * `SIGNING_KEY_ENCRYPTION_KEY` Workers secret, a base64url-encoded 32-byte key
 * (docs/deployment.md says how to make one). Nothing here logs or returns key material in text.
 */

/** The tag of the stored format; an unknown tag never decrypts, so the format can change later. */
const SEALED_TAG = "a256gcm.v1$";
const KEY_BYTES = 32;
const IV_BYTES = 12;

/** The encryption secret is missing or is not a base64url-encoded 32-byte key. */
export class EncryptionKeyConfigError extends Error {
  constructor(reason: string) {
    super(`SIGNING_KEY_ENCRYPTION_KEY ${reason}; expected the base64url encoding of 32 random bytes`);
    this.name = "EncryptionKeyConfigError";
  }
}

/** One imported key per isolate: the secret is the same for every request of a deployment. */
let imported: { secret: string; key: Promise<CryptoKey> } | undefined;

/**
 * The AES-GCM key behind the secret (non-extractable). Throws `EncryptionKeyConfigError` when the
 * secret is missing or malformed; the error names the variable, never its value.
 */
export async function importEncryptionKey(secret: string | undefined): Promise<CryptoKey> {
  if (secret === undefined || secret.trim() === "") throw new EncryptionKeyConfigError("is not set");
  if (imported?.secret === secret) return imported.key;
  const key = crypto.subtle.importKey("raw", decodeSecret(secret), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  imported = { secret, key };
  return key;
}

/** Unpadded base64url of 32 bytes: 43 characters. Standard base64 (`+`, `/`, `=`) is refused, not guessed at. */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function decodeSecret(secret: string): Uint8Array<ArrayBuffer> {
  const text = secret.trim();
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new EncryptionKeyConfigError("is not base64url");
  if (!SECRET_PATTERN.test(text)) {
    throw new EncryptionKeyConfigError(`decodes to ${Math.floor((text.length * 6) / 8)} bytes, not 32`);
  }
  const bytes = new Uint8Array(base64url.decode(text));
  if (bytes.length !== KEY_BYTES) throw new EncryptionKeyConfigError(`decodes to ${bytes.length} bytes, not 32`);
  return bytes;
}

/**
 * Encrypts a private JWK as `a256gcm.v1$<iv>.<ciphertext>` (both base64url; the ciphertext ends
 * with GCM's 16-byte tag). `kid` is bound as additional authenticated data, so a ciphertext moved
 * to another row does not decrypt.
 */
export async function sealPrivateJwk(key: CryptoKey, jwk: JWK, kid: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const plaintext = new TextEncoder().encode(JSON.stringify(jwk));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(kid) },
    key,
    plaintext,
  );
  return `${SEALED_TAG}${base64url.encode(iv)}.${base64url.encode(new Uint8Array(ciphertext))}`;
}

/**
 * Decrypts what `sealPrivateJwk` wrote for `kid`. Undefined when it cannot be opened with this key:
 * another encryption key, another row's ciphertext, a tampered or unknown format.
 */
export async function openPrivateJwk(key: CryptoKey, sealed: string, kid: string): Promise<JWK | undefined> {
  if (!sealed.startsWith(SEALED_TAG)) return undefined;
  const [ivText, ciphertextText, ...rest] = sealed.slice(SEALED_TAG.length).split(".");
  if (ivText === undefined || ciphertextText === undefined || rest.length > 0) return undefined;
  try {
    const plaintext = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: new Uint8Array(base64url.decode(ivText)),
        additionalData: new TextEncoder().encode(kid),
      },
      key,
      new Uint8Array(base64url.decode(ciphertextText)),
    );
    const jwk: unknown = JSON.parse(new TextDecoder().decode(plaintext));
    return jwk !== null && typeof jwk === "object" && !Array.isArray(jwk) ? (jwk as JWK) : undefined;
  } catch {
    // An authentication failure (wrong key, tampering) and bad base64url mean the same here.
    return undefined;
  }
}
