import { describe, it } from "vitest";
import { issueCode, redeemCode } from "../../src/authorization/codes";
import { createPendingRequest } from "../../src/authorization/pending-requests";
import { purgeExpired } from "../../src/authorization/purge";
import { hashToken } from "../../src/authorization/tokens";
import {
  CODE_TTL_MS,
  codeInput,
  newOwner,
  pendingInput,
  REFRESH_TTL_MS,
  storeDeps,
  storedCodesOf,
  storedFamiliesOf,
  storedRequest,
  storedTokensOf,
} from "../helpers/authorization-store";

// The Cron Trigger's cleanup of the authorization store (purgeExpired): what is due when, and the
// per-run bound. In a file of its own because a purge deletes every due row of the database, and
// storage is isolated per file: no other test's rows are here to be counted.

const at = (now: number) => storeDeps(now).deps;

async function familyFromNewCode(owner: ReturnType<typeof newOwner>, now: number) {
  const code = await issueCode(at(now), codeInput(owner));
  const redemption = await redeemCode(at(now + 1_000), code, owner.clientId);
  if (redemption.kind !== "redeemed") throw new Error(redemption.kind);
  return { family: redemption.family };
}

describe("cleanup", () => {
  it("purges expired requests, codes past the longest family, and expired families with their tokens, bounded per run", async ({
    expect,
  }) => {
    const base = Date.UTC(2026, 11, 1, 12, 0, 0);
    const owner = newOwner();
    const requests = await Promise.all([0, 1, 2].map(() => createPendingRequest(at(base), pendingInput(owner))));
    const families = [await familyFromNewCode(owner, base), await familyFromNewCode(owner, base)];
    const liveCode = await issueCode(at(base + REFRESH_TTL_MS), codeInput(owner));

    // Nothing is due before the expiries.
    const nothing = await purgeExpired(at(base + 599_999), 100);
    expect(nothing).toEqual({ requests: 0, codes: 0, families: 0 });

    const end = base + 1_000 + REFRESH_TTL_MS + CODE_TTL_MS;
    expect(await purgeExpired(at(end), 2)).toEqual({ requests: 2, codes: 2, families: 2 });
    expect(await purgeExpired(at(end), 2)).toEqual({ requests: 1, codes: 0, families: 0 });
    for (const r of requests) expect(await storedRequest(r.id)).toBeUndefined();
    expect(await storedFamiliesOf(owner.clientId)).toEqual([]);
    for (const f of families) expect(await storedTokensOf(f.family.familyId)).toEqual([]);
    // The code issued later is kept until its own retention ends.
    const codes = await storedCodesOf(owner.clientId);
    expect(codes.map((c) => c.code_hash)).toEqual([await hashToken(liveCode)]);
  });
});
