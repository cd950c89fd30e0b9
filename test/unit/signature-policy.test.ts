import { describe, it } from "vitest";
import { encodeJsonSegment } from "../../src/auth/sign-token";
import {
  DEFAULT_MAX_SIGNATURE_TTL_SECONDS,
  DEFAULT_SIGNATURE_POLICY,
  type SignaturePolicy,
  signaturePolicy,
} from "../../src/auth/signature-policy";
import { CLOCK_SKEW_SECONDS, verifySignature } from "../../src/auth/x-signature";
import { docspaceClaims, newCaller, signClaims, TEST_MACHINE_KEY } from "../helpers/signature";

// How long an x-signature may live (SPEC §3, issue 12 item 10): the vars MAX_SIGNATURE_TTL_SECONDS and
// REQUIRE_SIGNATURE_EXP read into a policy, the cap the verifier applies with an explicit clock, and
// which refusals may say "expired" (item 11): only a token whose MAC verified.

const NOW_MS = Date.UTC(2026, 10, 28, 12, 0, 0);
const NOW_S = NOW_MS / 1000;

const verify = (token: string, nowMs = NOW_MS, policy: SignaturePolicy = DEFAULT_SIGNATURE_POLICY) =>
  verifySignature(token, TEST_MACHINE_KEY, nowMs, policy);

/** Claims signed with the test key, valid for five minutes from NOW_MS unless overridden. */
function tokenWith(overrides: Record<string, unknown> = {}): Promise<string> {
  return signClaims(docspaceClaims(newCaller("USER"), { exp: NOW_S + 300, ...overrides }));
}

describe("signaturePolicy: the vars, with invalid values falling back to the defaults", () => {
  it("defaults to a one-hour cap with exp required", ({ expect }) => {
    expect(DEFAULT_MAX_SIGNATURE_TTL_SECONDS).toBe(3600);
    expect(signaturePolicy({})).toEqual({ maxTtlSeconds: 3600, requireExp: true });
    expect(DEFAULT_SIGNATURE_POLICY).toEqual(signaturePolicy({}));
  });

  it.for([
    ["7200", 7200],
    [" 300 ", 300],
    ["1", 1],
    ["5184000", 5184000],
  ] as const)("MAX_SIGNATURE_TTL_SECONDS %j is %d seconds", ([value, seconds], { expect }) => {
    expect(signaturePolicy({ MAX_SIGNATURE_TTL_SECONDS: value }).maxTtlSeconds).toBe(seconds);
  });

  it.for(["", "   ", "0", "-60", "1.5", "1e3", "abc", "3600s", "0x10", "9999999999999999"])(
    "MAX_SIGNATURE_TTL_SECONDS %j is invalid and means the default, 3600",
    (value, { expect }) => {
      expect(signaturePolicy({ MAX_SIGNATURE_TTL_SECONDS: value }).maxTtlSeconds).toBe(3600);
    },
  );

  it.for(["false", "FALSE", " False "])("REQUIRE_SIGNATURE_EXP %j turns the requirement off", (value, { expect }) => {
    expect(signaturePolicy({ REQUIRE_SIGNATURE_EXP: value }).requireExp).toBe(false);
  });

  it.for(["true", "TRUE", "", "0", "no", "off", "yes", "flase"])(
    "REQUIRE_SIGNATURE_EXP %j keeps exp required (only false turns it off)",
    (value, { expect }) => {
      expect(signaturePolicy({ REQUIRE_SIGNATURE_EXP: value }).requireExp).toBe(true);
    },
  );
});

describe("lifetime cap (MAX_SIGNATURE_TTL_SECONDS, 60 s skew)", () => {
  const cap = DEFAULT_SIGNATURE_POLICY.maxTtlSeconds;

  it("the default cap is an hour: exp up to now + 3600 + 60 s is accepted, a second more is refused", async ({
    expect,
  }) => {
    expect(cap).toBe(3600);
    expect((await verify(await tokenWith({ exp: NOW_S + cap + CLOCK_SKEW_SECONDS }))).ok).toBe(true);
    for (const exp of [NOW_S + cap + CLOCK_SKEW_SECONDS + 1, String(NOW_S + cap + CLOCK_SKEW_SECONDS + 1)]) {
      expect(await verify(await tokenWith({ exp })), `exp ${exp}`).toEqual({ ok: false, reason: "lifetime_too_long" });
    }
  });

  it("an exp in year 9999 is refused", async ({ expect }) => {
    const token = await tokenWith({ exp: Date.UTC(9999, 11, 31) / 1000 });
    expect(await verify(token)).toEqual({ ok: false, reason: "lifetime_too_long" });
  });

  it("the cap is measured from the verifier's clock, so a token within it later is accepted then", async ({
    expect,
  }) => {
    const token = await tokenWith({ exp: NOW_S + cap + CLOCK_SKEW_SECONDS + 40 });
    expect(await verify(token, NOW_MS)).toEqual({ ok: false, reason: "lifetime_too_long" });
    expect((await verify(token, NOW_MS + 40_000)).ok).toBe(true);
  });

  it("follows the policy it is given", async ({ expect }) => {
    const fiveMinutes = { ...DEFAULT_SIGNATURE_POLICY, maxTtlSeconds: 300 };
    expect((await verify(await tokenWith({ exp: NOW_S + 360 }), NOW_MS, fiveMinutes)).ok).toBe(true);
    expect(await verify(await tokenWith({ exp: NOW_S + 361 }), NOW_MS, fiveMinutes)).toEqual({
      ok: false,
      reason: "lifetime_too_long",
    });
    const day = { ...DEFAULT_SIGNATURE_POLICY, maxTtlSeconds: 86_400 };
    expect((await verify(await tokenWith({ exp: NOW_S + 86_400 }), NOW_MS, day)).ok).toBe(true);
  });

  it("a token that is not yet valid is reported so, before its lifetime", async ({ expect }) => {
    const token = await tokenWith({ nbf: NOW_S + 600, exp: NOW_S + 86_400 });
    expect(await verify(token)).toEqual({ ok: false, reason: "not_yet_valid" });
  });
});

describe("a time reason only for a token whose MAC verified", () => {
  const expiredClaims = () => docspaceClaims(newCaller("ADMIN"), { exp: NOW_S - 3600 });

  it("a genuine expired token is `expired`", async ({ expect }) => {
    expect(await verify(await signClaims(expiredClaims()))).toEqual({ ok: false, reason: "expired" });
  });

  it("the same expired claims forged, unsigned or badly headed are refused for that, never as expired", async ({
    expect,
  }) => {
    const claims = expiredClaims();
    const forged = await signClaims(claims, { machineKey: "attacker-key" });
    const unsigned = `${encodeJsonSegment({ alg: "none", typ: "JWT" })}.${encodeJsonSegment(claims)}.`;
    const hs512 = await signClaims(claims, { header: { alg: "HS512", typ: "JWT" } });
    const crit = await signClaims(claims, { header: { alg: "HS256", typ: "JWT", crit: ["exp"] } });
    const [header, payload, mac] = (await signClaims(claims)).split(".") as [string, string, string];
    const shortMac = `${header}.${payload}.${mac.slice(0, -2)}`;
    expect(await verify(forged)).toEqual({ ok: false, reason: "bad_mac" });
    expect(await verify(unsigned)).toEqual({ ok: false, reason: "unsupported_alg" });
    expect(await verify(hs512)).toEqual({ ok: false, reason: "unsupported_alg" });
    expect(await verify(crit)).toEqual({ ok: false, reason: "unsupported_header" });
    expect(await verify(shortMac)).toEqual({ ok: false, reason: "malformed" });
  });
});
