import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, type ExpectStatic, test, vi } from "vitest";
import { clientRevocationKey, consentRevocationKey, disabledClientKey } from "../../src/revocation/revocations";
import { call, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { faultyD1, faultyKV, faultyLedgers, unreachableDurableObjects } from "../helpers/faults";
import { checkResponse, cleanDbReport, dbInvariants, type TenantState, tenantState } from "../helpers/reliability";
import { type Caller, newCaller } from "../helpers/signature";
import { insertConsent, type StoredClient, type StoredSecret } from "../helpers/stored-state";

/**
 * Fault sweep (issue 7): for every write operation, a clean run counts its D1 and KV steps and its
 * calls to the revocation ledgers; then each step N is made to fail in turn (and every position
 * inside each D1 batch, and KV's or the ledgers' undo after a failed batch, and the rate limiter as a whole). Every outcome must be all or nothing:
 * 503 with nothing changed in D1 or KV (or, for the limiter, SPEC §10's documented fail-closed
 * 503), and the same request retried on healthy bindings must then succeed completely.
 */

const TIMEOUT = 300_000;

type Ctx = { caller: Caller; clientIds: string[] };
type Snapshot = { tenant: TenantState; kv: [string, string | null][] };
type Scenario = {
  name: string;
  method: string;
  template: string;
  setup: () => Promise<Ctx>;
  request: (ctx: Ctx) => { path: string; body?: unknown };
  ok: number;
  /** Asserts the change is complete, given the state before and after and the response body. */
  applied: (expect: Expect, ctx: Ctx, before: Snapshot, after: Snapshot, body: Record<string, unknown>) => void;
};
type Expect = ExpectStatic;

async function kvState(clientIds: string[], userIds: string[]): Promise<[string, string | null][]> {
  const keys = clientIds.flatMap((c) => [
    clientRevocationKey(c),
    disabledClientKey(c),
    ...userIds.map((u) => consentRevocationKey(c, u)),
  ]);
  return Promise.all(keys.map(async (k) => [k, await env.REVOCATIONS.get(k)] as [string, string | null]));
}

async function snapshot(ctx: Ctx): Promise<Snapshot> {
  return { tenant: await tenantState(ctx.caller.tenantId), kv: await kvState(ctx.clientIds, [ctx.caller.userId]) };
}

const clients = (s: Snapshot) => new Map((JSON.parse(s.tenant.clients) as StoredClient[]).map((r) => [r.client_id, r]));
const secretsOf = (s: Snapshot, id: string) =>
  (JSON.parse(s.tenant.secrets) as StoredSecret[]).filter((r) => r.client_id === id);
const kvValue = (s: Snapshot, key: string) => s.kv.find(([k]) => k === key)?.[1] ?? null;

async function ownedClient(role: Caller["role"] = "USER", consent = false): Promise<Ctx> {
  const caller = newCaller(role);
  const { client_id } = await createClientAs(caller);
  if (consent) await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: client_id });
  return { caller, clientIds: [client_id] };
}

const id0 = (ctx: Ctx) => ctx.clientIds[0] ?? "";

const SCENARIOS: Scenario[] = [
  {
    name: "createClient",
    method: "POST",
    template: "/clients",
    setup: async () => ({ caller: newCaller("USER"), clientIds: [] }),
    request: () => ({
      path: "/clients",
      body: {
        name: "Faulty",
        redirect_uris: ["https://f.example/cb"],
        allowed_origins: ["https://f.example"],
        scopes: ["openid"],
      },
    }),
    ok: 201,
    applied: (expect, _ctx, before, after, body) => {
      expect(clients(after).size).toBe(clients(before).size + 1);
      expect(clients(after).has(String(body.client_id))).toBe(true);
      expect(secretsOf(after, String(body.client_id)).length).toBe(1);
      expect(after.tenant.audits).toBe(before.tenant.audits + 1);
    },
  },
  {
    name: "updateClient",
    method: "PUT",
    template: "/clients/:clientId",
    setup: () => ownedClient(),
    request: (ctx) => ({
      path: `/clients/${id0(ctx)}`,
      body: { name: "After the fault", allowed_origins: ["https://g.example"] },
    }),
    ok: 200,
    applied: (expect, ctx, before, after) => {
      expect(clients(after).get(id0(ctx))?.name).toBe("After the fault");
      expect(after.tenant.audits).toBe(before.tenant.audits + 1);
    },
  },
  {
    name: "deleteClient",
    method: "DELETE",
    template: "/clients/:clientId",
    setup: () => ownedClient("USER", true),
    request: (ctx) => ({ path: `/clients/${id0(ctx)}` }),
    ok: 200,
    applied: (expect, ctx, _before, after) => {
      expect(clients(after).has(id0(ctx))).toBe(false);
      expect(secretsOf(after, id0(ctx))).toEqual([]);
      expect(after.tenant.consents).toBe("[]");
      expect(kvValue(after, clientRevocationKey(id0(ctx)))).not.toBe(null);
    },
  },
  {
    name: "regenerateSecret",
    method: "PATCH",
    template: "/clients/:clientId/regenerate",
    setup: () => ownedClient(),
    request: (ctx) => ({ path: `/clients/${id0(ctx)}/regenerate` }),
    ok: 200,
    applied: (expect, ctx, before, after) => {
      const current = (s: Snapshot) => secretsOf(s, id0(ctx)).filter((r) => r.expires_on === null);
      expect(current(after).length).toBe(1);
      expect(current(after)[0]?.hash).not.toBe(current(before)[0]?.hash);
      expect(after.tenant.audits).toBe(before.tenant.audits + 1);
    },
  },
  {
    name: "regenerateSecret with a grace period",
    method: "PATCH",
    template: "/clients/:clientId/regenerate",
    setup: () => ownedClient(),
    request: (ctx) => ({ path: `/clients/${id0(ctx)}/regenerate?grace_period=3600` }),
    ok: 200,
    applied: (expect, ctx, before, after) => {
      const rows = secretsOf(after, id0(ctx));
      expect(rows.filter((r) => r.expires_on === null).length).toBe(1);
      expect(rows.length).toBe(secretsOf(before, id0(ctx)).length + 1);
    },
  },
  {
    name: "changeActivation",
    method: "PATCH",
    template: "/clients/:clientId/activation",
    setup: () => ownedClient(),
    request: (ctx) => ({ path: `/clients/${id0(ctx)}/activation`, body: { status: false } }),
    ok: 200,
    applied: (expect, ctx, before, after) => {
      expect(clients(after).get(id0(ctx))?.enabled).toBe(0);
      expect(after.tenant.audits).toBe(before.tenant.audits + 1);
      // Written before D1 (introspection reads KV only): a KV failure is a 503 with nothing changed.
      expect(kvValue(after, disabledClientKey(id0(ctx)))).not.toBe(null);
    },
  },
  {
    name: "changeActivation with revoke_tokens",
    method: "PATCH",
    template: "/clients/:clientId/activation",
    setup: () => ownedClient(),
    request: (ctx) => ({ path: `/clients/${id0(ctx)}/activation`, body: { status: false, revoke_tokens: true } }),
    ok: 200,
    applied: (expect, ctx, _before, after) => {
      expect(clients(after).get(id0(ctx))?.enabled).toBe(0);
      expect(kvValue(after, clientRevocationKey(id0(ctx)))).not.toBe(null);
      expect(kvValue(after, disabledClientKey(id0(ctx)))).not.toBe(null);
    },
  },
  {
    name: "revokeUserClient",
    method: "DELETE",
    template: "/clients/:clientId/revoke",
    setup: () => ownedClient("USER", true),
    request: (ctx) => ({ path: `/clients/${id0(ctx)}/revoke` }),
    ok: 200,
    applied: (expect, ctx, _before, after) => {
      expect(after.tenant.consents).toBe("[]");
      expect(kvValue(after, consentRevocationKey(id0(ctx), ctx.caller.userId))).not.toBe(null);
    },
  },
  {
    name: "revokeClientTokens",
    method: "DELETE",
    template: "/clients/:clientId/tokens",
    setup: () => ownedClient(),
    request: (ctx) => ({ path: `/clients/${id0(ctx)}/tokens` }),
    ok: 200,
    applied: (expect, ctx, _before, after) => {
      expect(clients(after).has(id0(ctx))).toBe(true);
      expect(kvValue(after, clientRevocationKey(id0(ctx)))).not.toBe(null);
    },
  },
  {
    name: "deleteClients (all of the caller's)",
    method: "DELETE",
    template: "/clients",
    setup: async () => {
      const caller = newCaller("USER");
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await createClientAs(caller)).client_id);
      await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: ids[0] ?? "" });
      return { caller, clientIds: ids };
    },
    request: () => ({ path: "/clients" }),
    ok: 200,
    applied: (expect, ctx, _before, after) => {
      expect(clients(after).size).toBe(0);
      expect(after.tenant.secrets).toBe("[]");
      expect(after.tenant.consents).toBe("[]");
      for (const id of ctx.clientIds) expect(kvValue(after, clientRevocationKey(id))).not.toBe(null);
    },
  },
  {
    name: "deleteTenantClients",
    method: "DELETE",
    template: "/clients/tenant",
    setup: async () => {
      const caller = newCaller("ADMIN");
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await createClientAs(newCaller("USER", caller.tenantId))).client_id);
      return { caller, clientIds: ids };
    },
    request: () => ({ path: "/clients/tenant" }),
    ok: 200,
    applied: (expect, ctx, _before, after) => {
      expect(clients(after).size).toBe(0);
      for (const id of ctx.clientIds) expect(kvValue(after, clientRevocationKey(id))).not.toBe(null);
    },
  },
];

/** The rate limiter's namespace with every stub failing (typed as the real binding). */
const limiterDown = () =>
  unreachableDurableObjects(env.RATE_LIMITER as unknown as DurableObjectNamespace) as unknown as Env["RATE_LIMITER"];

let faultsInjected = 0;

beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
  // The gateway logs every injected 503 with console.error; expected here, so kept out of the report.
  vi.spyOn(console, "error").mockImplementation(() => {});
});

afterAll(() => {
  console.info(`[fault-sweep] faults injected: ${faultsInjected} over ${SCENARIOS.length} operations`);
  vi.restoreAllMocks();
});

async function send(scenario: Scenario, ctx: Ctx, bindings: Partial<Env> = {}) {
  const { path, body } = scenario.request(ctx);
  return call(scenario.method, path, {
    caller: ctx.caller,
    ...(body === undefined ? {} : { body }),
    fetcher: appFetcher({ env: bindings }),
  });
}

/**
 * One faulty run: the answer is 503 with nothing changed (or a complete success), then a retry on
 * healthy bindings succeeds completely.
 */
async function expectAllOrNothing(
  expect: Expect,
  scenario: Scenario,
  bindings: (ctx: Ctx) => Partial<Env>,
  label: string,
) {
  faultsInjected += 1;
  const ctx = await scenario.setup();
  const before = await snapshot(ctx);
  const response = await send(scenario, ctx, bindings(ctx));
  const body = (await checkResponse(expect, response, { allow503: true })) as Record<string, unknown>;
  const after = await snapshot(ctx);
  if (response.status === scenario.ok) {
    scenario.applied(expect, ctx, before, after, body);
  } else {
    expect(response.status, `${label}: ${JSON.stringify(body)}`).toBe(503);
    expect(response.headers.get("retry-after"), label).not.toBe(null);
    expect(after, `${label}: nothing changed`).toEqual(before);
    const retry = await send(scenario, ctx);
    const retryBody = (await checkResponse(expect, retry)) as Record<string, unknown>;
    expect(retry.status, `${label}: retry`).toBe(scenario.ok);
    scenario.applied(expect, ctx, before, await snapshot(ctx), retryBody);
  }
}

describe("fault sweep", () => {
  test("the operations under test are all served", ({ expect }) => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(8);
  });

  test.for(SCENARIOS.map((s) => [s.name, s] as const))(
    "%s: every D1 and KV step, each batch position, each ledger call, the undo and the limiter",
    {
      timeout: TIMEOUT,
    },
    async ([, scenario], { expect }) => {
      // A clean run through counting wrappers tells how many steps there are to sweep.
      const clean = await scenario.setup();
      const d1 = faultyD1(env.DB);
      const kv = faultyKV(env.REVOCATIONS);
      const ledger = faultyLedgers();
      const before = await snapshot(clean);
      const response = await send(scenario, clean, {
        DB: d1.db,
        REVOCATIONS: kv.kv,
        REVOCATION_LEDGER: ledger.ledgers,
      });
      const body = (await checkResponse(expect, response)) as Record<string, unknown>;
      expect(response.status).toBe(scenario.ok);
      scenario.applied(expect, clean, before, await snapshot(clean), body);
      const d1Steps = d1.counter.calls.length;
      const kvSteps = kv.counter.calls.length;
      const ledgerSteps = ledger.counter.calls.length;
      const batches = d1.counter.calls.filter((c) => c === "batch").length;
      console.info(
        `[fault-sweep] ${scenario.name}: D1 steps ${d1.counter.calls.join(",")}; KV steps ${kv.counter.calls.join(",") || "none"}; ledger calls ${ledger.counter.calls.join(",") || "none"}`,
      );
      expect(d1Steps).toBeGreaterThan(0);

      for (let n = 1; n <= d1Steps; n++) {
        await expectAllOrNothing(expect, scenario, () => ({ DB: faultyD1(env.DB, { failAt: n }).db }), `D1 step ${n}`);
      }
      // The real D1 runs the first k statements of the batch, then must roll all of them back.
      for (let k = 0; batches > 0 && k <= 6; k++) {
        await expectAllOrNothing(
          expect,
          scenario,
          () => ({ DB: faultyD1(env.DB, { breakBatchAt: k }).db }),
          `batch broken at ${k}`,
        );
      }
      for (let n = 1; n <= kvSteps; n++) {
        await expectAllOrNothing(
          expect,
          scenario,
          () => ({ REVOCATIONS: faultyKV(env.REVOCATIONS, { failAt: n }).kv }),
          `KV step ${n}`,
        );
      }
      // A revocation ledger unreachable or failing at each call (record; the undo after it still works).
      for (let n = 1; n <= ledgerSteps; n++) {
        await expectAllOrNothing(
          expect,
          scenario,
          () => ({ REVOCATION_LEDGER: faultyLedgers({ failAt: n }).ledgers }),
          `ledger call ${n}`,
        );
      }
      if (ledgerSteps > 0 && batches > 0) {
        // D1 refuses the batch and every ledger then refuses the undo: D1 untouched, the retry succeeds.
        faultsInjected += 1;
        const ctx = await scenario.setup();
        const beforeDouble = await snapshot(ctx);
        const res = await send(scenario, ctx, {
          DB: faultyD1(env.DB, { only: ["batch"], failAt: batches }).db,
          REVOCATION_LEDGER: faultyLedgers({ failFrom: ledgerSteps + 1 }).ledgers,
        });
        await checkResponse(expect, res, { allow503: true });
        expect(res.status).toBe(503);
        expect((await snapshot(ctx)).tenant, "ledger undo refused: D1 untouched").toEqual(beforeDouble.tenant);
        const retry = await send(scenario, ctx);
        await checkResponse(expect, retry);
        expect(retry.status).toBe(scenario.ok);
      }
      if (kvSteps > 0 && batches > 0) {
        // D1 refuses the batch and KV then refuses the undo: D1 must still be untouched; a revocation
        // entry may outlive the failed change (that revokes early, never late — documented).
        faultsInjected += 1;
        const ctx = await scenario.setup();
        const beforeDouble = await snapshot(ctx);
        const res = await send(scenario, ctx, {
          DB: faultyD1(env.DB, { only: ["batch"], failAt: batches }).db,
          REVOCATIONS: faultyKV(env.REVOCATIONS, { failFrom: kvSteps + 1 }).kv,
        });
        await checkResponse(expect, res, { allow503: true });
        expect(res.status).toBe(503);
        expect((await snapshot(ctx)).tenant, "double fault: D1 untouched").toEqual(beforeDouble.tenant);
        const retry = await send(scenario, ctx);
        await checkResponse(expect, retry);
        expect(retry.status).toBe(scenario.ok);
      }
      // SPEC §10: an unreachable limiter fails closed for writes.
      await expectAllOrNothing(expect, scenario, () => ({ RATE_LIMITER: limiterDown() }), "rate limiter unreachable");
      expect(await dbInvariants()).toEqual(await cleanDbReport());
    },
  );

  test("reads fail open when the limiter is unreachable (SPEC §10), and 503 when D1 is", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const ctx = await ownedClient();
    const reads = ["/clients?limit=5", `/clients/${id0(ctx)}`, `/clients/${id0(ctx)}/info`, "/clients/info?limit=5"];
    for (const path of reads) {
      faultsInjected += 2;
      const open = await call("GET", path, {
        caller: ctx.caller,
        fetcher: appFetcher({ env: { RATE_LIMITER: limiterDown() } }),
      });
      await checkResponse(expect, open);
      expect(open.status, path).toBe(200);
      const down = await call("GET", path, {
        caller: ctx.caller,
        fetcher: appFetcher({ env: { DB: faultyD1(env.DB, { failFrom: 1 }).db } }),
      });
      await checkResponse(expect, down, { allow503: true });
      expect(down.status, path).toBe(503);
    }
  });
});
