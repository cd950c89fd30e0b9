import { env } from "cloudflare:workers";
import { beforeAll, describe, it } from "vitest";
import { clientRevocationKey } from "../../src/revocation/revocations";
import { call, createClientAs } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { newCaller } from "../helpers/signature";
import {
  auditEventsFor,
  configuredRevocationTtl,
  consentsFor,
  createClientVia,
  insertConsent,
  kvEntry,
  newRequestId,
  storedClient,
  storedSecrets,
  warmUpWorker,
} from "../helpers/stored-state";

// DELETE /api/2.0/clients/{clientId} (SPEC §4.3, §9): a hard delete of the client and everything
// hanging off it, after a client-wide revocation entry is written to KV.

beforeAll(warmUpWorker, 60_000);

describe("deleteClient: happy path", () => {
  it("answers 200 {} and removes the client, its secrets and every consent to it", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const created = await createClientAs(admin);
    const kept = await createClientAs(admin, { name: "Kept client" });
    const consenting = [crypto.randomUUID(), crypto.randomUUID()];
    for (const userId of consenting) {
      await insertConsent({ tenant: admin.tenantId, userId, clientId: created.client_id });
      await insertConsent({ tenant: admin.tenantId, userId, clientId: kept.client_id });
    }
    expect(await storedSecrets(created.client_id)).toHaveLength(1);

    const res = await call("DELETE", `/clients/${created.client_id}`, { caller: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});

    expect(await storedClient(created.client_id)).toBeNull();
    expect(await storedSecrets(created.client_id)).toEqual([]);
    expect(await consentsFor(created.client_id)).toEqual([]);
    // Nothing else is touched.
    expect(await storedClient(kept.client_id)).not.toBeNull();
    expect(await storedSecrets(kept.client_id)).toHaveLength(1);
    expect(await consentsFor(kept.client_id)).toHaveLength(2);
  });

  it("writes a client-wide revocation entry as of the request time, with the token TTL", async ({ expect }) => {
    const clock = manualClock(Date.UTC(2026, 10, 28, 12, 0, 0, 999));
    const fetcher = appFetcher({ clock: clock.now });
    const user = newCaller("USER");
    const created = await createClientVia(fetcher, user);
    expect(await kvEntry(clientRevocationKey(created.client_id))).toBeNull();

    const before = Math.floor(Date.now() / 1000);
    const res = await call("DELETE", `/clients/${created.client_id}`, { caller: user, fetcher });
    const after = Math.floor(Date.now() / 1000);
    expect(res.status).toBe(200);

    const entry = await kvEntry(clientRevocationKey(created.client_id));
    expect(entry).not.toBeNull();
    expect(JSON.parse(entry?.value ?? "null")).toEqual({
      revoked_before: Math.floor(clock.now() / 1000),
      reason: "client_deleted",
    });
    // KV stamps the expiry from its own clock: now + MAX_TOKEN_TTL_SECONDS.
    const ttl = configuredRevocationTtl();
    expect(ttl).toBeGreaterThanOrEqual(60);
    expect(entry?.expiration).toBeGreaterThanOrEqual(before + ttl);
    expect(entry?.expiration).toBeLessThanOrEqual(after + ttl + 1);
  });

  it("never moves an existing entry's revoked_before backwards", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const user = newCaller("USER");
    const created = await createClientVia(fetcher, user);
    const later = Math.floor(clock.now() / 1000) + 3600;
    await env.REVOCATIONS.put(
      clientRevocationKey(created.client_id),
      JSON.stringify({ revoked_before: later, reason: "tokens_revoked" }),
      { expirationTtl: 600 },
    );
    const res = await call("DELETE", `/clients/${created.client_id}`, { caller: user, fetcher });
    expect(res.status).toBe(200);
    const entry = await kvEntry(clientRevocationKey(created.client_id));
    expect(JSON.parse(entry?.value ?? "null")).toEqual({ revoked_before: later, reason: "client_deleted" });
  });

  it("keeps the audit trail: the 9901 event survives and a 9904 event records the delete", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const user = newCaller("USER");
    const admin = newCaller("ADMIN", user.tenantId);
    const created = await createClientVia(fetcher, user);
    clock.advance(60_000);
    const requestId = newRequestId();
    const res = await call("DELETE", `/clients/${created.client_id}`, {
      caller: admin,
      fetcher,
      headers: { "cf-connecting-ip": "198.51.100.4", "user-agent": "delete-test/1.0", "x-request-id": requestId },
    });
    expect(res.status).toBe(200);
    const events = await auditEventsFor(created.client_id);
    expect(events.map((e) => e.action)).toEqual([9901, 9904]);
    expect(events[1]).toEqual({
      id: expect.any(Number),
      tenant: user.tenantId,
      user_id: admin.userId,
      client_id: created.client_id,
      action: 9904,
      occurred_on: clock.now(),
      ip: "198.51.100.4",
      user_agent: "delete-test/1.0",
      request_id: requestId,
    });
  });

  it("is irreversible: a second delete and any later operation answer 404", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    expect((await call("DELETE", `/clients/${created.client_id}`, { caller: user })).status).toBe(200);
    expect((await call("DELETE", `/clients/${created.client_id}`, { caller: user })).status).toBe(404);
    expect((await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: user })).status).toBe(404);
    const update = await call("PUT", `/clients/${created.client_id}`, {
      caller: user,
      body: { name: "Back again", allowed_origins: ["https://example.com"] },
    });
    expect(update.status).toBe(404);
    expect(await storedClient(created.client_id)).toBeNull();
  });
});

describe("deleteClient: errors change nothing", () => {
  it("answers 404 for an unknown or malformed id and writes no revocation entry", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const unknown = crypto.randomUUID();
    const res = await call("DELETE", `/clients/${unknown}`, { caller: admin });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await kvEntry(clientRevocationKey(unknown))).toBeNull();
    expect(await auditEventsFor(unknown)).toEqual([]);
    for (const id of ["nope", "00000000-0000-0000-0000-00000000000g", `${unknown}x`]) {
      expect((await call("DELETE", `/clients/${id}`, { caller: admin })).status).toBe(404);
    }
  });

  it("answers 404 to another user's client and to another tenant's ADMIN, leaving it intact", async ({ expect }) => {
    const owner = newCaller("USER");
    const sameTenantUser = newCaller("USER", owner.tenantId);
    const otherAdmin = newCaller("ADMIN");
    const created = await createClientAs(owner);
    for (const caller of [sameTenantUser, otherAdmin]) {
      expect((await call("DELETE", `/clients/${created.client_id}`, { caller })).status).toBe(404);
    }
    expect(await storedClient(created.client_id)).not.toBeNull();
    expect(await kvEntry(clientRevocationKey(created.client_id))).toBeNull();
  });
});
