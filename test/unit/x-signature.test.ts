import { describe, it, vi } from "vitest";
import { signatureVerificationKey } from "../../src/auth/machine-key";
import { encodeJsonSegment } from "../../src/auth/sign-token";
import { DEFAULT_SIGNATURE_POLICY, type SignaturePolicy } from "../../src/auth/signature-policy";
import {
  CLOCK_SKEW_SECONDS,
  extractSignature,
  MAX_SIGNATURE_LENGTH,
  principalFromClaims,
  verifySignature,
} from "../../src/auth/x-signature";
import { docspaceClaims, newCaller, signClaims, TEST_MACHINE_KEY } from "../helpers/signature";

// The verifier of SPEC §3 as a unit: the real DocSpace token of shared/vectors/signature.md, claim
// types, time checks and the lifetime policy with an explicit clock, where the token is read from,
// and the cached key.

/** The token of shared/vectors/signature.md, signed by a DocSpace backend with the dev machine key. */
const VECTOR_TOKEN =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwYjRlOWIxYy0zZjZhLTRkNWUtOWMyYi03YTFkMmUzZjRhNWIiLCJ1c2VyX2lkIjoiMGI0ZTliMWMtM2Y2YS00ZDVlLTljMmItN2ExZDJlM2Y0YTViIiwidXNlcl9uYW1lIjoiRGV2IEFkbWluIiwidXNlcl9lbWFpbCI6ImFkbWluQGV4YW1wbGUuY29tIiwidGVuYW50X2lkIjoiMSIsInRlbmFudF91cmwiOiJodHRwOi8vbG9jYWxob3N0OjgwOTIiLCJpc19hZG1pbiI6InRydWUiLCJpc19ndWVzdCI6ImZhbHNlIiwiaXNfcHVibGljIjoidHJ1ZSIsImV4cCI6NDEwMjQ0NDgwMCwiaXNzIjoiaHR0cDovL2xvY2FsaG9zdDo4MDkyIiwiYXVkIjoiaHR0cDovL2xvY2FsaG9zdDo4MDkyIn0.Ssgc6ZftLALPF4kl9XdYbFNdU1TPaFUMwaUzC2maTuM";
const VECTOR_EXP = 4102444800;

/** A fixed clock for every time check below. */
const NOW_MS = Date.UTC(2026, 10, 28, 12, 0, 0);
const NOW_S = NOW_MS / 1000;

const verify = (token: string, nowMs = NOW_MS, policy: SignaturePolicy = DEFAULT_SIGNATURE_POLICY) =>
  verifySignature(token, TEST_MACHINE_KEY, nowMs, policy);

/** The vector token expires in 2100: a cap that lets it live that long, for the tests that use it at NOW_MS. */
const VECTOR_POLICY: SignaturePolicy = { ...DEFAULT_SIGNATURE_POLICY, maxTtlSeconds: VECTOR_EXP - NOW_S };

/** Claims signed with the test key, exp well after NOW_MS unless overridden. */
function tokenWith(overrides: Record<string, unknown> = {}, header?: Record<string, unknown>): Promise<string> {
  const claims = docspaceClaims(newCaller("USER"), { exp: NOW_S + 300, ...overrides });
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete claims[name];
  return signClaims(claims, header ? { header } : {});
}

describe("the real DocSpace token from the vectors file", () => {
  it("verifies with the dev machine key and yields the DocSpace admin (with a cap that allows 2100)", async ({
    expect,
  }) => {
    const result = await verify(VECTOR_TOKEN, NOW_MS, VECTOR_POLICY);
    expect(result).toEqual({
      ok: true,
      principal: {
        userId: "0b4e9b1c-3f6a-4d5e-9c2b-7a1d2e3f4a5b",
        userName: "Dev Admin",
        userEmail: "admin@example.com",
        tenantId: 1,
        tenantUrl: "http://localhost:8092",
        role: "ADMIN",
      },
    });
  });

  it("is refused under the default cap: it lives until 2100, far beyond MAX_SIGNATURE_TTL_SECONDS", async ({
    expect,
  }) => {
    expect(await verify(VECTOR_TOKEN)).toEqual({ ok: false, reason: "lifetime_too_long" });
  });

  it("is refused under any other machine key", async ({ expect }) => {
    expect(await verifySignature(VECTOR_TOKEN, "another-machine-key", NOW_MS, VECTOR_POLICY)).toEqual({
      ok: false,
      reason: "bad_mac",
    });
  });

  it("is accepted up to 60 s after exp and refused after that", async ({ expect }) => {
    expect((await verify(VECTOR_TOKEN, (VECTOR_EXP + CLOCK_SKEW_SECONDS) * 1000)).ok).toBe(true);
    expect(await verify(VECTOR_TOKEN, (VECTOR_EXP + CLOCK_SKEW_SECONDS) * 1000 + 1)).toEqual({
      ok: false,
      reason: "expired",
    });
  });

  it("is refused when one character of payload or MAC changes", async ({ expect }) => {
    const [header, payload, mac] = VECTOR_TOKEN.split(".") as [string, string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    expect((await verify(`${header}.${flip(payload, 10)}.${mac}`, NOW_MS, VECTOR_POLICY)).ok).toBe(false);
    expect((await verify(`${header}.${payload}.${flip(mac, 5)}`, NOW_MS, VECTOR_POLICY)).ok).toBe(false);
  });
});

describe("claim types", () => {
  it("accepts DocSpace's string claims and native JSON types alike", async ({ expect }) => {
    const caller = newCaller("ADMIN");
    const strings = await verify(await signClaims(docspaceClaims(caller, { exp: String(NOW_S + 300) })));
    const natives = await verify(
      await signClaims(
        docspaceClaims(caller, {
          tenant_id: caller.tenantId,
          is_admin: true,
          is_guest: false,
          is_public: true,
          exp: NOW_S + 300,
        }),
      ),
    );
    expect(strings.ok && strings.principal).toMatchObject({ userId: caller.userId, tenantId: caller.tenantId });
    expect(natives).toEqual(strings);
  });

  it.for([
    [{ is_admin: "true" }, "ADMIN"],
    [{ is_admin: true, is_guest: true }, "ADMIN"],
    [{ is_admin: "false", is_guest: "true", is_public: "true" }, "GUEST"],
    [{ is_admin: false, is_guest: false, is_public: true }, "USER"],
    [{ is_admin: "", is_guest: "", is_public: "true" }, "USER"],
    [{ is_admin: undefined, is_guest: undefined, is_public: "1" }, "USER"],
    [{ is_admin: "false", is_guest: "false", is_public: "false" }, "GUEST"],
    [{ is_admin: undefined, is_guest: undefined, is_public: undefined }, "GUEST"],
    [{ is_admin: "TRUE" }, "ADMIN"],
  ] as const)("flags %j give role %s (SPEC §3.1)", async ([flags, role], { expect }) => {
    const defaults: Record<string, unknown> = { is_admin: "false", is_guest: "false" };
    const result = await verify(await tokenWith({ ...defaults, ...flags }));
    expect(result.ok && result.principal.role).toBe(role);
  });

  it.for([{ is_admin: "yes" }, { is_guest: "maybe" }, { is_public: 2 }, { is_admin: ["true"] }])(
    "a flag that is not a boolean (%j) is refused rather than guessed",
    async (flags, { expect }) => {
      expect(await verify(await tokenWith(flags))).toEqual({ ok: false, reason: "invalid_claims" });
    },
  );

  it.for([
    ["1", 1],
    [1, 1],
    [" 42 ", 42],
    [2147483648, 2147483648],
  ] as const)("tenant_id %j is read as %d", async ([tenantId, expected], { expect }) => {
    const result = await verify(await tokenWith({ tenant_id: tenantId }));
    expect(result.ok && result.principal.tenantId).toBe(expected);
  });

  it.for([0, "0", -1, "-1", 1.5, "1.5", "abc", "", "1e3", null, true, "99999999999999999999"])(
    "tenant_id %j is refused",
    async (tenantId, { expect }) => {
      expect(await verify(await tokenWith({ tenant_id: tenantId }))).toEqual({ ok: false, reason: "invalid_claims" });
    },
  );

  it.for(["user_id", "user_name", "user_email", "tenant_url", "tenant_id"])(
    "a missing, blank or non-string %s is refused",
    async (claim, { expect }) => {
      for (const value of [undefined, "", "   ", null, [1], {}]) {
        expect(await verify(await tokenWith({ [claim]: value })), `${claim}=${String(value)}`).toEqual({
          ok: false,
          reason: "invalid_claims",
        });
      }
    },
  );

  it("user_id must be a GUID and is normalised to lower case", async ({ expect }) => {
    expect((await verify(await tokenWith({ user_id: "not-a-guid" }))).ok).toBe(false);
    const upper = "0B4E9B1C-3F6A-4D5E-9C2B-7A1D2E3F4A5B";
    const result = await verify(await tokenWith({ user_id: upper }));
    expect(result.ok && result.principal.userId).toBe(upper.toLowerCase());
  });

  it("ignores sub, iat, iss and aud", async ({ expect }) => {
    const caller = newCaller("USER");
    const result = await verify(
      await signClaims(
        docspaceClaims(caller, {
          sub: crypto.randomUUID(),
          iat: NOW_S + 86_400,
          iss: "https://somewhere.else",
          aud: ["x", "y"],
          exp: NOW_S + 300,
        }),
      ),
    );
    expect(result.ok && result.principal.userId).toBe(caller.userId);
  });

  it("principalFromClaims refuses a payload without any claims", ({ expect }) => {
    expect(principalFromClaims({})).toBeUndefined();
  });
});

describe("exp and nbf with 60 s skew (explicit clock)", () => {
  it("exp: valid until exp + 60 s inclusive, expired 1 ms later", async ({ expect }) => {
    const token = await tokenWith({ exp: NOW_S });
    expect((await verify(token, NOW_MS)).ok).toBe(true);
    expect((await verify(token, NOW_MS + 60_000)).ok).toBe(true);
    expect(await verify(token, NOW_MS + 60_001)).toEqual({ ok: false, reason: "expired" });
  });

  it("nbf: valid from nbf − 60 s inclusive, not yet valid 1 ms earlier", async ({ expect }) => {
    const token = await tokenWith({ nbf: NOW_S, exp: NOW_S + 3600 });
    expect((await verify(token, NOW_MS)).ok).toBe(true);
    expect((await verify(token, NOW_MS - 60_000)).ok).toBe(true);
    expect(await verify(token, NOW_MS - 60_001)).toEqual({ ok: false, reason: "not_yet_valid" });
  });

  it("reads exp and nbf written as strings, as DocSpace writes every claim", async ({ expect }) => {
    const token = await tokenWith({ exp: String(NOW_S - 61), nbf: String(NOW_S - 600) });
    expect(await verify(token)).toEqual({ ok: false, reason: "expired" });
    const future = await tokenWith({ nbf: String(NOW_S + 61) });
    expect(await verify(future)).toEqual({ ok: false, reason: "not_yet_valid" });
  });

  it("with REQUIRE_SIGNATURE_EXP off, a token without exp or nbf is not time-limited by the verifier", async ({
    expect,
  }) => {
    const token = await tokenWith({ exp: undefined });
    const optional = { ...DEFAULT_SIGNATURE_POLICY, requireExp: false };
    expect((await verify(token, NOW_MS + 10 * 365 * 86_400_000, optional)).ok).toBe(true);
  });

  it("by default a token without exp is refused, whatever its nbf", async ({ expect }) => {
    expect(await verify(await tokenWith({ exp: undefined }))).toEqual({ ok: false, reason: "missing_exp" });
    expect(await verify(await tokenWith({ exp: undefined, nbf: NOW_S - 10 }))).toEqual({
      ok: false,
      reason: "missing_exp",
    });
  });

  it.for(["soon", "", true, { at: 1 }])("a non-numeric exp (%j) is refused", async (exp, { expect }) => {
    expect(await verify(await tokenWith({ exp }))).toEqual({ ok: false, reason: "invalid_claims" });
  });
});

describe("token shape and algorithm", () => {
  it("only HS256 is accepted, whatever the MAC", async ({ expect }) => {
    for (const alg of ["none", "None", "HS512", "HS384", "RS256", "hs256", "", undefined]) {
      const token = await tokenWith({}, { alg, typ: "JWT" });
      expect(await verify(token), `alg ${String(alg)}`).toEqual({ ok: false, reason: "unsupported_alg" });
    }
  });

  it("an unsigned alg:none token is refused", async ({ expect }) => {
    const claims = docspaceClaims(newCaller("ADMIN"), { exp: NOW_S + 300 });
    const token = `${encodeJsonSegment({ alg: "none", typ: "JWT" })}.${encodeJsonSegment(claims)}.`;
    expect((await verify(token)).ok).toBe(false);
  });

  it("kid, jku and jwk header hints are ignored: the key is fixed by configuration", async ({ expect }) => {
    const hints = { alg: "HS256", typ: "JWT", kid: "../../../dev/null", jku: "https://evil.example/jwks.json" };
    expect((await verify(await tokenWith({}, hints))).ok).toBe(true);
    const forged = await signClaims(docspaceClaims(newCaller("ADMIN"), { exp: NOW_S + 300 }), {
      machineKey: "attacker-key",
      header: { ...hints, jwk: { kty: "oct", k: "YXR0YWNrZXIta2V5" } },
    });
    expect(await verify(forged)).toEqual({ ok: false, reason: "bad_mac" });
  });

  it("a crit header extension is refused, since the verifier implements none", async ({ expect }) => {
    const token = await tokenWith({}, { alg: "HS256", typ: "JWT", crit: ["exp"], exp: 1 });
    expect(await verify(token)).toEqual({ ok: false, reason: "unsupported_header" });
    expect((await verify(await tokenWith({}, { alg: "HS256", typ: "JWT", crit: [] }))).ok).toBe(false);
  });

  it.for([
    "",
    "abc",
    "a.b",
    "a.b.c.d",
    "!!!.@@@.###",
    "eyJhbGciOiJIUzI1NiJ9.e30.%%%",
    "e30.e30.e30",
    "bnVsbA.e30.AAAA",
    "W10.e30.AAAA",
  ])("malformed token %j is refused", async (token, { expect }) => {
    const result = await verify(token);
    expect(result.ok).toBe(false);
  });

  it("a MAC of the wrong length is refused before any crypto", async ({ expect }) => {
    const [header, payload] = (await tokenWith()).split(".") as [string, string];
    expect(await verify(`${header}.${payload}.AAAA`)).toEqual({ ok: false, reason: "malformed" });
  });

  it("a correctly signed payload that is not a JSON object is refused", async ({ expect }) => {
    const header = encodeJsonSegment({ alg: "HS256", typ: "JWT" });
    const key = await signatureVerificationKey(TEST_MACHINE_KEY);
    for (const payload of [encodeJsonSegment([1, 2]), encodeJsonSegment("x"), "bm90IGpzb24"]) {
      const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${header}.${payload}`));
      const macSegment = btoa(String.fromCharCode(...new Uint8Array(mac)))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, "");
      expect(await verify(`${header}.${payload}.${macSegment}`)).toEqual({ ok: false, reason: "malformed" });
    }
  });

  it("a correctly signed token over 8 KiB is refused; one just under is accepted", async ({ expect }) => {
    const withName = (length: number) => tokenWith({ user_name: "n".repeat(length) });
    // Base64 grows by 4/3: estimate the longest name that fits, then step down until it does.
    let length = Math.floor(((MAX_SIGNATURE_LENGTH - (await withName(1)).length) * 3) / 4);
    let under = await withName(length);
    while (under.length > MAX_SIGNATURE_LENGTH) under = await withName(--length);
    const over = await withName(length + 8);
    expect(under.length).toBeLessThanOrEqual(MAX_SIGNATURE_LENGTH);
    expect(over.length).toBeGreaterThan(MAX_SIGNATURE_LENGTH);
    expect((await verify(under)).ok).toBe(true);
    expect(await verify(over)).toEqual({ ok: false, reason: "too_long" });
  });
});

describe("extractSignature: cookie first, then header", () => {
  const headers = (init: Record<string, string>) => new Headers(init);

  it("reads the header when no cookie is named x-signature", ({ expect }) => {
    expect(extractSignature(headers({ "x-signature": "from-header" }))).toBe("from-header");
    expect(extractSignature(headers({ "x-signature": "from-header", cookie: "a=1; other=2" }))).toBe("from-header");
  });

  it("prefers the cookie over the header", ({ expect }) => {
    expect(extractSignature(headers({ "x-signature": "from-header", cookie: "a=1; x-signature=from-cookie" }))).toBe(
      "from-cookie",
    );
  });

  it("compares the cookie name case-insensitively", ({ expect }) => {
    expect(extractSignature(headers({ cookie: "X-Signature=upper" }))).toBe("upper");
    expect(extractSignature(headers({ cookie: "theme=dark;  X-SIGNATURE=shout ; b=2" }))).toBe("shout");
  });

  it("an empty cookie is an empty signature, not a fall-through to the header", ({ expect }) => {
    expect(extractSignature(headers({ "x-signature": "valid", cookie: "x-signature=" }))).toBe("");
    expect(extractSignature(headers({ "x-signature": "valid", cookie: "x-signature" }))).toBe("");
  });

  it("does not match cookies whose name merely contains x-signature", ({ expect }) => {
    expect(extractSignature(headers({ cookie: "my-x-signature=a; x-signature-old=b" }))).toBeUndefined();
  });

  it("returns undefined when nothing is sent", ({ expect }) => {
    expect(extractSignature(headers({}))).toBeUndefined();
  });
});

describe("the HMAC key is derived once per isolate", () => {
  it("signatureVerificationKey returns the same promise and CryptoKey for repeated calls", async ({ expect }) => {
    const first = signatureVerificationKey(TEST_MACHINE_KEY);
    const second = signatureVerificationKey(TEST_MACHINE_KEY);
    expect(second).toBe(first);
    expect(await second).toBe(await first);
    expect((await first).algorithm).toMatchObject({ name: "HMAC", hash: { name: "SHA-256" } });
    expect((await first).extractable).toBe(false);
  });

  it("verifying many tokens imports no key once the key is cached", async ({ expect }) => {
    await signatureVerificationKey(TEST_MACHINE_KEY);
    const tokens = await Promise.all([tokenWith(), tokenWith(), tokenWith()]);
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    try {
      for (const token of tokens) expect((await verify(token)).ok).toBe(true);
      expect(importKey).not.toHaveBeenCalled();
    } finally {
      importKey.mockRestore();
    }
  });

  it("a changed machine key is re-derived, and the new key is then reused", async ({ expect }) => {
    const original = await signatureVerificationKey(TEST_MACHINE_KEY);
    const other = signatureVerificationKey("rotated-machine-key");
    expect(await other).not.toBe(original);
    expect(signatureVerificationKey("rotated-machine-key")).toBe(other);
    // Leave the cache as the rest of the suite expects it.
    expect((await verify(VECTOR_TOKEN, NOW_MS, VECTOR_POLICY)).ok).toBe(true);
  });
});
