import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { issueCode, redeemCode, revokeReplayedCode } from "../../src/authorization/codes";
import {
  consumePendingRequest,
  consumePendingRequestOfClient,
  createPendingRequest,
} from "../../src/authorization/pending-requests";
import {
  familyIsLive,
  findRefreshToken,
  revokeFamiliesOf,
  revokeFamily,
  rotateRefreshToken,
} from "../../src/authorization/refresh-tokens";
import { authorizationSettings } from "../../src/authorization/settings";
import { hashToken } from "../../src/authorization/tokens";
import { createDb } from "../../src/db/client";
import {
  CODE_TTL_MS,
  codeInput,
  everyStoredRow,
  newOwner,
  pendingInput,
  REFRESH_TTL_MS,
  storeDeps,
  storedCodesOf,
  storedFamiliesOf,
  storedRequest,
  storedTokensOf,
  T0,
} from "../helpers/authorization-store";

// AS §4 steps 7-9, §5.2, §10: the authorization store's round trips against the real D1 — single
// use, replay and reuse revoke, only hashes at rest, expiry boundaries with an injected clock,
// revocation and settings. Cleanup: authorization-store-cleanup.test.ts. Races: test/concurrency/authorization-store-races.test.ts; injected
// faults: authorization-store-atomicity.test.ts.

const at = (now: number) => storeDeps(now).deps;

/** Issues and redeems a code (which starts its family); returns the redeemed row and the family. */
async function familyFromNewCode(owner = newOwner(), now = T0) {
  const code = await issueCode(at(now), codeInput(owner));
  const redemption = await redeemCode(at(now + 1_000), code, owner.clientId);
  if (redemption.kind !== "redeemed") throw new Error(`expected a redemption, got ${redemption.kind}`);
  return { owner, code, row: redemption.code, family: redemption.family };
}

describe("pending authorization requests", () => {
  it("round trip: the request comes back once, for its user and CSRF token", async ({ expect }) => {
    const input = pendingInput();
    const { id, csrfToken, expiresOn } = await createPendingRequest(at(T0), input);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresOn).toBe(T0 + 600_000);

    const consumed = await consumePendingRequest(at(T0 + 1_000), id, csrfToken, input.userId);
    expect(consumed).toMatchObject({ ...input, id, createdOn: T0, expiresOn, consumedOn: T0 + 1_000 });
    expect(await consumePendingRequest(at(T0 + 2_000), id, csrfToken, input.userId)).toBeNull();
    expect((await storedRequest(id))?.consumed_on).toBe(T0 + 1_000);
  });

  it("stores only the CSRF token's hash", async ({ expect }) => {
    const { id, csrfToken } = await createPendingRequest(at(T0), pendingInput());
    const row = await storedRequest(id);
    expect(row?.csrf_hash).toBe(await hashToken(csrfToken));
    expect(await everyStoredRow()).not.toContain(csrfToken);
  });

  it.for([
    ["another user", { user: "other" }],
    ["a wrong CSRF token", { csrf: "wrong" }],
    ["an unknown id", { id: "unknown" }],
  ] as const)("%s gets null and changes nothing", async ([, wrong], { expect }) => {
    const input = pendingInput();
    const { id, csrfToken } = await createPendingRequest(at(T0), input);
    const result = await consumePendingRequest(
      at(T0 + 1_000),
      "id" in wrong ? wrong.id : id,
      "csrf" in wrong ? wrong.csrf : csrfToken,
      "user" in wrong ? crypto.randomUUID() : input.userId,
    );
    expect(result).toBeNull();
    expect((await storedRequest(id))?.consumed_on).toBeNull();
    // The rightful user can still decide.
    expect(await consumePendingRequest(at(T0 + 2_000), id, csrfToken, input.userId)).not.toBeNull();
  });

  it("expires after 10 minutes: usable 1 ms before, not at the expiry", async ({ expect }) => {
    const input = pendingInput();
    const first = await createPendingRequest(at(T0), input);
    const second = await createPendingRequest(at(T0), input);
    expect(await consumePendingRequest(at(T0 + 600_000), first.id, first.csrfToken, input.userId)).toBeNull();
    expect((await storedRequest(first.id))?.consumed_on).toBeNull();
    expect(await consumePendingRequest(at(T0 + 599_999), second.id, second.csrfToken, input.userId)).not.toBeNull();
  });
  it("DocSpace's consent UI consumes by id, client and user, once; another client or user gets null", async ({
    expect,
  }) => {
    const input = pendingInput();
    const { id } = await createPendingRequest(at(T0), input);
    expect(await consumePendingRequestOfClient(at(T0 + 1_000), id, crypto.randomUUID(), input.userId)).toBeNull();
    expect(await consumePendingRequestOfClient(at(T0 + 1_000), id, input.clientId, crypto.randomUUID())).toBeNull();
    expect((await storedRequest(id))?.consumed_on).toBeNull();
    const consumed = await consumePendingRequestOfClient(at(T0 + 2_000), id, input.clientId, input.userId);
    expect(consumed).toMatchObject({ id, clientId: input.clientId, consumedOn: T0 + 2_000 });
    expect(await consumePendingRequestOfClient(at(T0 + 3_000), id, input.clientId, input.userId)).toBeNull();
  });

  it("the two ways of consuming share one single use", async ({ expect }) => {
    const input = pendingInput();
    const { id, csrfToken } = await createPendingRequest(at(T0), input);
    expect(await consumePendingRequest(at(T0 + 1_000), id, csrfToken, input.userId)).not.toBeNull();
    expect(await consumePendingRequestOfClient(at(T0 + 2_000), id, input.clientId, input.userId)).toBeNull();
  });
});

describe("authorization codes", () => {
  it("round trip: a code redeems once, bound to everything it was issued with", async ({ expect }) => {
    const input = codeInput();
    const code = await issueCode(at(T0), input);
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const redemption = await redeemCode(at(T0 + 1_000), code, input.clientId);
    if (redemption.kind !== "redeemed") throw new Error(redemption.kind);
    expect(redemption).toEqual({
      kind: "redeemed",
      family: {
        familyId: expect.any(String),
        refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        expiresOn: T0 + 1_000 + REFRESH_TTL_MS,
      },
      code: {
        // Optional in CodeInput (migration 0004); null when the issuer did not pass them.
        userName: null,
        userEmail: null,
        ...input,
        codeHash: await hashToken(code),
        createdOn: T0,
        expiresOn: T0 + CODE_TTL_MS,
        consumedOn: T0 + 1_000,
        replayedOn: null,
        familyId: redemption.family.familyId,
      },
    });
  });

  it("stores only the code's SHA-256", async ({ expect }) => {
    const input = codeInput();
    const code = await issueCode(at(T0), input);
    const [row] = await storedCodesOf(input.clientId);
    expect(row?.code_hash).toBe(await hashToken(code));
    expect(await everyStoredRow()).not.toContain(code);
  });

  it("another client's redemption is invalid and changes nothing", async ({ expect }) => {
    const input = codeInput();
    const code = await issueCode(at(T0), input);
    expect(await redeemCode(at(T0 + 1_000), code, crypto.randomUUID())).toEqual({ kind: "invalid" });
    expect((await storedCodesOf(input.clientId))[0]).toMatchObject({ consumed_on: null, replayed_on: null });
    expect((await redeemCode(at(T0 + 2_000), code, input.clientId)).kind).toBe("redeemed");
  });

  it("an unknown code is invalid", async ({ expect }) => {
    expect(await redeemCode(at(T0), "not-a-code", crypto.randomUUID())).toEqual({ kind: "invalid" });
  });

  it("expires after CODE_TTL_SECONDS: redeemable 1 ms before, invalid at the expiry", async ({ expect }) => {
    const input = codeInput();
    const late = await issueCode(at(T0), input);
    const inTime = await issueCode(at(T0), input);
    expect(await redeemCode(at(T0 + CODE_TTL_MS), late, input.clientId)).toEqual({ kind: "invalid" });
    expect((await redeemCode(at(T0 + CODE_TTL_MS - 1), inTime, input.clientId)).kind).toBe("redeemed");
    const rows = await storedCodesOf(input.clientId);
    expect(rows.map((r) => r.consumed_on).sort()).toEqual([null, T0 + CODE_TTL_MS - 1].sort());
  });

  it("the redemption starts a family, records it on the code and issues the first refresh token, hashed at rest", async ({
    expect,
  }) => {
    const { owner, code, family } = await familyFromNewCode();
    expect(family.expiresOn).toBe(T0 + 1_000 + REFRESH_TTL_MS);
    const [codeRow] = await storedCodesOf(owner.clientId);
    expect(codeRow?.family_id).toBe(family.familyId);
    expect(await storedFamiliesOf(owner.clientId)).toEqual([
      {
        family_id: family.familyId,
        client_id: owner.clientId,
        tenant: owner.tenant,
        user_id: owner.userId,
        scopes: JSON.stringify(["files:read", "openid"]),
        created_on: T0 + 1_000,
        expires_on: family.expiresOn,
        revoked_on: null,
        revoked_reason: null,
        // Copied from the code (null here: codeInput carries no name or email; userinfo.test.ts covers them).
        user_name: null,
        user_email: null,
      },
    ]);
    expect(await storedTokensOf(family.familyId)).toEqual([
      {
        token_hash: await hashToken(family.refreshToken),
        family_id: family.familyId,
        created_on: T0 + 1_000,
        expires_on: family.expiresOn,
        rotated_on: null,
        replaced_by: null,
      },
    ]);
    const atRest = await everyStoredRow();
    expect(atRest).not.toContain(code);
    expect(atRest).not.toContain(family.refreshToken);
  });

  it("a code starts at most one family: a second redemption adds none", async ({ expect }) => {
    const { owner, code } = await familyFromNewCode();
    expect((await redeemCode(at(T0 + 2_000), code, owner.clientId)).kind).toBe("replayed");
    expect(await storedFamiliesOf(owner.clientId)).toHaveLength(1);
  });

  it("a replay is reported with the family the first redemption started; revokeReplayedCode revokes it", async ({
    expect,
  }) => {
    const { owner, code, family } = await familyFromNewCode();
    const replay = await redeemCode(at(T0 + 5_000), code, owner.clientId);
    expect(replay).toEqual({
      kind: "replayed",
      familyId: family.familyId,
      familyExpiresOn: family.expiresOn,
      codeHash: await hashToken(code),
      // What the service checks a replay against before it revokes (OAuth 2.1 §7.5.3).
      bindings: { redirectUri: "https://app.example/cb", codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" },
    });
    if (replay.kind !== "replayed") throw new Error(replay.kind);
    // Reporting changes nothing: the service records KV first, then acts.
    expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({ revoked_on: null });
    expect((await storedCodesOf(owner.clientId))[0]).toMatchObject({ replayed_on: null });
    await revokeReplayedCode(at(T0 + 5_000), replay);
    expect((await storedCodesOf(owner.clientId))[0]).toMatchObject({ replayed_on: T0 + 5_000 });
    expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({
      revoked_on: T0 + 5_000,
      revoked_reason: "code_replay",
    });
    expect(await rotateRefreshToken(at(T0 + 6_000), family.refreshToken, owner.clientId)).toEqual({ kind: "invalid" });
  });

  it("a replay after the code's expiry is still a replay", async ({ expect }) => {
    const { owner, code, family } = await familyFromNewCode();
    const replay = await redeemCode(at(T0 + 10 * CODE_TTL_MS), code, owner.clientId);
    expect(replay).toMatchObject({ kind: "replayed", familyId: family.familyId });
  });

  it("an invalid redemption (unknown, expired, another client's) starts no family", async ({ expect }) => {
    const input = codeInput();
    const code = await issueCode(at(T0), input);
    expect(await redeemCode(at(T0 + 1_000), code, crypto.randomUUID())).toEqual({ kind: "invalid" });
    expect(await redeemCode(at(T0 + CODE_TTL_MS), code, input.clientId)).toEqual({ kind: "invalid" });
    expect(await storedFamiliesOf(input.clientId)).toEqual([]);
    expect((await storedCodesOf(input.clientId))[0]).toMatchObject({ consumed_on: null, family_id: null });
  });

  it("a replay by another client is invalid and revokes nothing", async ({ expect }) => {
    const { owner, code } = await familyFromNewCode();
    expect(await redeemCode(at(T0 + 5_000), code, crypto.randomUUID())).toEqual({ kind: "invalid" });
    expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({ revoked_on: null });
    expect((await storedCodesOf(owner.clientId))[0]).toMatchObject({ replayed_on: null });
  });
});

describe("refresh tokens", () => {
  it("round trip: each rotation returns a new token in the same family, expiring with it", async ({ expect }) => {
    const { owner, family } = await familyFromNewCode();
    const first = await rotateRefreshToken(at(T0 + 10_000), family.refreshToken, owner.clientId);
    if (first.kind !== "rotated") throw new Error(first.kind);
    expect(first.refreshToken).not.toBe(family.refreshToken);
    expect(first.family).toMatchObject({
      familyId: family.familyId,
      clientId: owner.clientId,
      userId: owner.userId,
      tenant: owner.tenant,
      scopes: ["files:read", "openid"],
      expiresOn: family.expiresOn,
      revokedOn: null,
    });
    const second = await rotateRefreshToken(at(T0 + 20_000), first.refreshToken, owner.clientId);
    if (second.kind !== "rotated") throw new Error(second.kind);

    const tokens = await storedTokensOf(family.familyId);
    expect(tokens).toHaveLength(3);
    const hashes = await Promise.all([family, first, second].map((t) => hashToken(t.refreshToken)));
    const byHash = new Map(tokens.map((t) => [t.token_hash, t]));
    expect(byHash.get(hashes[0])).toMatchObject({ rotated_on: T0 + 10_000, replaced_by: hashes[1] });
    expect(byHash.get(hashes[1])).toMatchObject({ created_on: T0 + 10_000, rotated_on: T0 + 20_000 });
    expect(byHash.get(hashes[2])).toMatchObject({ rotated_on: null, expires_on: family.expiresOn });
    const atRest = await everyStoredRow();
    for (const t of [family, first, second]) expect(atRest).not.toContain(t.refreshToken);
  });

  it("presenting a rotated token is reuse, reported with its family; revoking it stops the newest token too", async ({
    expect,
  }) => {
    const { owner, family } = await familyFromNewCode();
    const next = await rotateRefreshToken(at(T0 + 10_000), family.refreshToken, owner.clientId);
    if (next.kind !== "rotated") throw new Error(next.kind);
    expect(await rotateRefreshToken(at(T0 + 20_000), family.refreshToken, owner.clientId)).toEqual({
      kind: "reuse",
      familyId: family.familyId,
      familyExpiresOn: family.expiresOn,
    });
    // Reporting changes nothing: the service records KV first, then revokes (reason `reuse`).
    expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({ revoked_on: null });
    expect(await revokeFamily(at(T0 + 20_000), family.familyId, "reuse")).toBe(true);
    expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({
      revoked_on: T0 + 20_000,
      revoked_reason: "reuse",
    });
    expect(await rotateRefreshToken(at(T0 + 30_000), next.refreshToken, owner.clientId)).toEqual({ kind: "invalid" });
  });

  it("another client's token is invalid and changes nothing, even a rotated one", async ({ expect }) => {
    const { owner, family } = await familyFromNewCode();
    expect(await rotateRefreshToken(at(T0 + 10_000), family.refreshToken, crypto.randomUUID())).toEqual({
      kind: "invalid",
    });
    expect((await storedTokensOf(family.familyId))[0]).toMatchObject({ rotated_on: null });
    const next = await rotateRefreshToken(at(T0 + 11_000), family.refreshToken, owner.clientId);
    expect(next.kind).toBe("rotated");
    expect(await rotateRefreshToken(at(T0 + 12_000), family.refreshToken, crypto.randomUUID())).toEqual({
      kind: "invalid",
    });
    expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({ revoked_on: null });
  });

  it("an unknown token is invalid", async ({ expect }) => {
    expect(await rotateRefreshToken(at(T0), "not-a-token", crypto.randomUUID())).toEqual({ kind: "invalid" });
  });

  it("expires with the family: rotatable 1 ms before, invalid at the expiry, and never extended", async ({
    expect,
  }) => {
    const { owner, family } = await familyFromNewCode();
    const late = await rotateRefreshToken(at(family.expiresOn), family.refreshToken, owner.clientId);
    expect(late).toEqual({ kind: "invalid" });
    expect((await storedTokensOf(family.familyId))[0]).toMatchObject({ rotated_on: null });
    const last = await rotateRefreshToken(at(family.expiresOn - 1), family.refreshToken, owner.clientId);
    if (last.kind !== "rotated") throw new Error(last.kind);
    expect(last.family.expiresOn).toBe(family.expiresOn);
    expect(await rotateRefreshToken(at(family.expiresOn), last.refreshToken, owner.clientId)).toEqual({
      kind: "invalid",
    });
  });
});

describe("refresh-token lookups (introspection, revocation)", () => {
  it("finds a token with its family; active until rotated, revoked or expired", async ({ expect }) => {
    const { owner, family } = await familyFromNewCode();
    const found = await findRefreshToken(at(T0 + 2_000), family.refreshToken);
    expect(found).toMatchObject({
      active: true,
      token: { familyId: family.familyId, rotatedOn: null },
      family: { clientId: owner.clientId, userId: owner.userId, scopes: ["files:read", "openid"] },
    });
    expect((await findRefreshToken(at(family.expiresOn), family.refreshToken))?.active).toBe(false);
    expect(await familyIsLive(at(T0 + 2_000), family.familyId)).toBe(true);
    expect(await familyIsLive(at(family.expiresOn), family.familyId)).toBe(false);

    const next = await rotateRefreshToken(at(T0 + 3_000), family.refreshToken, owner.clientId);
    if (next.kind !== "rotated") throw new Error(next.kind);
    expect((await findRefreshToken(at(T0 + 4_000), family.refreshToken))?.active).toBe(false);
    expect((await findRefreshToken(at(T0 + 4_000), next.refreshToken))?.active).toBe(true);

    await revokeFamily(at(T0 + 5_000), family.familyId, "revoked");
    expect((await findRefreshToken(at(T0 + 6_000), next.refreshToken))?.active).toBe(false);
    expect(await familyIsLive(at(T0 + 6_000), family.familyId)).toBe(false);
  });

  it("an unknown token or family is not found or not live", async ({ expect }) => {
    expect(await findRefreshToken(at(T0), "not-a-token")).toBeNull();
    expect(await familyIsLive(at(T0), crypto.randomUUID())).toBe(false);
  });
});

describe("revocation", () => {
  it("revokeFamily stops a family once and keeps the first reason", async ({ expect }) => {
    const { owner, family } = await familyFromNewCode();
    expect(await revokeFamily(at(T0 + 5_000), family.familyId, "revoked")).toBe(true);
    expect(await revokeFamily(at(T0 + 6_000), family.familyId, "reuse")).toBe(false);
    expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({
      revoked_on: T0 + 5_000,
      revoked_reason: "revoked",
    });
    expect(await rotateRefreshToken(at(T0 + 7_000), family.refreshToken, owner.clientId)).toEqual({ kind: "invalid" });
  });

  it("revokeFamiliesOf a (client, user) leaves the client's other users alone", async ({ expect }) => {
    const alice = newOwner();
    const bob = { ...alice, userId: crypto.randomUUID() };
    const a1 = await familyFromNewCode(alice);
    const a2 = await familyFromNewCode(alice);
    const b = await familyFromNewCode(bob);
    expect(
      await revokeFamiliesOf(at(T0 + 5_000), { clientId: alice.clientId, userId: alice.userId }, "consent_revoked"),
    ).toBe(2);
    const rows = await storedFamiliesOf(alice.clientId);
    const revoked = (id: string) => rows.find((r) => r.family_id === id)?.revoked_reason;
    expect([revoked(a1.family.familyId), revoked(a2.family.familyId), revoked(b.family.familyId)]).toEqual([
      "consent_revoked",
      "consent_revoked",
      null,
    ]);
    expect((await rotateRefreshToken(at(T0 + 6_000), b.family.refreshToken, bob.clientId)).kind).toBe("rotated");
  });

  it("revokeFamiliesOf a client revokes every user's live family and leaves other clients alone", async ({
    expect,
  }) => {
    const owner = newOwner();
    const other = newOwner();
    await familyFromNewCode(owner);
    await familyFromNewCode({ ...owner, userId: crypto.randomUUID() });
    const elsewhere = await familyFromNewCode(other);
    expect(await revokeFamiliesOf(at(T0 + 5_000), { clientId: owner.clientId }, "client_deleted")).toBe(2);
    expect(await revokeFamiliesOf(at(T0 + 6_000), { clientId: owner.clientId }, "tokens_revoked")).toBe(0);
    expect((await storedFamiliesOf(owner.clientId)).map((r) => r.revoked_reason)).toEqual([
      "client_deleted",
      "client_deleted",
    ]);
    expect((await storedFamiliesOf(other.clientId))[0]).toMatchObject({ revoked_on: null });
    expect(elsewhere.family.familyId).toBeTruthy();
  });
});

describe("settings", () => {
  it.for([
    [{}, 60_000, 2_592_000_000],
    [{ CODE_TTL_SECONDS: "120", REFRESH_TOKEN_TTL_SECONDS: "86400" }, 120_000, 86_400_000],
    [{ CODE_TTL_SECONDS: "0", REFRESH_TOKEN_TTL_SECONDS: "-5" }, 60_000, 2_592_000_000],
    [{ CODE_TTL_SECONDS: "1e3", REFRESH_TOKEN_TTL_SECONDS: "ten" }, 60_000, 2_592_000_000],
  ] as const)("%o → code %d ms, refresh %d ms", ([vars, code, refresh], { expect }) => {
    expect(authorizationSettings(vars)).toEqual({ codeTtlMs: code, refreshTokenTtlMs: refresh });
  });
});

describe("rotation cost does not grow with the client's families", () => {
  it("rotating one token of a client with 400 families reads a handful of rows (D1 rows_read), not every family", async ({
    expect,
  }) => {
    const owner = newOwner();
    const code = await issueCode(at(T0), codeInput(owner));
    const redemption = await redeemCode(at(T0 + 1_000), code, owner.clientId);
    if (redemption.kind !== "redeemed") throw new Error(redemption.kind);
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
       INSERT INTO refresh_families (family_id, client_id, tenant, user_id, scopes, created_on, expires_on)
       SELECT ?1 || '-' || i, ?2, 7, ?3, '[]', ?4, ?5 FROM n`,
    )
      .bind(crypto.randomUUID(), owner.clientId, owner.userId, T0, T0 + REFRESH_TTL_MS)
      .run();
    expect(await storedFamiliesOf(owner.clientId)).toHaveLength(401);
    const batches: D1Result[][] = [];
    const recording = new Proxy(env.DB, {
      get(target, property) {
        if (property === "batch")
          return async (statements: D1PreparedStatement[]) => {
            const results = await target.batch(statements);
            batches.push(results);
            return results;
          };
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const deps = { ...at(T0 + 2_000), db: createDb(recording) };
    const rotation = await rotateRefreshToken(deps, redemption.family.refreshToken, owner.clientId);
    expect(rotation.kind).toBe("rotated");
    const update = batches[0]?.[0];
    expect(update?.meta.rows_read).toBeGreaterThan(0);
    expect(update?.meta.rows_read).toBeLessThan(20);
  });
});
