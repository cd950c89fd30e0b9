import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { clientRevocationKey, consentRevocationKey } from "../../src/revocation/revocations";
import { call } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { faultyD1, faultyKV } from "../helpers/faults";
import { serviceCall, tokenStatusOf } from "../helpers/service";
import { type Caller, newCaller } from "../helpers/signature";
import { auditEventsFor, createClientVia, kvEntry, storedClient } from "../helpers/stored-state";

// POST /api/2.0/oauth2/tokens/status (issue 4): the read side of the revocation lists (SPEC §9).
// Every reason, issued_at on both sides of each revocation, and the cost of the active path.
// DELETE /clients/{id}/tokens and PATCH …/activation {"revoke_tokens": true} write the entries.

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const secondsAt = (ms: number) => Math.floor(ms / 1000);

/** A client made at T0 through an app whose clock the test controls. */
async function clockedClient(caller: Caller = newCaller("ADMIN")) {
  const clock = manualClock(T0);
  const fetcher = appFetcher({ clock: clock.now });
  const client = await createClientVia(fetcher, caller);
  return { clock, fetcher, client, caller };
}

describe("token status: active and unknown", () => {
  it("a token of an existing client with no revocation is active", async ({ expect }) => {
    const { client, caller } = await clockedClient();
    const res = await tokenStatusOf({ client_id: client.client_id, user_id: caller.userId, issued_at: secondsAt(T0) });
    expect(res).toEqual({ status: 200, body: { active: true } });
  });

  it("a client id that never existed is unknown_client", async ({ expect }) => {
    const res = await tokenStatusOf({ client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 });
    expect(res).toEqual({ status: 200, body: { active: false, reason: "unknown_client" } });
  });

  it("ids are case-insensitive, like the x-signature's user_id", async ({ expect }) => {
    const { client, caller, clock, fetcher } = await clockedClient(newCaller("USER"));
    clock.advance(10_000);
    expect((await call("DELETE", `/clients/${client.client_id}/revoke`, { caller, fetcher })).status).toBe(200);
    const res = await tokenStatusOf({
      client_id: client.client_id.toUpperCase(),
      user_id: caller.userId.toUpperCase(),
      issued_at: secondsAt(T0),
    });
    expect(res.body).toEqual({ active: false, reason: "consent_revoked" });
  });
});

describe("token status: malformed entries", () => {
  it("an entry that is not valid JSON counts as absent instead of failing every check with 503", async ({ expect }) => {
    const { client, caller } = await clockedClient();
    await env.REVOCATIONS.put(consentRevocationKey(client.client_id, caller.userId), "{not json", {
      expirationTtl: 60,
    });
    const res = await tokenStatusOf({ client_id: client.client_id, user_id: caller.userId, issued_at: secondsAt(T0) });
    expect(res).toEqual({ status: 200, body: { active: true } });
  });
});

describe("token status: client deleted", () => {
  it("tokens issued at or before the deletion are client_deleted; a later issued_at is unknown_client", async ({
    expect,
  }) => {
    const { client, caller, clock, fetcher } = await clockedClient();
    const user = crypto.randomUUID();
    // Warm the existence cache first: the deletion entry must win over a stale "exists".
    expect((await tokenStatusOf({ client_id: client.client_id, user_id: user, issued_at: 1 })).body.active).toBe(true);
    clock.set(T0 + 60_000);
    expect((await call("DELETE", `/clients/${client.client_id}`, { caller, fetcher })).status).toBe(200);
    const deletedAt = secondsAt(T0 + 60_000);
    for (const [issuedAt, expected] of [
      [deletedAt - 3600, { active: false, reason: "client_deleted" }],
      [deletedAt, { active: false, reason: "client_deleted" }],
      [deletedAt + 1, { active: false, reason: "unknown_client" }],
    ] as const) {
      const res = await tokenStatusOf({ client_id: client.client_id, user_id: user, issued_at: issuedAt });
      expect(res.body).toEqual(expected);
    }
  });
});

describe("token status: all tokens revoked (DELETE /clients/{id}/tokens)", () => {
  it("revokes tokens issued at or before the call, keeps the client, and later tokens are active", async ({
    expect,
  }) => {
    const { client, caller, clock, fetcher } = await clockedClient();
    const before = await storedClient(client.client_id);
    clock.set(T0 + 120_500);
    const res = await call("DELETE", `/clients/${client.client_id}/tokens`, { caller, fetcher });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const revokedAt = secondsAt(T0 + 120_500);

    const entry = await kvEntry(clientRevocationKey(client.client_id));
    expect(JSON.parse(entry?.value ?? "null")).toEqual({ revoked_before: revokedAt, reason: "tokens_revoked" });
    // The client itself is untouched, and the action is audited.
    expect(await storedClient(client.client_id)).toEqual(before);
    expect((await auditEventsFor(client.client_id)).map((e) => e.action)).toEqual([9901, 9950]);

    const user = crypto.randomUUID();
    for (const [issuedAt, expected] of [
      [revokedAt - 1, { active: false, reason: "tokens_revoked" }],
      [revokedAt, { active: false, reason: "tokens_revoked" }],
      [revokedAt + 1, { active: true }],
    ] as const) {
      expect((await tokenStatusOf({ client_id: client.client_id, user_id: user, issued_at: issuedAt })).body).toEqual(
        expected,
      );
    }
  });

  it("a second revoke-all moves the cut-off forward; it never moves back", async ({ expect }) => {
    const { client, caller, clock, fetcher } = await clockedClient();
    clock.set(T0 + 100_000);
    await call("DELETE", `/clients/${client.client_id}/tokens`, { caller, fetcher });
    clock.set(T0 + 200_000);
    await call("DELETE", `/clients/${client.client_id}/tokens`, { caller, fetcher });
    const user = crypto.randomUUID();
    const res = await tokenStatusOf({ client_id: client.client_id, user_id: user, issued_at: secondsAt(T0 + 150_000) });
    expect(res.body).toEqual({ active: false, reason: "tokens_revoked" });
    clock.set(T0 + 50_000);
    await call("DELETE", `/clients/${client.client_id}/tokens`, { caller, fetcher });
    const again = await tokenStatusOf({
      client_id: client.client_id,
      user_id: user,
      issued_at: secondsAt(T0 + 150_000),
    });
    expect(again.body).toEqual({ active: false, reason: "tokens_revoked" });
  });

  it("ADMIN revokes any client of the tenant; USER only its own", async ({ expect }) => {
    const owner = newCaller("USER");
    const { client } = await clockedClient(owner);
    const admin = newCaller("ADMIN", owner.tenantId);
    expect((await call("DELETE", `/clients/${client.client_id}/tokens`, { caller: owner })).status).toBe(200);
    expect((await call("DELETE", `/clients/${client.client_id}/tokens`, { caller: admin })).status).toBe(200);
  });

  it.for([
    ["another USER of the tenant", 404, (c: Caller) => newCaller("USER", c.tenantId)],
    ["an ADMIN of another tenant", 404, () => newCaller("ADMIN")],
    ["a GUEST of the tenant", 403, (c: Caller) => newCaller("GUEST", c.tenantId)],
  ] as const)("%s gets %i and nothing is revoked", async ([, status, who], { expect }) => {
    const owner = newCaller("USER");
    const { client } = await clockedClient(owner);
    const res = await call("DELETE", `/clients/${client.client_id}/tokens`, { caller: who(owner) });
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await kvEntry(clientRevocationKey(client.client_id))).toBeNull();
    expect((await auditEventsFor(client.client_id)).map((e) => e.action)).toEqual([9901]);
  });

  it("an unknown or malformed client id is 404", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    for (const id of [crypto.randomUUID(), "not-a-uuid"]) {
      expect((await call("DELETE", `/clients/${id}/tokens`, { caller: admin })).status).toBe(404);
    }
  });

  it.for(["get", "put"])("with KV %s failing it is 503 and nothing changes", async (operation, { expect }) => {
    const { client, caller } = await clockedClient();
    const { kv } = faultyKV(env.REVOCATIONS, { only: [operation], failFrom: 1 });
    const res = await call("DELETE", `/clients/${client.client_id}/tokens`, {
      caller,
      fetcher: appFetcher({ env: { REVOCATIONS: kv } }),
    });
    expect(res.status).toBe(503);
    expect(await kvEntry(clientRevocationKey(client.client_id))).toBeNull();
    expect((await auditEventsFor(client.client_id)).map((e) => e.action)).toEqual([9901]);
  });

  it("when D1 refuses the audit batch, the revocation entry is taken back (503, nothing changed)", async ({
    expect,
  }) => {
    const { client, caller } = await clockedClient();
    const { db } = faultyD1(env.DB, { only: ["batch"], failFrom: 1 });
    const res = await call("DELETE", `/clients/${client.client_id}/tokens`, {
      caller,
      fetcher: appFetcher({ env: { DB: db } }),
    });
    expect(res.status).toBe(503);
    expect(await kvEntry(clientRevocationKey(client.client_id))).toBeNull();
    expect((await auditEventsFor(client.client_id)).map((e) => e.action)).toEqual([9901]);
  });
});

describe("token status: consent revoked (DELETE /clients/{id}/revoke)", () => {
  it("is per user: the revoking user's earlier tokens are consent_revoked, later ones and other users' active", async ({
    expect,
  }) => {
    const user = newCaller("USER");
    const { client, clock, fetcher } = await clockedClient(user);
    clock.set(T0 + 30_000);
    expect((await call("DELETE", `/clients/${client.client_id}/revoke`, { caller: user, fetcher })).status).toBe(200);
    const revokedAt = secondsAt(T0 + 30_000);
    const status = (userId: string, issuedAt: number) =>
      tokenStatusOf({ client_id: client.client_id, user_id: userId, issued_at: issuedAt });
    expect((await status(user.userId, revokedAt - 10)).body).toEqual({ active: false, reason: "consent_revoked" });
    expect((await status(user.userId, revokedAt)).body).toEqual({ active: false, reason: "consent_revoked" });
    expect((await status(user.userId, revokedAt + 1)).body).toEqual({ active: true });
    expect((await status(crypto.randomUUID(), revokedAt - 10)).body).toEqual({ active: true });
  });

  it("a client-wide entry takes precedence over a consent entry", async ({ expect }) => {
    const user = newCaller("USER");
    const { client, clock, fetcher } = await clockedClient(user);
    clock.set(T0 + 10_000);
    await call("DELETE", `/clients/${client.client_id}/revoke`, { caller: user, fetcher });
    clock.set(T0 + 20_000);
    await call("DELETE", `/clients/${client.client_id}/tokens`, { caller: user, fetcher });
    const res = await tokenStatusOf({ client_id: client.client_id, user_id: user.userId, issued_at: secondsAt(T0) });
    expect(res.body).toEqual({ active: false, reason: "tokens_revoked" });
    // Between the two cut-offs only the client-wide one applies.
    const between = await tokenStatusOf({
      client_id: client.client_id,
      user_id: user.userId,
      issued_at: secondsAt(T0 + 15_000),
    });
    expect(between.body).toEqual({ active: false, reason: "tokens_revoked" });
  });
});

describe("changeActivation with revoke_tokens", () => {
  it("disabling without revoke_tokens keeps existing tokens active (DocSpace's contract)", async ({ expect }) => {
    const { client, caller, clock, fetcher } = await clockedClient();
    clock.advance(5_000);
    const res = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller,
      fetcher,
      body: { status: false },
    });
    expect(res.status).toBe(200);
    expect(await kvEntry(clientRevocationKey(client.client_id))).toBeNull();
    const status = await tokenStatusOf({ client_id: client.client_id, user_id: caller.userId, issued_at: 1 });
    expect(status.body).toEqual({ active: true });
  });

  it("disabling with revoke_tokens: true also revokes every token issued so far", async ({ expect }) => {
    const { client, caller, clock, fetcher } = await clockedClient();
    clock.set(T0 + 42_000);
    const res = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller,
      fetcher,
      body: { status: false, revoke_tokens: true },
    });
    expect(res.status).toBe(200);
    expect((await storedClient(client.client_id))?.enabled).toBe(0);
    const cutOff = secondsAt(T0 + 42_000);
    const entry = JSON.parse((await kvEntry(clientRevocationKey(client.client_id)))?.value ?? "null");
    expect(entry).toEqual({ revoked_before: cutOff, reason: "tokens_revoked" });
    const user = crypto.randomUUID();
    expect((await tokenStatusOf({ client_id: client.client_id, user_id: user, issued_at: cutOff })).body).toEqual({
      active: false,
      reason: "tokens_revoked",
    });
  });

  it("revoke_tokens must be a boolean (400, nothing changed)", async ({ expect }) => {
    const { client, caller } = await clockedClient();
    const before = await storedClient(client.client_id);
    const res = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller,
      body: { status: false, revoke_tokens: "yes" },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe("revoke_tokens");
    expect(await storedClient(client.client_id)).toEqual(before);
    expect(await kvEntry(clientRevocationKey(client.client_id))).toBeNull();
  });

  it("if KV cannot be written, the client stays enabled (503, fail closed)", async ({ expect }) => {
    const { client, caller } = await clockedClient();
    const before = await storedClient(client.client_id);
    const { kv } = faultyKV(env.REVOCATIONS, { only: ["put"], failFrom: 1 });
    const res = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller,
      body: { status: false, revoke_tokens: true },
      fetcher: appFetcher({ env: { REVOCATIONS: kv } }),
    });
    expect(res.status).toBe(503);
    expect(await storedClient(client.client_id)).toEqual(before);
    expect(await kvEntry(clientRevocationKey(client.client_id))).toBeNull();
  });

  it("if D1 refuses the change, the revocation entry is taken back (503)", async ({ expect }) => {
    const { client, caller } = await clockedClient();
    const before = await storedClient(client.client_id);
    const { db } = faultyD1(env.DB, { only: ["batch"], failFrom: 1 });
    const res = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller,
      body: { status: false, revoke_tokens: true },
      fetcher: appFetcher({ env: { DB: db } }),
    });
    expect(res.status).toBe(503);
    expect(await storedClient(client.client_id)).toEqual(before);
    expect(await kvEntry(clientRevocationKey(client.client_id))).toBeNull();
  });
});

describe("token status: cost and failure", () => {
  it("the active path is two KV reads and, once the client is known, no D1 at all", async ({ expect }) => {
    const { client, caller } = await clockedClient();
    const kv = faultyKV(env.REVOCATIONS);
    const db = faultyD1(env.DB);
    const fetcher = appFetcher({ env: { REVOCATIONS: kv.kv, DB: db.db } });
    const token = { client_id: client.client_id, user_id: caller.userId, issued_at: secondsAt(T0) };

    const first = await tokenStatusOf(token, fetcher);
    expect(first.body).toEqual({ active: true });
    expect(kv.counter.calls).toEqual(["get", "get"]);
    // The first sight of a client id in this isolate costs one D1 read (at most)…
    expect(db.counter.calls.length).toBeLessThanOrEqual(1);

    const d1Before = db.counter.calls.length;
    for (let i = 0; i < 3; i += 1) {
      expect((await tokenStatusOf({ ...token, user_id: crypto.randomUUID() }, fetcher)).body).toEqual({
        active: true,
      });
    }
    // …and every later check of it none.
    expect(db.counter.calls.length).toBe(d1Before);
    expect(kv.counter.calls).toEqual(["get", "get", "get", "get", "get", "get", "get", "get"]);
  });

  it("a revoked token is answered from KV alone", async ({ expect }) => {
    const { client, caller, clock, fetcher } = await clockedClient();
    clock.advance(60_000);
    await call("DELETE", `/clients/${client.client_id}/tokens`, { caller, fetcher });
    const db = faultyD1(env.DB, { failFrom: 1 });
    const res = await tokenStatusOf(
      { client_id: client.client_id, user_id: caller.userId, issued_at: secondsAt(T0) },
      appFetcher({ env: { DB: db.db } }),
    );
    expect(res.body).toEqual({ active: false, reason: "tokens_revoked" });
    expect(db.counter.calls).toEqual([]);
  });

  it("if KV cannot be read the answer is 503, never a guess", async ({ expect }) => {
    const { client, caller } = await clockedClient();
    const { kv } = faultyKV(env.REVOCATIONS, { failFrom: 1 });
    const res = await tokenStatusOf(
      { client_id: client.client_id, user_id: caller.userId, issued_at: 1 },
      appFetcher({ env: { REVOCATIONS: kv } }),
    );
    expect(res.status).toBe(503);
  });

  it("if D1 cannot be read for a client not yet known, the answer is 503", async ({ expect }) => {
    const { db } = faultyD1(env.DB, { failFrom: 1 });
    const res = await tokenStatusOf(
      { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 },
      appFetcher({ env: { DB: db } }),
    );
    expect(res.status).toBe(503);
  });
});

describe("token status: bad input", () => {
  const good = { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1_795_000_000 };

  it.for([
    ["client_id missing", { ...good, client_id: undefined }, "client_id"],
    ["client_id not a GUID", { ...good, client_id: "abc" }, "client_id"],
    ["user_id not a GUID", { ...good, user_id: "42" }, "user_id"],
    ["issued_at a string", { ...good, issued_at: "1795000000" }, "issued_at"],
    ["issued_at fractional", { ...good, issued_at: 1.5 }, "issued_at"],
    ["issued_at negative", { ...good, issued_at: -1 }, "issued_at"],
    ["issued_at in milliseconds past year 9999", { ...good, issued_at: 1e15 }, "issued_at"],
  ] as const)("%s is 400 naming the field", async ([, body, field], { expect }) => {
    const res = await serviceCall("POST", "/oauth2/tokens/status", { body });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field)).toContain(field);
  });

  it("a body that is not JSON is 400, and not application/json is 415", async ({ expect }) => {
    const notJson = await serviceCall("POST", "/oauth2/tokens/status", {
      headers: { "content-type": "application/json" },
    });
    expect(notJson.status).toBe(400);
    const text = await call("POST", "/oauth2/tokens/status", {
      rawBody: "client_id=1",
      headers: { authorization: "Bearer test-service-token-primary-0123456789", "content-type": "text/plain" },
    });
    expect(text.status).toBe(415);
  });

  it("GET on the route is 405", async ({ expect }) => {
    const res = await serviceCall("GET", "/oauth2/tokens/status");
    expect(res.status).toBe(405);
  });
});
