import { describe, it } from "vitest";
import { issueCode, redeemCode, revokeReplayedCode } from "../../src/authorization/codes";
import { consumePendingRequest, createPendingRequest } from "../../src/authorization/pending-requests";
import { revokeFamily, rotateRefreshToken } from "../../src/authorization/refresh-tokens";
import {
  codeInput,
  newOwner,
  orphanTokens,
  pendingInput,
  storeDeps,
  storedCodesOf,
  storedFamiliesOf,
  storedTokensOf,
  T0,
} from "../helpers/authorization-store";

// AS §10: single use is a conditional write, proven under concurrency. Twenty calls race against
// the real D1, each through its own wrapped binding and Drizzle handle (as separate isolates would);
// D1 runs one statement or batch at a time, and the WHERE clauses decide who wins.

const RACERS = 20;
const racers = (now: number) => Array.from({ length: RACERS }, (_, i) => storeDeps(now + i).deps);
/** How many results of each kind, e.g. { rotated: 1, reuse: 19 }. */
function kinds(results: { kind: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { kind } of results) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

async function familyFromNewCode(owner = newOwner()) {
  const code = await issueCode(storeDeps(T0).deps, codeInput(owner));
  const redemption = await redeemCode(storeDeps(T0 + 1_000).deps, code, owner.clientId);
  if (redemption.kind !== "redeemed") throw new Error(redemption.kind);
  return { owner, family: redemption.family };
}

describe("racing redemptions and rotations", () => {
  it("20 parallel consumptions of one pending request: exactly one gets it", async ({ expect }) => {
    const input = pendingInput();
    const { id, csrfToken } = await createPendingRequest(storeDeps(T0).deps, input);
    const results = await Promise.all(
      racers(T0 + 1_000).map((deps) => consumePendingRequest(deps, id, csrfToken, input.userId)),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  it("20 parallel redemptions of one code: exactly one succeeds with a family, the others are replays that revoke it", async ({
    expect,
  }) => {
    const input = codeInput();
    const code = await issueCode(storeDeps(T0).deps, input);
    // Each racer acts on a replay as the grant does (the service writes KV in between).
    const results = await Promise.all(
      racers(T0 + 1_000).map(async (deps) => {
        const r = await redeemCode(deps, code, input.clientId);
        if (r.kind === "replayed") await revokeReplayedCode(deps, r);
        return r;
      }),
    );
    expect(kinds(results)).toEqual({ redeemed: 1, replayed: RACERS - 1 });
    const winner = results.find((r) => r.kind === "redeemed");
    if (winner?.kind !== "redeemed") throw new Error("no winner");
    // Consumption and family start are one batch: every replay saw the winner's family and named it.
    for (const r of results) if (r.kind === "replayed") expect(r.familyId).toBe(winner.family.familyId);
    // A replay means the code leaked: what it issued is revoked (RFC 6749 §4.1.2).
    const families = await storedFamiliesOf(input.clientId);
    expect(families).toHaveLength(1);
    expect(families[0]).toMatchObject({ family_id: winner.family.familyId, revoked_reason: "code_replay" });
    expect(await storedTokensOf(winner.family.familyId)).toHaveLength(1);
    expect((await storedCodesOf(input.clientId))[0]).toMatchObject({
      family_id: winner.family.familyId,
      replayed_on: expect.any(Number),
    });
    expect(await orphanTokens()).toEqual([]);
    expect(await rotateRefreshToken(storeDeps(T0 + 2_000).deps, winner.family.refreshToken, input.clientId)).toEqual({
      kind: "invalid",
    });
  });

  it("20 parallel rotations of one refresh token: exactly one succeeds, 19 are reuse, and the family is revoked", async ({
    expect,
  }) => {
    const { owner, family } = await familyFromNewCode();
    const results = await Promise.all(
      racers(T0 + 10_000).map(async (deps) => {
        const r = await rotateRefreshToken(deps, family.refreshToken, owner.clientId);
        // As the grant does on reuse (the service writes KV in between).
        if (r.kind === "reuse") await revokeFamily(deps, r.familyId, "reuse");
        return r;
      }),
    );
    expect(kinds(results)).toEqual({ rotated: 1, reuse: RACERS - 1 });
    const [row] = await storedFamiliesOf(owner.clientId);
    expect(row).toMatchObject({ family_id: family.familyId, revoked_reason: "reuse" });
    // One successor only: the losers' inserts named a successor the UPDATE never recorded.
    expect(await storedTokensOf(family.familyId)).toHaveLength(2);
    const winner = results.find((r) => r.kind === "rotated");
    if (winner?.kind !== "rotated") throw new Error("no winner");
    expect(await rotateRefreshToken(storeDeps(T0 + 20_000).deps, winner.refreshToken, owner.clientId)).toEqual({
      kind: "invalid",
    });
  });

  it("20 parallel rotations of 20 different families' tokens all succeed", async ({ expect }) => {
    const owner = newOwner();
    const families = await Promise.all(Array.from({ length: RACERS }, () => familyFromNewCode(owner)));
    const results = await Promise.all(
      families.map(({ family }, i) =>
        rotateRefreshToken(storeDeps(T0 + 10_000 + i).deps, family.refreshToken, owner.clientId),
      ),
    );
    expect(kinds(results)).toEqual({ rotated: RACERS });
    expect((await storedFamiliesOf(owner.clientId)).every((f) => f.revoked_on === null)).toBe(true);
  });
});
