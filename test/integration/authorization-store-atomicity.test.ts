import { describe, type ExpectStatic, it } from "vitest";
import { issueCode, redeemCode, revokeReplayedCode } from "../../src/authorization/codes";
import { revokeFamily, rotateRefreshToken } from "../../src/authorization/refresh-tokens";
import { hashToken } from "../../src/authorization/tokens";
import { HttpProblem } from "../../src/lib/problem";
import {
  codeInput,
  newOwner,
  orphanTokens,
  storeDeps,
  storedCodesOf,
  storedFamiliesOf,
  storedTokensOf,
  T0,
} from "../helpers/authorization-store";

// AS §10: every fault injected at every step leaves either the old state or the new one. faultyD1
// inserts a failing statement at position k of each batch (the real D1 runs the first k statements,
// then must roll the whole batch back) or fails one call outright; the store answers 503 and the
// rows are exactly as before, never a refresh token whose family row is missing. A retry without
// the fault then reaches the new state.

const at = (now: number) => storeDeps(now).deps;

/** The 503 every store failure becomes (guardD1). */
async function expectUnavailable(expect: ExpectStatic, call: Promise<unknown>) {
  const error = await call.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HttpProblem);
  expect((error as HttpProblem).init.status).toBe(503);
}

async function familyFromNewCode(owner = newOwner()) {
  const code = await issueCode(at(T0), codeInput(owner));
  const redemption = await redeemCode(at(T0 + 1_000), code, owner.clientId);
  if (redemption.kind !== "redeemed") throw new Error(redemption.kind);
  return { owner, code, family: redemption.family };
}

// Positions 0..n of a batch of n statements: before each statement, and after the last.
const REDEMPTION_STEPS = [0, 1, 2, 3];
const ROTATION_STEPS = [0, 1, 2, 3];
const REPLAY_STEPS = [0, 1, 2];

describe("redeeming a code", () => {
  it.for(REDEMPTION_STEPS)(
    "a fault at position %i of the redemption batch consumes nothing and starts no family; the code stays redeemable",
    async (k, { expect }) => {
      const owner = newOwner();
      const code = await issueCode(at(T0), codeInput(owner));
      await expectUnavailable(
        expect,
        redeemCode(storeDeps(T0 + 1_000, { breakBatchAt: k }).deps, code, owner.clientId),
      );
      expect((await storedCodesOf(owner.clientId))[0]).toMatchObject({
        consumed_on: null,
        family_id: null,
        replayed_on: null,
      });
      expect(await storedFamiliesOf(owner.clientId)).toEqual([]);
      expect(await orphanTokens()).toEqual([]);
      // The same code redeems afterwards: the failure was not mistaken for a replay.
      const retry = await redeemCode(at(T0 + 2_000), code, owner.clientId);
      if (retry.kind !== "redeemed") throw new Error(retry.kind);
      expect(retry.code.familyId).toBe(retry.family.familyId);
      expect(await storedTokensOf(retry.family.familyId)).toHaveLength(1);
    },
  );

  it("a failing redemption batch leaves the code unconsumed", async ({ expect }) => {
    const input = codeInput();
    const code = await issueCode(at(T0), input);
    await expectUnavailable(expect, redeemCode(storeDeps(T0 + 1_000, { failAt: 1 }).deps, code, input.clientId));
    expect((await storedCodesOf(input.clientId))[0]).toMatchObject({ consumed_on: null });
    expect((await redeemCode(at(T0 + 2_000), code, input.clientId)).kind).toBe("redeemed");
  });

  it.for(REPLAY_STEPS)(
    "a fault at position %i of the replay batch revokes nothing and marks nothing; the next replay does both",
    async (k, { expect }) => {
      const { owner, code, family } = await familyFromNewCode();
      // The replay is reported without a write; the batch that acts on it (revokeReplayedCode) fails.
      const replay = await redeemCode(at(T0 + 5_000), code, owner.clientId);
      if (replay.kind !== "replayed") throw new Error(replay.kind);
      const { deps } = storeDeps(T0 + 5_000, { breakBatchAt: k, onlyBatchMatching: /replayed_on/ });
      await expectUnavailable(expect, revokeReplayedCode(deps, replay));
      expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({ revoked_on: null });
      expect((await storedCodesOf(owner.clientId))[0]).toMatchObject({ replayed_on: null });
      const next = await redeemCode(at(T0 + 6_000), code, owner.clientId);
      expect(next).toMatchObject({ kind: "replayed", familyId: family.familyId });
      if (next.kind !== "replayed") throw new Error(next.kind);
      await revokeReplayedCode(at(T0 + 6_000), next);
      expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({ revoked_reason: "code_replay" });
    },
  );
});

describe("rotating a refresh token", () => {
  it.for(ROTATION_STEPS)(
    "a fault at batch position %i leaves the token unrotated and no successor",
    async (k, { expect }) => {
      const { owner, family } = await familyFromNewCode();
      const before = await storedTokensOf(family.familyId);
      await expectUnavailable(
        expect,
        rotateRefreshToken(storeDeps(T0 + 10_000, { breakBatchAt: k }).deps, family.refreshToken, owner.clientId),
      );
      expect(await storedTokensOf(family.familyId)).toEqual(before);
      expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({ revoked_on: null });
      expect(await orphanTokens()).toEqual([]);
      // The same token rotates afterwards: the failure was not mistaken for reuse.
      const retry = await rotateRefreshToken(at(T0 + 11_000), family.refreshToken, owner.clientId);
      if (retry.kind !== "rotated") throw new Error(retry.kind);
      const after = await storedTokensOf(family.familyId);
      expect(after.map((t) => t.token_hash).sort()).toEqual(
        [await hashToken(family.refreshToken), await hashToken(retry.refreshToken)].sort(),
      );
    },
  );

  it("reuse is reported after two operations and changes nothing; a failing revocation leaves the family live", async ({
    expect,
  }) => {
    const { owner, family } = await familyFromNewCode();
    expect((await rotateRefreshToken(at(T0 + 10_000), family.refreshToken, owner.clientId)).kind).toBe("rotated");
    // Operations of the reuse path: the batch (1), the lookup (2); the caller's revocation is (3).
    const { deps, counter } = storeDeps(T0 + 20_000, { failAt: 3 });
    const reuse = await rotateRefreshToken(deps, family.refreshToken, owner.clientId);
    expect(reuse).toEqual({ kind: "reuse", familyId: family.familyId, familyExpiresOn: family.expiresOn });
    expect(counter.calls).toHaveLength(2);
    await expectUnavailable(expect, revokeFamily(deps, family.familyId, "reuse"));
    expect((await storedFamiliesOf(owner.clientId))[0]).toMatchObject({ revoked_on: null });
    expect(await rotateRefreshToken(at(T0 + 21_000), family.refreshToken, owner.clientId)).toMatchObject({
      kind: "reuse",
      familyId: family.familyId,
    });
  });
});
