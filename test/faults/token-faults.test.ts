import { env } from "cloudflare:workers";
import { describe, type ExpectStatic, it } from "vitest";
import { appFetcher } from "../helpers/app";
import { orphanTokens, storedCodesOf, storedFamiliesOf, storedTokensOf } from "../helpers/authorization-store";
import { faultyD1 } from "../helpers/faults";
import { codeForm, consentedCode, redeem, refreshCall, type TestClient, tokenCall } from "../helpers/token-endpoint";

// D1 failing at every step of a code redemption and of a refresh (AS §10): the answer is an OAuth
// 503 temporarily_unavailable with no-store, no token is ever returned whose family or refresh row
// is missing, and a failed batch writes nothing. A refresh keeps the old state (its rotation is the
// last step, so the old token still works). A code is single use even when its request fails after
// consuming it (and starting its family, in the same batch): the state is then "consumed, nothing
// issued" (the family revoked, its refresh token never disclosed), and the client goes back to
// /oauth2/authorize — resurrecting a code would reopen replay.

type Plan = Parameters<typeof faultyD1>[1];

function faultyFetcher(plan: Plan) {
  const { db, counter } = faultyD1(env.DB, plan);
  return { fetcher: appFetcher({ env: { DB: db } }), counter };
}

async function expectUnavailable(expect: ExpectStatic, response: Response) {
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ error: "temporarily_unavailable" });
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("pragma")).toBe("no-cache");
}

/** The D1 operations a healthy request makes, by name. */
async function stepsOf(request: (fetcher: ReturnType<typeof appFetcher>) => Promise<Response>): Promise<string[]> {
  const { fetcher, counter } = faultyFetcher({});
  const response = await request(fetcher);
  if (response.status !== 200) throw new Error(`clean run answered ${response.status}`);
  return [...counter.calls];
}

/** After a failed redemption: either untouched (the retry succeeds) or consumed with nothing live issued. */
async function expectCodeOldOrSpent(expect: ExpectStatic, client: TestClient, code: string) {
  const [row] = await storedCodesOf(client.client_id);
  const families = await storedFamiliesOf(client.client_id);
  for (const family of families) expect(family.revoked_on, "a family nobody received is revoked").not.toBeNull();
  expect(await orphanTokens()).toEqual([]);
  const retry = await tokenCall(codeForm(client, code));
  if (row?.consumed_on === null) {
    expect(families).toEqual([]);
    expect(retry.status).toBe(200);
  } else {
    expect(retry.status).toBe(400);
  }
}

/** A 200: the family is live and its refresh token rotates. */
async function expectFullyIssued(expect: ExpectStatic, client: TestClient, body: Record<string, string>) {
  const [family] = await storedFamiliesOf(client.client_id);
  expect(family?.revoked_on).toBeNull();
  expect((await refreshCall(client, body.refresh_token as string)).status).toBe(200);
}

describe("D1 failing during a code redemption", () => {
  it("at every step: 503, and the code is untouched or spent with nothing live issued", async ({ expect }) => {
    const probe = await consentedCode();
    const steps = await stepsOf((fetcher) => tokenCall(codeForm(probe.client, probe.code), { fetcher }));
    expect(steps.length).toBeGreaterThanOrEqual(4);
    for (let failAt = 1; failAt <= steps.length; failAt++) {
      const { client, code } = await consentedCode();
      const { fetcher } = faultyFetcher({ failAt });
      const response = await tokenCall(codeForm(client, code), { fetcher });
      if (response.status === 200) {
        // The isolate's key cache warmed since the clean run: fewer steps, none of them failed.
        await expectFullyIssued(expect, client, (await response.json()) as Record<string, string>);
        continue;
      }
      await expectUnavailable(expect, response);
      await expectCodeOldOrSpent(expect, client, code);
    }
  });

  it("the redemption batch (consume the code, start its family) broken at every position: nothing of it is written, and the code still redeems", async ({
    expect,
  }) => {
    for (let position = 0; position <= 3; position++) {
      const { client, code } = await consentedCode();
      const { fetcher } = faultyFetcher({
        breakBatchAt: position,
        onlyBatchMatching: /^update "authorization_codes" set "consumed_on"/,
      });
      await expectUnavailable(expect, await tokenCall(codeForm(client, code), { fetcher }));
      expect(await storedFamiliesOf(client.client_id)).toEqual([]);
      expect((await storedCodesOf(client.client_id))[0]).toMatchObject({ consumed_on: null, family_id: null });
      expect(await orphanTokens()).toEqual([]);
      const retry = await tokenCall(codeForm(client, code));
      expect(retry.status).toBe(200);
      await expectFullyIssued(expect, client, (await retry.json()) as Record<string, string>);
    }
  });
});

describe("D1 failing during a refresh", () => {
  it("at every step: 503, and the old token still rotates (nothing consumed without its successor returned)", async ({
    expect,
  }) => {
    const probe = await consentedCode();
    const probeToken = (await redeem(probe.client, probe.code)).refresh_token as string;
    const steps = await stepsOf((fetcher) => tokenCall(refreshForm(probe.client, probeToken), { fetcher }));
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (let failAt = 1; failAt <= steps.length; failAt++) {
      const { client, code } = await consentedCode();
      const token = (await redeem(client, code)).refresh_token as string;
      const { fetcher } = faultyFetcher({ failAt });
      const response = await tokenCall(refreshForm(client, token), { fetcher });
      if (response.status === 200) {
        // Fewer steps than the clean run (a warm key cache): the rotation completed.
        const body = (await response.json()) as Record<string, string>;
        expect((await refreshCall(client, body.refresh_token as string)).status).toBe(200);
        continue;
      }
      await expectUnavailable(expect, response);
      const [family] = await storedFamiliesOf(client.client_id);
      expect(family?.revoked_on).toBeNull();
      expect(await storedTokensOf(family?.family_id as string)).toHaveLength(1);
      expect((await refreshCall(client, token)).status).toBe(200);
    }
  });

  it("the rotation batch broken at every position: nothing of it is written", async ({ expect }) => {
    for (let position = 0; position <= 3; position++) {
      const { client, code } = await consentedCode();
      const token = (await redeem(client, code)).refresh_token as string;
      const { fetcher } = faultyFetcher({ breakBatchAt: position, onlyBatchMatching: /^update "refresh_tokens"/ });
      await expectUnavailable(expect, await tokenCall(refreshForm(client, token), { fetcher }));
      const [family] = await storedFamiliesOf(client.client_id);
      const tokens = await storedTokensOf(family?.family_id as string);
      expect(tokens).toHaveLength(1);
      expect(tokens[0]?.rotated_on).toBeNull();
      expect((await refreshCall(client, token)).status).toBe(200);
    }
  });
});

function refreshForm(client: TestClient, refreshToken: string): Record<string, string> {
  return {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: client.client_id,
    client_secret: client.client_secret,
  };
}
