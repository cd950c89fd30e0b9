import { beforeAll, describe, it } from "vitest";
import { clientRevocationKey, consentRevocationKey } from "../../src/revocation/revocations";
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
  warmUpWorker,
} from "../helpers/stored-state";

// DELETE /api/2.0/clients/{clientId}/revoke (SPEC §4.6, §9): removes the caller's consent and
// revokes the caller's tokens for that client; any signed role; idempotent.

beforeAll(warmUpWorker, 60_000);

describe("revokeUserClient: happy path", () => {
  it("answers 200 {}, removes only the caller's consent and keeps the client", async ({ expect }) => {
    const owner = newCaller("USER");
    const caller = newCaller("USER", owner.tenantId);
    const bystander = newCaller("USER", owner.tenantId);
    const created = await createClientAs(owner);
    const otherClient = await createClientAs(owner, { name: "Other client" });
    await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: created.client_id });
    await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: otherClient.client_id });
    await insertConsent({ tenant: bystander.tenantId, userId: bystander.userId, clientId: created.client_id });

    const res = await call("DELETE", `/clients/${created.client_id}/revoke`, { caller });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});

    expect((await consentsFor(created.client_id)).map((c) => c.user_id)).toEqual([bystander.userId]);
    expect((await consentsFor(otherClient.client_id)).map((c) => c.user_id)).toEqual([caller.userId]);
    expect(await storedClient(created.client_id)).not.toBeNull();
  });

  it("writes a per-(client, user) revocation entry as of the request time, with the token TTL", async ({ expect }) => {
    const clock = manualClock(Date.UTC(2026, 10, 28, 12, 0, 30, 500));
    const fetcher = appFetcher({ clock: clock.now });
    const owner = newCaller("USER");
    const caller = newCaller("USER", owner.tenantId);
    const created = await createClientVia(fetcher, owner);
    await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: created.client_id });

    const before = Math.floor(Date.now() / 1000);
    const res = await call("DELETE", `/clients/${created.client_id}/revoke`, { caller, fetcher });
    const after = Math.floor(Date.now() / 1000);
    expect(res.status).toBe(200);

    const entry = await kvEntry(consentRevocationKey(created.client_id, caller.userId));
    expect(JSON.parse(entry?.value ?? "null")).toEqual({
      revoked_before: Math.floor(clock.now() / 1000),
      reason: "consent_revoked",
    });
    const ttl = configuredRevocationTtl();
    expect(entry?.expiration).toBeGreaterThanOrEqual(before + ttl);
    expect(entry?.expiration).toBeLessThanOrEqual(after + ttl + 1);
    // Only the caller's tokens: no entry for the owner, none client-wide.
    expect(await kvEntry(consentRevocationKey(created.client_id, owner.userId))).toBeNull();
    expect(await kvEntry(clientRevocationKey(created.client_id))).toBeNull();
  });

  it("writes a 9907 audit event with the caller's tenant and user", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const owner = newCaller("ADMIN");
    const caller = newCaller("USER", owner.tenantId);
    const created = await createClientVia(fetcher, owner);
    await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: created.client_id });
    clock.advance(3_000);
    const requestId = newRequestId();
    const res = await call("DELETE", `/clients/${created.client_id}/revoke`, {
      caller,
      fetcher,
      headers: { "cf-connecting-ip": "192.0.2.1", "user-agent": "revoke-test/1.0", "x-request-id": requestId },
    });
    expect(res.status).toBe(200);
    const events = await auditEventsFor(created.client_id);
    expect(events.map((e) => e.action)).toEqual([9901, 9907]);
    expect(events[1]).toEqual({
      id: expect.any(Number),
      tenant: caller.tenantId,
      user_id: caller.userId,
      client_id: created.client_id,
      action: 9907,
      occurred_on: clock.now(),
      ip: "192.0.2.1",
      user_agent: "revoke-test/1.0",
      request_id: requestId,
    });
  });

  it.for(["ADMIN", "USER", "GUEST"] as const)("is open to a %s", async (role, { expect }) => {
    const owner = newCaller("ADMIN");
    const caller = newCaller(role, owner.tenantId);
    const created = await createClientAs(owner);
    await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: created.client_id });
    const res = await call("DELETE", `/clients/${created.client_id}/revoke`, { caller });
    expect(res.status).toBe(200);
    expect(await consentsFor(created.client_id)).toEqual([]);
    expect(await kvEntry(consentRevocationKey(created.client_id, caller.userId))).not.toBeNull();
  });

  it("is idempotent: revoking twice, or without a consent, is 200", async ({ expect }) => {
    const owner = newCaller("USER");
    const caller = newCaller("USER", owner.tenantId);
    const created = await createClientAs(owner);
    for (let i = 0; i < 2; i++) {
      const res = await call("DELETE", `/clients/${created.client_id}/revoke`, { caller });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
    }
    // Tokens may exist without a stored consent, so the revocation is written anyway.
    expect(await kvEntry(consentRevocationKey(created.client_id, caller.userId))).not.toBeNull();
  });

  it("accepts an upper-case client id and stores everything under the canonical lower-case id", async ({ expect }) => {
    const owner = newCaller("USER");
    const created = await createClientAs(owner);
    await insertConsent({ tenant: owner.tenantId, userId: owner.userId, clientId: created.client_id });
    const res = await call("DELETE", `/clients/${created.client_id.toUpperCase()}/revoke`, { caller: owner });
    expect(res.status).toBe(200);
    expect(await consentsFor(created.client_id)).toEqual([]);
    expect(await kvEntry(consentRevocationKey(created.client_id, owner.userId))).not.toBeNull();
  });
});

describe("revokeUserClient: unknown and malformed ids", () => {
  it("a well-formed id of a client that does not exist is 200 and writes nothing", async ({ expect }) => {
    const caller = newCaller("USER");
    const unknown = crypto.randomUUID();
    const res = await call("DELETE", `/clients/${unknown}/revoke`, { caller });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(await kvEntry(consentRevocationKey(unknown, caller.userId))).toBeNull();
    expect(await auditEventsFor(unknown)).toEqual([]);
  });

  it("a malformed id is 404", async ({ expect }) => {
    const caller = newCaller("USER");
    for (const id of ["not-a-uuid", "42", `${crypto.randomUUID()}0`]) {
      const res = await call("DELETE", `/clients/${id}/revoke`, { caller });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("an unsigned request is 403 and leaves the consent", async ({ expect }) => {
    const owner = newCaller("USER");
    const created = await createClientAs(owner);
    await insertConsent({ tenant: owner.tenantId, userId: owner.userId, clientId: created.client_id });
    const res = await call("DELETE", `/clients/${created.client_id}/revoke`);
    expect(res.status).toBe(403);
    expect(await consentsFor(created.client_id)).toHaveLength(1);
  });
});
