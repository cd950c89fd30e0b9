import { env } from "cloudflare:workers";
import { beforeAll, describe, it } from "vitest";
import { clientRevocationKey } from "../../src/revocation/revocations";
import { call, createClientAs } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { newCaller } from "../helpers/signature";
import {
  auditEventsFor,
  createClientVia,
  kvEntry,
  newRequestId,
  storedClient,
  storedSecrets,
  warmUpWorker,
} from "../helpers/stored-state";

// PATCH /api/2.0/clients/{clientId}/regenerate (SPEC §4.4, §7): a new secret replaces the old one
// at once; only its tagged HMAC is stored.

/** HMAC-SHA-256 under the pepper, computed independently of src/services/secrets.ts. */
async function expectedHash(secret: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(env.CLIENT_SECRET_PEPPER),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(secret)));
  const b64 = btoa(String.fromCharCode(...mac))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  return `hmac-sha256.v1$${b64}`;
}

beforeAll(warmUpWorker, 60_000);

describe("regenerateSecret: happy path", () => {
  it("answers 200 with exactly a new 36-character secret", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const res = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: user });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["client_secret"]);
    expect(body.client_secret).toMatch(/^[A-Za-z0-9]{36}$/);
    expect(body.client_secret).not.toBe(created.client_secret);
  });

  it("replaces the stored hash: the new secret verifies, the old one stops at once", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const user = newCaller("USER");
    const created = await createClientVia(fetcher, user);
    expect((await storedSecrets(created.client_id))[0]?.hash).toBe(await expectedHash(created.client_secret));

    clock.advance(30_000);
    const res = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: user, fetcher });
    const { client_secret } = (await res.json()) as { client_secret: string };

    const secrets = await storedSecrets(created.client_id);
    expect(secrets).toEqual([
      {
        id: expect.any(Number),
        client_id: created.client_id,
        hash: await expectedHash(client_secret),
        created_on: clock.now(),
        expires_on: null,
      },
    ]);
    const stored = secrets[0]?.hash ?? "";
    expect(await expectedHash(client_secret)).toBe(stored);
    expect(await expectedHash(created.client_secret)).not.toBe(stored);
  });

  it("marks the client modified and leaves every other column alone", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const user = newCaller("USER");
    const admin = newCaller("ADMIN", user.tenantId);
    const created = await createClientVia(fetcher, user);
    const before = await storedClient(created.client_id);
    clock.advance(1_234);
    const res = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: admin, fetcher });
    expect(res.status).toBe(200);
    expect(await storedClient(created.client_id)).toEqual({
      ...before,
      modified_on: clock.now(),
      modified_by: admin.userId,
    });
  });

  it("writes one 9903 audit event per regeneration", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const user = newCaller("USER");
    const created = await createClientVia(fetcher, user);
    const requestIds = [newRequestId(), newRequestId()];
    for (const requestId of requestIds) {
      clock.advance(1_000);
      const res = await call("PATCH", `/clients/${created.client_id}/regenerate`, {
        caller: user,
        fetcher,
        headers: { "cf-connecting-ip": "192.0.2.55", "user-agent": "regen-test/1.0", "x-request-id": requestId },
      });
      expect(res.status).toBe(200);
    }
    const events = await auditEventsFor(created.client_id);
    expect(events.map((e) => e.action)).toEqual([9901, 9903, 9903]);
    expect(events[2]).toEqual({
      id: expect.any(Number),
      tenant: user.tenantId,
      user_id: user.userId,
      client_id: created.client_id,
      action: 9903,
      occurred_on: clock.now(),
      ip: "192.0.2.55",
      user_agent: "regen-test/1.0",
      request_id: requestIds[1],
    });
    expect(events[1]?.request_id).toBe(requestIds[0]);
    // Still exactly one current secret after several rotations.
    expect(await storedSecrets(created.client_id)).toHaveLength(1);
  });

  it("works on a disabled client and revokes no tokens (no KV entry)", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    await call("PATCH", `/clients/${created.client_id}/activation`, { caller: user, body: { status: false } });
    const res = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: user });
    expect(res.status).toBe(200);
    expect(await kvEntry(clientRevocationKey(created.client_id))).toBeNull();
    expect(await storedClient(created.client_id)).toMatchObject({ enabled: 0 });
  });
});

describe("regenerateSecret: errors change nothing", () => {
  it("answers 404 for unknown, malformed and invisible clients and keeps the old hash", async ({ expect }) => {
    const owner = newCaller("USER");
    const created = await createClientAs(owner);
    const [before] = await storedSecrets(created.client_id);
    const callers = [newCaller("USER", owner.tenantId), newCaller("ADMIN")];
    for (const caller of callers) {
      const res = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toMatch(/client_secret/);
    }
    for (const id of [crypto.randomUUID(), "zzz", "1234-5678"]) {
      expect((await call("PATCH", `/clients/${id}/regenerate`, { caller: owner })).status).toBe(404);
    }
    expect(await storedSecrets(created.client_id)).toEqual([before]);
    expect((await auditEventsFor(created.client_id)).map((e) => e.action)).toEqual([9901]);
  });

  it("answers 403 to a GUEST of the same tenant", async ({ expect }) => {
    const owner = newCaller("USER");
    const created = await createClientAs(owner);
    const [before] = await storedSecrets(created.client_id);
    const guest = newCaller("GUEST", owner.tenantId);
    const res = await call("PATCH", `/clients/${created.client_id}/regenerate`, { caller: guest });
    expect(res.status).toBe(403);
    expect(await storedSecrets(created.client_id)).toEqual([before]);
  });
});
