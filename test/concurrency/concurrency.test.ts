import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, test, vi } from "vitest";
import { hashClientSecret } from "../../src/services/secrets";
import { call, clientBody, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { checkResponse, cleanDbReport, dbInvariants } from "../helpers/reliability";
import { authenticateStatus } from "../helpers/service";
import { type Caller, newCaller } from "../helpers/signature";
import { auditEventsFor, storedClient, storedSecrets } from "../helpers/stored-state";

/**
 * Concurrency (issue 7): racing writes on one client end in a state that one of them produced,
 * never a blend; concurrent rotations leave exactly one working secret that was handed out;
 * deletes are never undone by a racing write; identical creates all succeed; and the rate limiter
 * admits exactly its quota under a burst.
 */

const TIMEOUT = 120_000;
/** The pepper configured for tests in vitest.config.ts. */
const TEST_PEPPER = "test-pepper-0123456789abcdef";

beforeAll(() => {
  vi.spyOn(console, "log").mockImplementation(() => {});
});
afterAll(() => {
  vi.restoreAllMocks();
});

/** A clock that never returns the same millisecond twice, so every write has its own time. */
function steppingClock(start = Date.now()) {
  let now = start;
  return () => {
    now += 1;
    return now;
  };
}

describe("concurrent writes", () => {
  test("50 concurrent updates: the final row is exactly one of the writes, with that write's modified_on", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const fetcher = appFetcher({ clock: steppingClock() });
    const { client_id: id } = await createClientAs(admin);
    const writes = Array.from({ length: 50 }, (_, i) => ({
      requestId: `concurrent-update-${id}-${i}`,
      body: {
        name: `Writer ${i}`,
        description: `Written by ${i}`,
        allowed_origins: [`https://w${i}.example`],
        allow_pkce: i % 2 === 0,
      },
    }));
    const responses = await Promise.all(
      writes.map((w) =>
        call("PUT", `/clients/${id}`, {
          caller: admin,
          body: w.body,
          headers: { "x-request-id": w.requestId },
          fetcher,
        }),
      ),
    );
    for (const r of responses) {
      await checkResponse(expect, r);
      expect(r.status).toBe(200);
    }
    const row = await storedClient(id);
    const winner = writes.findIndex((w) => w.body.name === row?.name);
    expect(winner, "the final name is one of the writes").toBeGreaterThanOrEqual(0);
    const w = writes[winner];
    // Every field of the row comes from that same write: no blend of two writers.
    expect(row?.description).toBe(w?.body.description);
    expect(JSON.parse(row?.allowed_origins ?? "[]")).toEqual(w?.body.allowed_origins);
    expect(row?.allow_pkce).toBe(w?.body.allow_pkce ? 1 : 0);
    const events = (await auditEventsFor(id)).filter((e) => e.action === 9902);
    expect(events.length, "one audit event per write").toBe(50);
    const winnerEvent = events.find((e) => e.request_id === w?.requestId);
    expect(row?.modified_on, "modified_on is the winning write's time").toBe(winnerEvent?.occurred_on);
    expect(row?.modified_by).toBe(admin.userId);
    expect(row?.modified_on).toBeGreaterThan(row?.created_on ?? Number.POSITIVE_INFINITY);
  });

  test("20 concurrent regenerates: exactly one secret is current, it was returned, and only it authenticates", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id: id, client_secret: original } = await createClientAs(admin);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => call("PATCH", `/clients/${id}/regenerate`, { caller: admin })),
    );
    // Each rotation either wins (200, retiring the secret it read) or finds that another one retired
    // that secret first (409, nothing changed): concurrent rotations behave as if serial, so no caller
    // is handed a secret that a concurrent rotation had already replaced.
    const returned: string[] = [];
    for (const r of responses) {
      const body = (await checkResponse(expect, r)) as { client_secret?: string };
      expect([200, 409]).toContain(r.status);
      if (r.status === 200) returned.push(String(body.client_secret));
    }
    expect(returned.length, "at least one rotation wins").toBeGreaterThanOrEqual(1);
    expect(new Set(returned).size, "every winning rotation returned a distinct secret").toBe(returned.length);
    const current = (await storedSecrets(id)).filter((s) => s.expires_on === null);
    expect(current.length).toBe(1);
    const hashes = await Promise.all(returned.map((s) => hashClientSecret(s, TEST_PEPPER)));
    const winner = hashes.indexOf(current[0]?.hash ?? "");
    expect(winner, "the current secret is one of those returned").toBeGreaterThanOrEqual(0);
    const statuses = await Promise.all([original, ...returned].map((s) => authenticateStatus(id, s)));
    const accepted = statuses.map((s, i) => (s === 200 ? i : -1)).filter((i) => i >= 0);
    expect(accepted, "exactly the current secret authenticates").toEqual([winner + 1]);
  });

  test("delete racing update, regenerate and activation: nothing is resurrected and nothing is orphaned", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await createClientAs(admin)).client_id);
    const racing = ids.flatMap((id) => [
      call("PUT", `/clients/${id}`, {
        caller: admin,
        body: { name: "Racing update", allowed_origins: ["https://r.example"] },
      }),
      call("PATCH", `/clients/${id}/regenerate`, { caller: admin }),
      call("DELETE", `/clients/${id}`, { caller: admin }),
      call("PATCH", `/clients/${id}/activation`, { caller: admin, body: { status: false } }),
      call("PUT", `/clients/${id}`, {
        caller: admin,
        body: { name: "Late update", allowed_origins: ["https://r.example"] },
      }),
    ]);
    const responses = await Promise.all(racing);
    for (const r of responses) {
      await checkResponse(expect, r);
      // A write that lost the race answers 404 (the client is gone), never a 5xx.
      expect([200, 404]).toContain(r.status);
    }
    for (const id of ids) {
      expect(await storedClient(id), "deleted client stays deleted").toBe(null);
      expect(await storedSecrets(id), "no secret outlives its client").toEqual([]);
    }
    expect(await dbInvariants()).toEqual(await cleanDbReport());
  });

  test("20 concurrent identical creates all succeed with distinct ids", { timeout: TIMEOUT }, async ({ expect }) => {
    const user = newCaller("USER");
    const body = clientBody({ name: "Same data" });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => call("POST", "/clients", { caller: user, body })),
    );
    const ids: string[] = [];
    for (const r of responses) {
      const created = (await checkResponse(expect, r)) as { client_id: string };
      expect(r.status).toBe(201);
      ids.push(created.client_id);
    }
    expect(new Set(ids).size).toBe(20);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM clients WHERE tenant = ? AND created_by = ?")
      .bind(user.tenantId, user.userId)
      .first<number>("n");
    expect(count).toBe(20);
  });
});

describe("rate limiter under a burst", () => {
  const cases: [method: string, variable: keyof Env, limit: number][] = [
    ["POST", "RATE_LIMIT_POST", 10],
    ["PATCH", "RATE_LIMIT_PATCH", 15],
    ["GET", "RATE_LIMIT_GET", 37],
  ];

  test.for(cases)(
    "200 concurrent %s requests admit exactly the limit",
    { timeout: TIMEOUT },
    async ([method, variable, limit], { expect }) => {
      // A one-hour window: no slot can refill while the burst is in flight, however slow the machine.
      const fetcher = appFetcher({
        env: { [variable]: String(limit), RATE_LIMIT_WINDOW_SECONDS: "3600" } as Partial<Env>,
      });
      const caller: Caller = newCaller("ADMIN");
      const { client_id: id } = await createClientAs(caller);
      const request = () =>
        method === "POST"
          ? call("POST", "/clients", { caller, body: clientBody(), fetcher })
          : method === "PATCH"
            ? call("PATCH", `/clients/${id}/activation`, { caller, body: { status: true }, fetcher })
            : call("GET", `/clients/${id}`, { caller, fetcher });
      const responses = await Promise.all(Array.from({ length: 200 }, request));
      const statuses = await Promise.all(
        responses.map(async (r) => {
          await checkResponse(expect, r);
          if (r.status === 429) {
            expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
            expect(r.headers.get("ratelimit-policy")).toBe(`"${method.toLowerCase()}";q=${limit};w=3600`);
          }
          return r.status;
        }),
      );
      expect(statuses.filter((s) => s < 300).length, "admitted").toBe(limit);
      expect(statuses.filter((s) => s === 429).length, "refused").toBe(200 - limit);
    },
  );
});
