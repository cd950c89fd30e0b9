import { base64url, type JWK } from "jose";
import { describe, it } from "vitest";
import {
  EncryptionKeyConfigError,
  importEncryptionKey,
  openPrivateJwk,
  sealPrivateJwk,
} from "../../src/keys/key-crypto";
import { signingKeySettings } from "../../src/keys/settings";
import { otherSecret, TEST_SECRET } from "../helpers/signing-keys";

// The encryption at rest of the private signing keys (AS §5.3, src/keys/key-crypto.ts) and the
// signing keys' configuration (AS §11, src/keys/settings.ts).

const PRIVATE_JWK: JWK = { kty: "EC", crv: "P-256", x: "eA", y: "eQ", d: "c2VjcmV0LXNjYWxhcg" };

describe("sealing a private JWK", () => {
  it("round-trips under the same key and kid, with a fresh IV every time", async ({ expect }) => {
    const key = await importEncryptionKey(TEST_SECRET);
    const first = await sealPrivateJwk(key, PRIVATE_JWK, "kid-1");
    const second = await sealPrivateJwk(key, PRIVATE_JWK, "kid-1");
    expect(first).toMatch(/^a256gcm\.v1\$[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain(PRIVATE_JWK.d);
    expect(await openPrivateJwk(key, first, "kid-1")).toEqual(PRIVATE_JWK);
    expect(await openPrivateJwk(key, second, "kid-1")).toEqual(PRIVATE_JWK);
  });

  it("does not open under another key, for another kid, tampered or in an unknown format", async ({ expect }) => {
    const key = await importEncryptionKey(TEST_SECRET);
    const sealed = await sealPrivateJwk(key, PRIVATE_JWK, "kid-1");
    const other = await importEncryptionKey(otherSecret());
    expect(await openPrivateJwk(other, sealed, "kid-1")).toBeUndefined();
    // The kid is authenticated data: a ciphertext copied into another row does not decrypt there.
    expect(await openPrivateJwk(key, sealed, "kid-2")).toBeUndefined();
    const [iv, ciphertext] = sealed.slice("a256gcm.v1$".length).split(".") as [string, string];
    const flipped = base64url.decode(ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(await openPrivateJwk(key, `a256gcm.v1$${iv}.${base64url.encode(flipped)}`, "kid-1")).toBeUndefined();
    expect(await openPrivateJwk(key, sealed.replace("a256gcm.v1$", "a256gcm.v2$"), "kid-1")).toBeUndefined();
    expect(await openPrivateJwk(key, `${sealed}.extra`, "kid-1")).toBeUndefined();
    expect(await openPrivateJwk(key, "a256gcm.v1$***.***", "kid-1")).toBeUndefined();
  });
});

describe("the encryption secret", () => {
  it.for([
    { label: "missing", secret: undefined, reason: "is not set" },
    { label: "empty", secret: "  ", reason: "is not set" },
    { label: "standard base64 with padding", secret: `${btoa("k".repeat(32))}`, reason: "is not base64url" },
    { label: "16 bytes", secret: base64url.encode(new Uint8Array(16)), reason: "decodes to 16 bytes, not 32" },
    { label: "33 bytes", secret: base64url.encode(new Uint8Array(33)), reason: "decodes to 33 bytes, not 32" },
    { label: "a passphrase", secret: "correct horse battery staple", reason: "is not base64url" },
  ])("is refused when $label, naming the variable but not the value", async ({ secret, reason }, { expect }) => {
    const error = await importEncryptionKey(secret).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncryptionKeyConfigError);
    const message = (error as Error).message;
    expect(message).toBe(`SIGNING_KEY_ENCRYPTION_KEY ${reason}; expected the base64url encoding of 32 random bytes`);
    if (secret?.trim()) expect(message).not.toContain(secret);
  });

  it("is imported once per isolate and not extractable", async ({ expect }) => {
    const key = await importEncryptionKey(TEST_SECRET);
    expect(await importEncryptionKey(TEST_SECRET)).toBe(key);
    expect(key.extractable).toBe(false);
    expect(key.algorithm).toMatchObject({ name: "AES-GCM", length: 256 });
  });
});

describe("signing-key settings (AS §11)", () => {
  it("reads the vars in seconds and keeps the secret as configured", ({ expect }) => {
    expect(
      signingKeySettings({
        SIGNING_KEY_ENCRYPTION_KEY: "s",
        SIGNING_KEY_ROTATE_SECONDS: "7200",
        ACCESS_TOKEN_TTL_SECONDS: "900",
        ACCESS_TOKEN_ALG: "RS256",
      }),
    ).toEqual({ encryptionSecret: "s", rotateAfterMs: 7_200_000, accessTokenTtlMs: 900_000, accessTokenAlg: "RS256" });
  });

  it.for(["", " ", "abc", "0", "-5", "1.5", "1e4", "0x10", "NaN", "9".repeat(20), "3600s"])(
    "falls back to the defaults (4 h, 1 h) for %j",
    (value, { expect }) => {
      const settings = signingKeySettings({ SIGNING_KEY_ROTATE_SECONDS: value, ACCESS_TOKEN_TTL_SECONDS: value });
      expect(settings).toMatchObject({ rotateAfterMs: 14_400_000, accessTokenTtlMs: 3_600_000 });
    },
  );

  it("falls back to the defaults when the vars are missing, and never rotates faster than every 10 minutes", ({
    expect,
  }) => {
    expect(signingKeySettings({})).toEqual({
      encryptionSecret: undefined,
      rotateAfterMs: 14_400_000,
      accessTokenTtlMs: 3_600_000,
      accessTokenAlg: "ES256",
    });
    expect(signingKeySettings({ SIGNING_KEY_ROTATE_SECONDS: "60" }).rotateAfterMs).toBe(600_000);
  });
});
