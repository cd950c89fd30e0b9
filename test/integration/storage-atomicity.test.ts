import { env } from "cloudflare:workers";
import { beforeAll, describe, type ExpectStatic, it } from "vitest";
import { clientRevocationKey, consentRevocationKey } from "../../src/revocation/revocations";
import { call, clientBody, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { faultyD1, faultyKV } from "../helpers/faults";
import { newCaller } from "../helpers/signature";
import {
  auditEventsFor,
  auditEventsOfTenant,
  clientsOfTenant,
  consentsFor,
  insertConsent,
  kvEntry,
  orphanSecretCount,
  storedClient,
  storedSecrets,
  warmUpWorker,
} from "../helpers/stored-state";

// SPEC §8, §9: every multi-row write is one atomic D1 batch, and revocation entries go to KV
// before rows leave D1 (fail closed). Faults are injected into the real bindings
// (test/helpers/faults.ts): `breakBatchAt: k` makes the real D1 run k statements of a batch and
// then fail, so it must roll all of them back.

/** Positions to break each batch at: before the first statement, between each, and after the last. */
const BREAK_POINTS = [0, 1, 2, 3, 4, 5];

async function expectUnavailable(res: Response, expect: ExpectStatic) {
  expect(res.status).toBe(503);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const text = await res.text();
  // The injected failure's message is internal and must not leak.
  expect(text).not.toMatch(/injected|__injected_fault__|SQLITE|D1_ERROR/i);
}

beforeAll(warmUpWorker, 60_000);

describe("a failure in the middle of a D1 batch leaves no partial state", () => {
  it.for(BREAK_POINTS)("create, broken at statement %i", async (k, { expect }) => {
    const admin = newCaller("ADMIN");
    const { db, counter } = faultyD1(env.DB, { breakBatchAt: k });
    const res = await call("POST", "/clients", {
      caller: admin,
      body: clientBody(),
      fetcher: appFetcher({ env: { DB: db } }),
    });
    await expectUnavailable(res, expect);
    expect(counter.calls).toContain("batch");
    expect(await clientsOfTenant(admin.tenantId)).toEqual([]);
    expect(await auditEventsOfTenant(admin.tenantId)).toEqual([]);
    expect(await orphanSecretCount()).toBe(0);
  });

  it.for(BREAK_POINTS)("regenerate, broken at statement %i", async (k, { expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const clientBefore = await storedClient(created.client_id);
    const secretsBefore = await storedSecrets(created.client_id);
    const { db, counter } = faultyD1(env.DB, { breakBatchAt: k });
    const res = await call("PATCH", `/clients/${created.client_id}/regenerate`, {
      caller: user,
      fetcher: appFetcher({ env: { DB: db } }),
    });
    await expectUnavailable(res, expect);
    expect(counter.calls).toContain("batch");
    expect(await storedSecrets(created.client_id)).toEqual(secretsBefore);
    expect(await storedClient(created.client_id)).toEqual(clientBefore);
    expect((await auditEventsFor(created.client_id)).map((e) => e.action)).toEqual([9901]);
  });

  it.for(BREAK_POINTS)(
    "delete, broken at statement %i: rows intact and the new revocation entry removed",
    async (k, { expect }) => {
      const user = newCaller("USER");
      const created = await createClientAs(user);
      await insertConsent({ tenant: user.tenantId, userId: crypto.randomUUID(), clientId: created.client_id });
      const clientBefore = await storedClient(created.client_id);
      const secretsBefore = await storedSecrets(created.client_id);
      const consentsBefore = await consentsFor(created.client_id);
      const { db, counter } = faultyD1(env.DB, { breakBatchAt: k });
      const res = await call("DELETE", `/clients/${created.client_id}`, {
        caller: user,
        fetcher: appFetcher({ env: { DB: db } }),
      });
      await expectUnavailable(res, expect);
      expect(counter.calls).toContain("batch");
      expect(await storedClient(created.client_id)).toEqual(clientBefore);
      expect(await storedSecrets(created.client_id)).toEqual(secretsBefore);
      expect(await consentsFor(created.client_id)).toEqual(consentsBefore);
      expect((await auditEventsFor(created.client_id)).map((e) => e.action)).toEqual([9901]);
      expect(await kvEntry(clientRevocationKey(created.client_id))).toBeNull();
    },
  );

  it("delete, broken after the KV write: an earlier revocation entry is restored as it was", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const previous = JSON.stringify({ revoked_before: 1_700_000_000, reason: "tokens_revoked" });
    await env.REVOCATIONS.put(clientRevocationKey(created.client_id), previous, { expirationTtl: 3600 });
    const { db } = faultyD1(env.DB, { breakBatchAt: 2 });
    const res = await call("DELETE", `/clients/${created.client_id}`, {
      caller: user,
      fetcher: appFetcher({ env: { DB: db } }),
    });
    await expectUnavailable(res, expect);
    const entry = await kvEntry(clientRevocationKey(created.client_id));
    expect(entry?.value).toBe(previous);
    expect(entry?.expiration).toBeGreaterThan(Math.floor(Date.now() / 1000));
    expect(await storedClient(created.client_id)).not.toBeNull();
  });

  it("revoke, broken after the KV write: the consent stays and the entry is removed", async ({ expect }) => {
    const owner = newCaller("USER");
    const caller = newCaller("USER", owner.tenantId);
    const created = await createClientAs(owner);
    await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: created.client_id });
    for (const k of [0, 1, 2]) {
      const { db, counter } = faultyD1(env.DB, { breakBatchAt: k });
      const res = await call("DELETE", `/clients/${created.client_id}/revoke`, {
        caller,
        fetcher: appFetcher({ env: { DB: db } }),
      });
      await expectUnavailable(res, expect);
      expect(counter.calls).toContain("batch");
      expect(await consentsFor(created.client_id)).toHaveLength(1);
      expect(await kvEntry(consentRevocationKey(created.client_id, caller.userId))).toBeNull();
      expect((await auditEventsFor(created.client_id)).map((e) => e.action)).toEqual([9901]);
    }
  });

  it("revoke, broken after the KV write: an earlier entry is restored as it was", async ({ expect }) => {
    const owner = newCaller("USER");
    const created = await createClientAs(owner);
    await insertConsent({ tenant: owner.tenantId, userId: owner.userId, clientId: created.client_id });
    const key = consentRevocationKey(created.client_id, owner.userId);
    const previous = JSON.stringify({ revoked_before: 1_700_000_000, reason: "consent_revoked" });
    await env.REVOCATIONS.put(key, previous, { expirationTtl: 3600 });
    const { db } = faultyD1(env.DB, { breakBatchAt: 1 });
    const res = await call("DELETE", `/clients/${created.client_id}/revoke`, {
      caller: owner,
      fetcher: appFetcher({ env: { DB: db } }),
    });
    await expectUnavailable(res, expect);
    expect((await kvEntry(key))?.value).toBe(previous);
    expect(await consentsFor(created.client_id)).toHaveLength(1);
  });
});

describe("a failing KV refuses delete and revoke with 503 before D1 is touched", () => {
  it.for(["get", "put"])("delete with KV %s failing", async (operation, { expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    await insertConsent({ tenant: user.tenantId, userId: user.userId, clientId: created.client_id });
    const clientBefore = await storedClient(created.client_id);
    const { kv, counter } = faultyKV(env.REVOCATIONS, { only: [operation], failFrom: 1 });
    const res = await call("DELETE", `/clients/${created.client_id}`, {
      caller: user,
      fetcher: appFetcher({ env: { REVOCATIONS: kv } }),
    });
    await expectUnavailable(res, expect);
    expect(counter.calls).toContain(operation);
    expect(await storedClient(created.client_id)).toEqual(clientBefore);
    expect(await storedSecrets(created.client_id)).toHaveLength(1);
    expect(await consentsFor(created.client_id)).toHaveLength(1);
    expect((await auditEventsFor(created.client_id)).map((e) => e.action)).toEqual([9901]);
    expect(await kvEntry(clientRevocationKey(created.client_id))).toBeNull();
  });

  it.for(["get", "put"])("revoke with KV %s failing", async (operation, { expect }) => {
    const owner = newCaller("USER");
    const caller = newCaller("GUEST", owner.tenantId);
    const created = await createClientAs(owner);
    await insertConsent({ tenant: caller.tenantId, userId: caller.userId, clientId: created.client_id });
    const { kv } = faultyKV(env.REVOCATIONS, { only: [operation], failFrom: 1 });
    const res = await call("DELETE", `/clients/${created.client_id}/revoke`, {
      caller,
      fetcher: appFetcher({ env: { REVOCATIONS: kv } }),
    });
    await expectUnavailable(res, expect);
    expect(await consentsFor(created.client_id)).toHaveLength(1);
    expect((await auditEventsFor(created.client_id)).map((e) => e.action)).toEqual([9901]);
    expect(await kvEntry(consentRevocationKey(created.client_id, caller.userId))).toBeNull();
  });

  it("the operation succeeds once KV is back", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const { kv } = faultyKV(env.REVOCATIONS, { only: ["put"], failAt: 1 });
    const fetcher = appFetcher({ env: { REVOCATIONS: kv } });
    expect((await call("DELETE", `/clients/${created.client_id}`, { caller: user, fetcher })).status).toBe(503);
    expect((await call("DELETE", `/clients/${created.client_id}`, { caller: user, fetcher })).status).toBe(200);
    expect(await storedClient(created.client_id)).toBeNull();
    expect(await kvEntry(clientRevocationKey(created.client_id))).not.toBeNull();
  });
});
