import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, type ExpectStatic, test, vi } from "vitest";
import {
  clientRevocationKey,
  consentRevocationKey,
  disabledClientKey,
  familyRevocationKey,
} from "../../src/revocation/revocations";
import { call } from "../helpers/api";
import { type AppFetcher, appFetcher } from "../helpers/app";
import { storedFamiliesOf } from "../helpers/authorization-store";
import { type FaultPlan, faultyD1, faultyKV, faultyLedgers } from "../helpers/faults";
import { type Grant, grant, isActive, manage, postForm, REVOKE_URL } from "../helpers/introspection";
import { codeFor, codeForm, redeem, refreshCall, tokenCall } from "../helpers/token-endpoint";

/**
 * The fault sweep of the authorization server's revocation paths (issues 14 and 15): RFC 7009 for a
 * refresh and an access token, refresh-token reuse, code replay, consent found gone at refresh, and
 * re-enabling a client. A clean run counts each path's D1 steps, KV steps and revocation-ledger
 * calls; then each one fails in turn, and each batch breaks at every position. Every outcome is all
 * or nothing: the expected answer with everything applied, or an OAuth 503 `temporarily_unavailable`
 * with nothing changed in D1 or KV — after which the same request, retried, applies completely.
 * Re-enabling is the one documented exception: it fails closed (D1 enabled, the client still
 * disabled to introspection) and enabling again repairs it.
 */

const TIMEOUT = 300_000;

type Bindings = Partial<Env>;
type Ctx = { grant: Grant; oldRefreshToken?: string; code?: string };
type Scenario = {
  name: string;
  setup: () => Promise<Ctx>;
  act: (ctx: Ctx, fetcher: AppFetcher) => Promise<Response>;
  /** The status of a healthy run. */
  ok: number;
  /** Everything the healthy run changes has happened. */
  applied: (expect: ExpectStatic, ctx: Ctx) => Promise<void>;
};

/** What a path may change: the client's keys in KV, its families in D1. */
async function state(ctx: Ctx): Promise<unknown> {
  const { client, user } = ctx.grant;
  const families = await storedFamiliesOf(client.client_id);
  const keys = [
    clientRevocationKey(client.client_id),
    consentRevocationKey(client.client_id, user.userId),
    disabledClientKey(client.client_id),
    ...families.map((f) => familyRevocationKey(String(f.family_id))),
  ];
  const kv = await Promise.all(keys.map(async (k) => [k, await env.REVOCATIONS.get(k)]));
  const enabled = await env.DB.prepare("SELECT enabled FROM clients WHERE client_id = ?")
    .bind(client.client_id)
    .first("enabled");
  const tokens = await env.DB.prepare(
    "SELECT t.token_hash, t.rotated_on FROM refresh_tokens t JOIN refresh_families f USING (family_id) WHERE f.client_id = ? ORDER BY t.token_hash",
  )
    .bind(client.client_id)
    .all();
  return { kv, families, enabled, tokens: tokens.results };
}

const basic = (g: Grant) => ({ id: g.client.client_id, secret: g.client.client_secret });

/** A refresh by client_secret_post. */
const refreshForm = (g: Grant, refreshToken: string) => ({
  grant_type: "refresh_token",
  refresh_token: refreshToken,
  client_id: g.client.client_id,
  client_secret: g.client.client_secret,
});

/** Every family of the grant's client is revoked in D1 and in KV, and its access token is inactive. */
async function familyRevoked(expect: ExpectStatic, ctx: Ctx) {
  const families = await storedFamiliesOf(ctx.grant.client.client_id);
  expect(families.length).toBeGreaterThan(0);
  for (const f of families) {
    expect(f.revoked_on, "revoked in D1").not.toBeNull();
    expect(await env.REVOCATIONS.get(familyRevocationKey(String(f.family_id))), "revoked in KV").not.toBeNull();
  }
  expect(await isActive(ctx.grant.accessToken)).toBe(false);
}

const SCENARIOS: Scenario[] = [
  {
    name: "RFC 7009: revoking a refresh token",
    setup: async () => ({ grant: await grant() }),
    act: ({ grant: g }, fetcher) =>
      postForm(REVOKE_URL, { token: g.refreshToken, token_type_hint: "refresh_token" }, { basic: basic(g), fetcher }),
    ok: 200,
    applied: familyRevoked,
  },
  {
    name: "RFC 7009: revoking an access token",
    setup: async () => ({ grant: await grant() }),
    act: ({ grant: g }, fetcher) =>
      postForm(REVOKE_URL, { token: g.accessToken, token_type_hint: "access_token" }, { basic: basic(g), fetcher }),
    ok: 200,
    applied: async (expect, { grant: g }) => {
      expect(await isActive(g.accessToken)).toBe(false);
      expect(await isActive(g.refreshToken)).toBe(true);
    },
  },
  {
    name: "refresh-token reuse",
    setup: async () => {
      const g = await grant();
      const rotated = await refreshCall(g.client, g.refreshToken);
      if (rotated.status !== 200) throw new Error(`setup refresh answered ${rotated.status}`);
      return { grant: g, oldRefreshToken: g.refreshToken };
    },
    act: ({ grant: g, oldRefreshToken }, fetcher) => tokenCall(refreshForm(g, oldRefreshToken as string), { fetcher }),
    ok: 400,
    applied: familyRevoked,
  },
  {
    name: "code replay",
    setup: async () => {
      const g = await grant();
      const code = await codeFor(g.client.client_id, g.user, { scopes: g.scopes });
      const first = await redeem(g.client, code);
      return { grant: { ...g, accessToken: String(first.access_token) }, code };
    },
    act: ({ grant: g, code }, fetcher) => tokenCall(codeForm(g.client, code as string), { fetcher }),
    ok: 400,
    applied: async (expect, ctx) => {
      const families = await storedFamiliesOf(ctx.grant.client.client_id);
      expect(families.filter((f) => f.revoked_on !== null).length).toBeGreaterThan(0);
      expect(await isActive(ctx.grant.accessToken)).toBe(false);
    },
  },
  {
    name: "refresh after the consent was removed",
    setup: async () => {
      const g = await grant();
      await env.DB.prepare("DELETE FROM consents WHERE client_id = ?").bind(g.client.client_id).run();
      return { grant: g };
    },
    act: ({ grant: g }, fetcher) => tokenCall(refreshForm(g, g.refreshToken), { fetcher }),
    ok: 400,
    applied: familyRevoked,
  },
];

/** A fetcher over the real bindings, with `bindings` swapped in. */
const over = (bindings: Bindings) => appFetcher({ env: bindings });

let faultsInjected = 0;

beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
});

afterAll(() => {
  console.info(`[revocation-fault-sweep] faults injected: ${faultsInjected} over ${SCENARIOS.length} paths`);
  vi.restoreAllMocks();
});

async function expectUnavailable(expect: ExpectStatic, response: Response, label: string) {
  expect(response.status, label).toBe(503);
  expect(await response.json(), label).toMatchObject({ error: "temporarily_unavailable" });
  expect(response.headers.get("cache-control"), label).toBe("no-store");
}

/** One faulty run: the healthy outcome complete, or a 503 with nothing changed and a retry that applies. */
async function expectAllOrNothing(expect: ExpectStatic, scenario: Scenario, bindings: Bindings, label: string) {
  faultsInjected += 1;
  const ctx = await scenario.setup();
  const before = await state(ctx);
  const response = await scenario.act(ctx, over(bindings));
  if (response.status === scenario.ok) {
    await scenario.applied(expect, ctx);
    return;
  }
  await expectUnavailable(expect, response, label);
  expect(await state(ctx), `${label}: nothing changed`).toEqual(before);
  const retry = await scenario.act(ctx, over({}));
  expect(retry.status, `${label}: retry`).toBe(scenario.ok);
  await scenario.applied(expect, ctx);
}

describe("fault sweep of the authorization server's revocation paths", () => {
  test.for(SCENARIOS.map((s) => [s.name, s] as const))(
    "%s: every D1 step, batch position, KV step and ledger call",
    { timeout: TIMEOUT },
    async ([, scenario], { expect }) => {
      const clean = await scenario.setup();
      const d1 = faultyD1(env.DB);
      const kv = faultyKV(env.REVOCATIONS);
      const ledger = faultyLedgers();
      const response = await scenario.act(
        clean,
        over({ DB: d1.db, REVOCATIONS: kv.kv, REVOCATION_LEDGER: ledger.ledgers }),
      );
      expect(response.status).toBe(scenario.ok);
      await scenario.applied(expect, clean);
      const d1Steps = d1.counter.calls.length;
      const kvSteps = kv.counter.calls.length;
      const ledgerSteps = ledger.counter.calls.length;
      const batches = d1.counter.calls.filter((c) => c === "batch").length;
      console.info(
        `[revocation-fault-sweep] ${scenario.name}: D1 ${d1.counter.calls.join(",")}; KV ${kv.counter.calls.join(",") || "none"}; ledger ${ledger.counter.calls.join(",") || "none"}`,
      );
      expect(kvSteps, "every path writes KV").toBeGreaterThan(0);

      const plans: [string, Bindings][] = [];
      for (let n = 1; n <= d1Steps; n++) plans.push([`D1 step ${n}`, { DB: faultyD1(env.DB, { failAt: n }).db }]);
      for (let k = 0; batches > 0 && k <= 4; k++)
        plans.push([`batch broken at ${k}`, { DB: faultyD1(env.DB, { breakBatchAt: k }).db }]);
      for (let n = 1; n <= kvSteps; n++)
        plans.push([`KV step ${n}`, { REVOCATIONS: faultyKV(env.REVOCATIONS, { failAt: n }).kv }]);
      for (let n = 1; n <= ledgerSteps; n++)
        plans.push([`ledger call ${n}`, { REVOCATION_LEDGER: faultyLedgers({ failAt: n }).ledgers }]);
      for (const [label, bindings] of plans) await expectAllOrNothing(expect, scenario, bindings, label);

      if (ledgerSteps > 0) {
        // D1 refuses the revocation and the ledger refuses the undo: D1 is untouched; the KV entry may
        // outlive the refusal (that revokes early, never late); the retry applies everything.
        faultsInjected += 1;
        const ctx = await scenario.setup();
        const familiesBefore = await storedFamiliesOf(ctx.grant.client.client_id);
        const lastWrite = d1.counter.calls.lastIndexOf("batch") + 1 || d1.counter.calls.lastIndexOf("run") + 1;
        const res = await scenario.act(
          ctx,
          over({
            DB: faultyD1(env.DB, { failAt: lastWrite }).db,
            REVOCATION_LEDGER: faultyLedgers({ failFrom: ledgerSteps + 1 }).ledgers,
          }),
        );
        await expectUnavailable(expect, res, "double fault");
        expect(await storedFamiliesOf(ctx.grant.client.client_id), "double fault: D1 untouched").toEqual(
          familiesBefore,
        );
        expect((await scenario.act(ctx, over({}))).status).toBe(scenario.ok);
        await scenario.applied(expect, ctx);
      }
    },
  );

  test("re-enabling a client fails closed at every step, and enabling again repairs it", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const disabledGrant = async () => {
      const g = await grant();
      expect((await manage.setEnabled(g, false)).status).toBe(200);
      expect(await isActive(g.accessToken)).toBe(false);
      return g;
    };
    const enable = (g: Grant, bindings: Bindings) => postEnable(g, over(bindings)).then((r) => r.status);
    // The clean run's steps.
    const g0 = await disabledGrant();
    const d1 = faultyD1(env.DB);
    const kv = faultyKV(env.REVOCATIONS);
    const ledger = faultyLedgers();
    expect(await enable(g0, { DB: d1.db, REVOCATIONS: kv.kv, REVOCATION_LEDGER: ledger.ledgers })).toBe(200);
    expect(await isActive(g0.accessToken)).toBe(true);
    const plans: [string, FaultPlan, keyof Env][] = [
      ...d1.counter.calls.map(
        (_, i) => [`D1 step ${i + 1}`, { failAt: i + 1 }, "DB"] as [string, FaultPlan, keyof Env],
      ),
      ...kv.counter.calls.map(
        (_, i) => [`KV step ${i + 1}`, { failAt: i + 1 }, "REVOCATIONS"] as [string, FaultPlan, keyof Env],
      ),
      ...ledger.counter.calls.map(
        (_, i) => [`ledger call ${i + 1}`, { failAt: i + 1 }, "REVOCATION_LEDGER"] as [string, FaultPlan, keyof Env],
      ),
    ];
    expect(plans.length).toBeGreaterThan(2);
    for (const [label, plan, binding] of plans) {
      faultsInjected += 1;
      const g = await disabledGrant();
      const bindings: Bindings =
        binding === "DB"
          ? { DB: faultyD1(env.DB, plan).db }
          : binding === "REVOCATIONS"
            ? { REVOCATIONS: faultyKV(env.REVOCATIONS, plan).kv }
            : { REVOCATION_LEDGER: faultyLedgers(plan).ledgers };
      const status = await enable(g, bindings);
      expect([200, 503], label).toContain(status);
      if (status === 503) {
        // Fail closed: whatever D1 says, the tokens are not active until enabling succeeds.
        expect(await isActive(g.accessToken), `${label}: still inactive`).toBe(false);
        expect(await enable(g, {}), `${label}: enabling again`).toBe(200);
      }
      expect(await isActive(g.accessToken), `${label}: active once enabled`).toBe(true);
    }
  });
});

/** PATCH activation `status: true` through `fetcher`, as the client's owner. */
function postEnable(g: Grant, fetcher: AppFetcher): Promise<Response> {
  return call("PATCH", `/clients/${g.client.client_id}/activation`, {
    caller: g.client.owner,
    body: { status: true },
    fetcher,
  });
}
