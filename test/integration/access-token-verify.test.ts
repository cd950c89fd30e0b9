import { env } from "cloudflare:workers";
import {
  base64url,
  decodeProtectedHeader,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { beforeEach, describe, it } from "vitest";
import { createDb } from "../../src/db/client";
import type { SigningAlg } from "../../src/db/schema";
import { signingKeySettings } from "../../src/keys/settings";
import {
  currentSigningKey,
  PUBLISH_BEFORE_USE_MS,
  publishedKeys,
  rotateSigningKeys,
  type SigningKeyDeps,
} from "../../src/keys/signing-keys";
import { HttpProblem } from "../../src/lib/problem";
import { type AccessTokenInput, mintAccessToken, verifyAccessToken } from "../../src/tokens/access-token";
import { issuerFor } from "../../src/tokens/issuer";
import { faultyD1 } from "../helpers/faults";
import { keyDeps, ROTATE_MS, resetSigningKeys, storedKeys } from "../helpers/signing-keys";

// verifyAccessToken (what introspection, AS §7, will call): our tokens, signed by a key our JWKS
// publishes, and nothing else. Every forgery below is signed properly except for the one thing it
// gets wrong, so each null is owed to that one check. The clock is injected; the keys table is
// global, so each test starts from an empty one (this file never reads the worker's cached JWKS).

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const ORIGIN = "https://tenant.example";
const ISSUER = issuerFor(ORIGIN);
const SKEW_MS = 60_000;
const TTL_MS = 3_600_000;

function input(now: number, overrides: Partial<AccessTokenInput> = {}): AccessTokenInput {
  return {
    issuer: ISSUER,
    audience: ORIGIN,
    subject: "3a2b8f4e-6c1d-4e5f-9a0b-1c2d3e4f5a6b",
    clientId: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    tenantId: 7,
    scopes: ["files:read"],
    now,
    ...overrides,
  };
}

const verifyAt = (now: number, token: unknown, issuer = ISSUER) =>
  verifyAccessToken(keyDeps(now).deps, token, { issuer, now });

/** The claims a minted token carries, to re-sign altered copies of them. */
function payloadOf(token: string): JWTPayload {
  return JSON.parse(new TextDecoder().decode(base64url.decode(token.split(".")[1] ?? ""))) as JWTPayload;
}

/** Signs `payload` with our current `alg` key and `header` (default: what mintAccessToken writes). */
async function signWithOurKey(deps: SigningKeyDeps, alg: SigningAlg, payload: JWTPayload, header = {}) {
  const key = await currentSigningKey(deps, alg);
  return new SignJWT(payload).setProtectedHeader({ alg, kid: key.kid, typ: "at+jwt", ...header }).sign(key.privateKey);
}

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

beforeEach(resetSigningKeys);

describe("our tokens", () => {
  it.for(["ES256", "RS256"] as const)("%s: verifies and returns exactly the minted claims", async (alg, { expect }) => {
    const { deps } = keyDeps(T0, { accessTokenAlg: alg });
    const { token, jti } = await mintAccessToken(deps, input(T0, { scopes: ["files:read", "rooms:write"] }));
    const iat = T0 / 1000;
    expect(await verifyAt(T0 + 1000, token)).toEqual({
      iss: ISSUER,
      aud: ORIGIN,
      sub: "3a2b8f4e-6c1d-4e5f-9a0b-1c2d3e4f5a6b",
      client_id: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
      cid: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
      tid: 7,
      scope: ["files:read", "rooms:write"],
      iat,
      nbf: iat,
      exp: iat + 3600,
      jti,
    });
  });

  it("still verifies tokens of the other algorithm after ACCESS_TOKEN_ALG changes", async ({ expect }) => {
    const { token } = await mintAccessToken(keyDeps(T0, { accessTokenAlg: "RS256" }).deps, input(T0));
    const es256 = keyDeps(T0, signingKeySettings({ ...env, ACCESS_TOKEN_ALG: "ES256" })).deps;
    expect(await verifyAccessToken(es256, token, { issuer: ISSUER, now: T0 })).not.toBeNull();
  });
});

describe("time (60 s skew)", () => {
  it("is valid until exp + 59 s and null from exp + 60 s", async ({ expect }) => {
    const { token } = await mintAccessToken(keyDeps(T0).deps, input(T0));
    const exp = T0 + TTL_MS;
    expect(await verifyAt(exp - 1, token)).not.toBeNull();
    expect(await verifyAt(exp + SKEW_MS - 1, token)).not.toBeNull();
    expect(await verifyAt(exp + SKEW_MS, token)).toBeNull();
    expect(await verifyAt(exp + 24 * TTL_MS, token)).toBeNull();
  });

  it("is valid from nbf - 60 s and null before", async ({ expect }) => {
    const { token } = await mintAccessToken(keyDeps(T0).deps, input(T0));
    expect(await verifyAt(T0 - SKEW_MS, token)).not.toBeNull();
    expect(await verifyAt(T0 - SKEW_MS - 1000, token)).toBeNull();
    expect(await verifyAt(T0 - TTL_MS, token)).toBeNull();
  });
});

describe("forgeries and foreign tokens are null", () => {
  it("a tampered payload or signature", async ({ expect }) => {
    const { token } = await mintAccessToken(keyDeps(T0).deps, input(T0));
    const [header, payload, signature = ""] = token.split(".");
    const widened = encode({ ...payloadOf(token), scope: ["files:read", "accounts:write"] });
    expect(await verifyAt(T0, `${header}.${widened}.${signature}`)).toBeNull();
    const otherTenant = encode({ ...payloadOf(token), tid: 8 });
    expect(await verifyAt(T0, `${header}.${otherTenant}.${signature}`)).toBeNull();
    const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
    expect(await verifyAt(T0, `${header}.${payload}.${flipped}`)).toBeNull();
    expect(await verifyAt(T0, `${header}.${payload}.`)).toBeNull();
  });

  it.for(["ES256", "RS256"] as const)(
    "%s: a token signed by another key that claims our kid",
    async (alg, { expect }) => {
      const { deps } = keyDeps(T0);
      const ours = await currentSigningKey(deps, alg);
      const { token } = await mintAccessToken(deps, input(T0));
      const stranger = await generateKeyPair(alg);
      const forged = await new SignJWT(payloadOf(token))
        .setProtectedHeader({ alg, kid: ours.kid, typ: "at+jwt" })
        .sign(stranger.privateKey);
      expect(await verifyAt(T0, forged)).toBeNull();
    },
  );

  it("alg none, with or without a signature", async ({ expect }) => {
    const { deps } = keyDeps(T0);
    const { token } = await mintAccessToken(deps, input(T0));
    const { kid } = await currentSigningKey(deps, "ES256");
    const body = encode(payloadOf(token));
    for (const alg of ["none", "None", "NONE"]) {
      const header = encode({ alg, kid, typ: "at+jwt" });
      expect(await verifyAt(T0, `${header}.${body}.`)).toBeNull();
      expect(await verifyAt(T0, `${header}.${body}.${token.split(".")[2]}`)).toBeNull();
    }
  });

  it("HS256 keyed with our public key (as JWK JSON, PEM, or raw members)", async ({ expect }) => {
    const { deps } = keyDeps(T0);
    const { token } = await mintAccessToken(deps, input(T0));
    const keys = await publishedKeys(deps);
    for (const jwk of keys) {
      const publicKey = await importJWK(jwk, jwk.alg, { extractable: true });
      const secrets = [JSON.stringify(jwk), await exportSPKI(publicKey as CryptoKey), String(jwk.x ?? jwk.n)].map(
        (text) => new TextEncoder().encode(text),
      );
      for (const secret of secrets) {
        const forged = await new SignJWT(payloadOf(token))
          .setProtectedHeader({ alg: "HS256", kid: jwk.kid, typ: "at+jwt" })
          .sign(secret);
        expect(await verifyAt(T0, forged)).toBeNull();
      }
    }
  });

  it("our signature with a wrong or missing typ (an ID token, a plain JWT)", async ({ expect }) => {
    const { deps } = keyDeps(T0);
    const claims = payloadOf((await mintAccessToken(deps, input(T0))).token);
    expect(await verifyAt(T0, await signWithOurKey(deps, "ES256", claims))).not.toBeNull();
    for (const typ of ["JWT", "jwt", "at+JWT+x", "dpop+jwt", "logout+jwt"]) {
      expect(await verifyAt(T0, await signWithOurKey(deps, "RS256", claims, { typ })), typ).toBeNull();
    }
    const key = await currentSigningKey(deps, "ES256");
    const untyped = await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: key.kid }).sign(key.privateKey);
    expect(await verifyAt(T0, untyped)).toBeNull();
  });

  it("another issuer: a token minted for another tenant, or checked for another", async ({ expect }) => {
    const { deps } = keyDeps(T0);
    const { token } = await mintAccessToken(deps, input(T0));
    expect(await verifyAt(T0, token, issuerFor("https://other.example"))).toBeNull();
    expect(await verifyAt(T0, token, ORIGIN)).toBeNull();
    const other = await mintAccessToken(deps, input(T0, { issuer: issuerFor("https://other.example") }));
    expect(await verifyAt(T0, other.token)).toBeNull();
  });

  it.for<[string, Record<string, unknown>]>([
    ["scope as a string (RFC 9068's form, not ours)", { scope: "files:read" }],
    ["scope with a non-string", { scope: ["files:read", 1] }],
    ["tid as a string", { tid: "7" }],
    ["cid different from client_id", { cid: "someone-else" }],
    ["no jti", { jti: undefined }],
    ["no sub", { sub: undefined }],
    ["no nbf", { nbf: undefined }],
    ["no client_id", { client_id: undefined }],
    ["aud as an array", { aud: [ORIGIN] }],
  ])("our signature over a payload with %s", async ([, change], { expect }) => {
    const { deps } = keyDeps(T0);
    const claims = { ...payloadOf((await mintAccessToken(deps, input(T0))).token), ...change };
    expect(await verifyAt(T0, await signWithOurKey(deps, "ES256", claims))).toBeNull();
  });

  it("malformed input, without throwing", async ({ expect }) => {
    const { token } = await mintAccessToken(keyDeps(T0).deps, input(T0));
    const garbage: unknown[] = [
      undefined,
      null,
      42,
      {},
      [token],
      "",
      " ",
      "a",
      "a.b.c",
      "..",
      "....",
      `${token}.`,
      ` ${token}`,
      `Bearer ${token}`,
      `${token}${"A".repeat(10_000)}`,
      `${token.split(".")[0]}.%%%.${token.split(".")[2]}`,
      `${encode({ alg: "ES256", typ: "at+jwt" })}.${encode("not an object")}.x`,
      `${encode({ alg: "RSA-OAEP", enc: "A256GCM" })}.a.b.c.d`,
    ];
    for (const value of garbage) expect(await verifyAt(T0, value), String(value).slice(0, 40)).toBeNull();
  });
});

describe("keys that rotate (src/keys with an injected clock)", () => {
  it("accepts a token of a retired but still published key; refuses it once the key left the JWKS and was deleted", async ({
    expect,
  }) => {
    const first = await currentSigningKey(keyDeps(T0).deps, "ES256");
    // The Cron Trigger adds the next key; it signs only after PUBLISH_BEFORE_USE_MS.
    const t1 = T0 + ROTATE_MS;
    await rotateSigningKeys(keyDeps(t1).deps);
    const t2 = t1 + 60_000;
    const short = await mintAccessToken(keyDeps(t2).deps, input(t2));
    // A token minted under a longer TTL than the keys now keep: only its key makes it invalid later.
    const long = await mintAccessToken(keyDeps(t2, { accessTokenTtlMs: 24 * TTL_MS }).deps, input(t2));
    for (const { token } of [short, long]) expect(decodeProtectedHeader(token).kid).toBe(first.kid);

    const t3 = t1 + PUBLISH_BEFORE_USE_MS + 1000;
    const second = await currentSigningKey(keyDeps(t3).deps, "ES256");
    expect(second.kid).not.toBe(first.kid);
    const firstRow = (await storedKeys()).find((row) => row.kid === first.kid);
    expect(firstRow?.retire_at).toBeGreaterThan(t3);
    expect(await verifyAt(t3, short.token)).not.toBeNull();
    expect(await verifyAt(t3, long.token)).not.toBeNull();
    const fresh = await mintAccessToken(keyDeps(t3).deps, input(t3));
    expect(await verifyAt(t3, fresh.token)).not.toBeNull();

    // After retire_at the key is no longer published, then the Cron Trigger deletes it.
    const t4 = (firstRow?.retire_at ?? 0) + 1;
    expect(await verifyAt(t4, long.token)).toBeNull();
    const report = await rotateSigningKeys(keyDeps(t4).deps);
    expect(report.deleted).toContain(first.kid);
    expect((await storedKeys()).map((row) => row.kid)).not.toContain(first.kid);
    expect(await verifyAt(t4, long.token)).toBeNull();
    // The successor's tokens are unaffected.
    const later = await mintAccessToken(keyDeps(t4).deps, input(t4));
    expect(decodeProtectedHeader(later.token).kid).toBe(second.kid);
    expect(await verifyAt(t4, later.token)).not.toBeNull();
  });
});

describe("a key-store failure", () => {
  it("is a 503 problem, never an inactive token", async ({ expect }) => {
    const { token } = await mintAccessToken(keyDeps(T0).deps, input(T0));
    const { db } = faultyD1(env.DB, { failFrom: 1 });
    const deps: SigningKeyDeps = { db: createDb(db), now: T0, signingKeys: signingKeySettings(env) };
    const error = await verifyAccessToken(deps, token, { issuer: ISSUER, now: T0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpProblem);
    expect(error).toMatchObject({ init: { status: 503 } });
  });
});
