import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { authorizationSettings } from "../../src/authorization/settings";
import { createDb } from "../../src/db/client";
import { signingKeySettings } from "../../src/keys/settings";
import { HttpProblem } from "../../src/lib/problem";
import { clientRevocationKey } from "../../src/revocation/revocations";
import { deleteOwnClients } from "../../src/services/bulk-delete";
import { call, clientBody } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { faultyD1, faultyKV } from "../helpers/faults";
import { type Caller, newCaller, uniqueTenant } from "../helpers/signature";

// DELETE /clients (SPEC §4.14) and DELETE /clients/tenant (§4.15): scope, revocation first (§9),
// fail closed, atomic, and a constant number of D1 statements however many clients go.

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const clockedFetcher = (env_: Partial<Env> = {}) => appFetcher({ clock: () => NOW, env: env_ });

async function createClients(caller: Caller, count: number): Promise<string[]> {
  const fetcher = clockedFetcher();
  const ids: string[] = [];
  for (let start = 0; start < count; start += 10) {
    const wave = Array.from({ length: Math.min(10, count - start) }, async () => {
      const res = await call("POST", "/clients", { caller, body: clientBody(), fetcher });
      if (res.status !== 201) throw new Error(`create failed: ${res.status}`);
      return ((await res.json()) as { client_id: string }).client_id;
    });
    ids.push(...(await Promise.all(wave)));
  }
  return ids;
}

async function existing(ids: string[]): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT client_id FROM clients WHERE client_id IN (SELECT value FROM json_each(?)) ORDER BY client_id",
  )
    .bind(JSON.stringify(ids))
    .all<{ client_id: string }>();
  return results.map((r) => r.client_id);
}

async function countWhere(table: "client_secrets" | "consents", ids: string[]): Promise<number> {
  return (
    (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE client_id IN (SELECT value FROM json_each(?))`)
      .bind(JSON.stringify(ids))
      .first<number>("n")) ?? 0
  );
}

async function revocationOf(id: string): Promise<string | null> {
  return env.REVOCATIONS.get(clientRevocationKey(id));
}

const sorted = (ids: string[]) => [...ids].sort();

describe("DELETE /clients", () => {
  it("removes exactly the USER's own clients in its tenant, revoking each first", async ({ expect }) => {
    const tenant = uniqueTenant();
    const user = newCaller("USER", tenant);
    const colleague = newCaller("USER", tenant);
    const admin = newCaller("ADMIN", tenant);
    const sameUserElsewhere: Caller = { ...user, tenantId: uniqueTenant() };
    const mine = await createClients(user, 3);
    const kept = [
      ...(await createClients(colleague, 2)),
      ...(await createClients(admin, 1)),
      ...(await createClients(sameUserElsewhere, 2)),
    ];
    await env.DB.prepare(
      "INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) VALUES (?, ?, ?, 'openid', ?)",
    )
      .bind(tenant, colleague.userId, mine[0], NOW)
      .run();

    const res = await call("DELETE", "/clients", {
      caller: user,
      fetcher: clockedFetcher(),
      headers: { "x-request-id": "bulk-delete-own" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});

    expect(await existing(mine)).toEqual([]);
    expect(await countWhere("client_secrets", mine)).toBe(0);
    expect(await countWhere("consents", mine)).toBe(0);
    expect(await existing(kept)).toEqual(sorted(kept));
    expect(await countWhere("client_secrets", kept)).toBe(kept.length);
    for (const id of mine) {
      expect(JSON.parse((await revocationOf(id)) ?? "null")).toEqual({
        revoked_before: Math.floor(NOW / 1000),
        reason: "client_deleted",
      });
    }
    for (const id of kept) expect(await revocationOf(id)).toBeNull();

    const { results: audit } = await env.DB.prepare(
      "SELECT client_id, action, tenant, user_id, occurred_on FROM audit_events WHERE request_id = ? ORDER BY client_id",
    )
      .bind("bulk-delete-own")
      .all();
    expect(audit).toEqual(
      sorted(mine).map((id) => ({ client_id: id, action: 9904, tenant, user_id: user.userId, occurred_on: NOW })),
    );
  });

  it("removes only the ADMIN's own clients, not other users' in the tenant", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const user = newCaller("USER", admin.tenantId);
    const own = await createClients(admin, 2);
    const others = await createClients(user, 2);
    expect((await call("DELETE", "/clients", { caller: admin })).status).toBe(200);
    expect(await existing(own)).toEqual([]);
    expect(await existing(others)).toEqual(sorted(others));
  });

  it("is 200 {} when there is nothing to delete, and 403 for a GUEST", async ({ expect }) => {
    const user = newCaller("USER");
    const res = await call("DELETE", "/clients", { caller: user });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const own = await createClients(user, 1);
    const guest: Caller = { ...user, role: "GUEST" };
    expect((await call("DELETE", "/clients", { caller: guest })).status).toBe(403);
    expect((await call("DELETE", "/clients")).status).toBe(403);
    expect(await existing(own)).toEqual(own);
  });
});

describe("DELETE /clients/tenant", () => {
  it("lets an ADMIN remove every client of its tenant and none of another's", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const user = newCaller("USER", admin.tenantId);
    const inTenant = [...(await createClients(admin, 2)), ...(await createClients(user, 3))];
    const elsewhere = await createClients(newCaller("ADMIN"), 2);
    const res = await call("DELETE", "/clients/tenant", { caller: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(await existing(inTenant)).toEqual([]);
    for (const id of inTenant) expect(await revocationOf(id)).not.toBeNull();
    expect(await existing(elsewhere)).toEqual(sorted(elsewhere));
  });

  it.for(["USER", "GUEST"] as const)("refuses a %s with 403 and deletes nothing", async (role, { expect }) => {
    const admin = newCaller("ADMIN");
    const ids = await createClients(admin, 2);
    const owner = newCaller("USER", admin.tenantId);
    ids.push(...(await createClients(owner, 1)));
    const caller = role === "USER" ? owner : newCaller("GUEST", admin.tenantId);
    const res = await call("DELETE", "/clients/tenant", { caller });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await existing(ids)).toEqual(sorted(ids));
  });
});

describe("revocation before deletion (fail closed)", () => {
  it("has every revocation entry in KV at the moment D1 deletes the rows", async ({ expect }) => {
    const user = newCaller("USER");
    const ids = await createClients(user, 4);
    const seenAtBatch: (string | null)[] = [];
    const watchedDb = new Proxy(env.DB, {
      get(target, property) {
        if (property === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            for (const id of ids) seenAtBatch.push(await revocationOf(id));
            expect(await existing(ids)).toEqual(sorted(ids));
            return target.batch(statements);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const res = await call("DELETE", "/clients", { caller: user, fetcher: clockedFetcher({ DB: watchedDb }) });
    expect(res.status).toBe(200);
    expect(seenAtBatch).toHaveLength(ids.length);
    for (const entry of seenAtBatch) expect(entry).not.toBeNull();
    expect(await existing(ids)).toEqual([]);
  });

  it.for([
    ["a KV write", { only: ["put"], failAt: 3 }],
    ["the KV bulk read", { only: ["get"], failAt: 1 }],
  ] as const)("answers 503 and deletes nothing when %s fails", async ([, plan], { expect }) => {
    const user = newCaller("USER");
    const ids = await createClients(user, 6);
    const { kv, counter } = faultyKV(env.REVOCATIONS, { ...plan, only: [...plan.only] });
    const res = await call("DELETE", "/clients", { caller: user, fetcher: clockedFetcher({ REVOCATIONS: kv }) });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(counter.calls.length).toBeGreaterThan(0);
    expect(await existing(ids)).toEqual(sorted(ids));
    expect(await countWhere("client_secrets", ids)).toBe(ids.length);
    // Entries written before the failure were taken back.
    for (const id of ids) expect(await revocationOf(id)).toBeNull();
  });

  it("puts the revocation entries back when D1 refuses the delete", async ({ expect }) => {
    const user = newCaller("USER");
    const ids = await createClients(user, 3);
    // An earlier, stronger entry for one client (e.g. a future-dated revoke-all) must survive as it was.
    const previous = JSON.stringify({ revoked_before: Math.floor(NOW / 1000) + 3600, reason: "tokens_revoked" });
    await env.REVOCATIONS.put(clientRevocationKey(ids[0] as string), previous, { expirationTtl: 3600 });
    const { db } = faultyD1(env.DB, { only: ["batch"], failAt: 1 });
    const res = await call("DELETE", "/clients", { caller: user, fetcher: clockedFetcher({ DB: db }) });
    expect(res.status).toBe(503);
    expect(await existing(ids)).toEqual(sorted(ids));
    expect(await revocationOf(ids[0] as string)).toBe(previous);
    for (const id of ids.slice(1)) expect(await revocationOf(id)).toBeNull();
  });

  it("never weakens a stronger existing entry", async ({ expect }) => {
    const user = newCaller("USER");
    const [id] = await createClients(user, 1);
    const later = Math.floor(NOW / 1000) + 3600;
    await env.REVOCATIONS.put(
      clientRevocationKey(id as string),
      JSON.stringify({ revoked_before: later, reason: "tokens_revoked" }),
    );
    expect((await call("DELETE", "/clients", { caller: user, fetcher: clockedFetcher() })).status).toBe(200);
    expect(JSON.parse((await revocationOf(id as string)) ?? "null")).toEqual({
      revoked_before: later,
      reason: "client_deleted",
    });
  });
});

describe("scale", { timeout: 120_000 }, () => {
  it("deletes 120 clients with one SELECT and one batch, and one KV read per 100 keys", async ({ expect }) => {
    const user = newCaller("USER");
    const ids = await createClients(user, 120);
    const d1 = faultyD1(env.DB);
    const kv = faultyKV(env.REVOCATIONS);
    const res = await call("DELETE", "/clients", {
      caller: user,
      fetcher: clockedFetcher({ DB: d1.db, REVOCATIONS: kv.kv }),
    });
    expect(res.status).toBe(200);
    expect(await existing(ids)).toEqual([]);
    // Auth and the rate limiter use no D1; the delete itself is a fixed number of statements.
    expect(d1.counter.calls.filter((c) => c === "batch")).toHaveLength(1);
    expect(d1.counter.calls.length).toBeLessThanOrEqual(2);
    expect(kv.counter.calls.filter((c) => c === "get")).toHaveLength(2);
    expect(kv.counter.calls.filter((c) => c === "put")).toHaveLength(120);
    for (const id of ids) expect(await revocationOf(id)).not.toBeNull();
  });

  it("past the per-request limit, deletes the oldest revoked clients, answers 503, and a repeat finishes", async ({
    expect,
  }) => {
    const user = newCaller("USER");
    const clock = manualClock(NOW);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.set(NOW + i * 1000);
      const res = await call("POST", "/clients", {
        caller: user,
        body: clientBody(),
        fetcher: appFetcher({ clock: clock.now }),
      });
      ids.push(((await res.json()) as { client_id: string }).client_id);
    }
    const principal = {
      userId: user.userId,
      userName: "Test User",
      userEmail: "user@example.com",
      tenantId: user.tenantId,
      tenantUrl: "http://localhost:8092",
      role: "USER" as const,
    };
    const deps = {
      db: createDb(env.DB),
      kv: env.REVOCATIONS,
      revocationLedgers: env.REVOCATION_LEDGER,
      now: NOW + 10_000,
      pepper: "unused",
      revocationTtlSeconds: 3600,
      signingKeys: signingKeySettings(env),
      authorization: authorizationSettings(env),
      request: { requestId: "bulk-cap", ip: null, userAgent: null },
    };
    const first = await deleteOwnClients(deps, principal, { maxClients: 2 }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(HttpProblem);
    expect((first as HttpProblem).init.status).toBe(503);
    expect(await existing(ids)).toEqual(sorted(ids.slice(2)));
    for (const id of ids.slice(0, 2)) expect(await revocationOf(id)).not.toBeNull();
    for (const id of ids.slice(2)) expect(await revocationOf(id)).toBeNull();
    await deleteOwnClients(deps, principal, { maxClients: 2 }).catch(() => undefined);
    expect(await deleteOwnClients(deps, principal, { maxClients: 2 })).toBe(1);
    expect(await existing(ids)).toEqual([]);
  });
});
