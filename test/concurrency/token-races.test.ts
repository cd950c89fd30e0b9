import { describe, it } from "vitest";
import { orphanTokens, storedCodesOf, storedFamiliesOf, storedTokensOf } from "../helpers/authorization-store";
import { codeForm, consentedCode, redeem, refreshCall, tokenCall } from "../helpers/token-endpoint";

// AS §10 through the worker: twenty token requests race against the real D1 (each request is its
// own app invocation, as concurrent isolates would be), and single use holds end to end.

const RACERS = 20;

async function answers(responses: Response[]) {
  return Promise.all(
    responses.map(async (response) => ({
      status: response.status,
      body: (await response.json()) as Record<string, string>,
    })),
  );
}

describe("racing token requests", () => {
  it("20 parallel redemptions of one code: exactly one 200, every other is invalid_grant, and the winner's family ends revoked", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode();
    const results = await answers(
      await Promise.all(Array.from({ length: RACERS }, () => tokenCall(codeForm(client, code)))),
    );
    // Consumption and family start are one D1 batch, so no replay can slip between them (AS §10).
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    const refused = results.filter((r) => r.status === 400);
    expect(refused).toHaveLength(RACERS - 1);
    for (const r of refused) expect(r.body.error).toBe("invalid_grant");
    const [row] = await storedCodesOf(client.client_id);
    expect(row?.consumed_on).not.toBeNull();
    expect(row?.replayed_on).not.toBeNull();
    // The 19 others are replays of a code that leaked (RFC 9700 §4.5, RFC 6749 §4.1.2): they revoke
    // what the winner's redemption issued, so its refresh token is dead afterwards.
    const families = await storedFamiliesOf(client.client_id);
    expect(families).toHaveLength(1);
    expect(families[0]).toMatchObject({ family_id: row?.family_id, revoked_reason: "code_replay" });
    const winner = ok[0]?.body.refresh_token as string;
    expect(winner).toEqual(expect.any(String));
    const after = await refreshCall(client, winner);
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: string }).error).toBe("invalid_grant");
    expect(await orphanTokens()).toEqual([]);
  });

  it("20 parallel refreshes of one token: exactly one 200, and the family is revoked (its successor fails)", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode();
    const first = await redeem(client, code);
    const results = await answers(
      await Promise.all(Array.from({ length: RACERS }, () => refreshCall(client, first.refresh_token as string))),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === "invalid_grant")).toHaveLength(RACERS - 1);
    const [family] = await storedFamiliesOf(client.client_id);
    expect(family?.revoked_reason).toBe("reuse");
    // Exactly one successor was written: the winner's.
    expect(await storedTokensOf(family?.family_id as string)).toHaveLength(2);
    const successor = ok[0]?.body.refresh_token as string;
    const after = await refreshCall(client, successor);
    expect(after.status).toBe(400);
    expect(((await after.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("20 refreshes of 20 different grants of one client never interfere", async ({ expect }) => {
    const grants = await Promise.all(
      Array.from({ length: RACERS }, async () => {
        const { client, code } = await consentedCode();
        return { client, token: (await redeem(client, code)).refresh_token as string };
      }),
    );
    const statuses = await Promise.all(
      grants.map(({ client, token }) => refreshCall(client, token).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array(RACERS).fill(200));
  });
});
