import { beforeAll, describe, it } from "vitest";
import { call, createClientAs } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { newCaller } from "../helpers/signature";
import {
  auditEventsFor,
  createClientVia,
  newRequestId,
  storedClient,
  storedSecrets,
  warmUpWorker,
} from "../helpers/stored-state";

// PATCH /api/2.0/clients/{clientId}/activation (SPEC §4.5, §12.7): {"status": boolean} is required.

beforeAll(warmUpWorker, 60_000);

describe("changeActivation: happy path", () => {
  it("disables and re-enables a client, answering 200 {} each time", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const user = newCaller("USER");
    const created = await createClientVia(fetcher, user);
    const before = await storedClient(created.client_id);

    clock.advance(10_000);
    const off = await call("PATCH", `/clients/${created.client_id}/activation`, {
      caller: user,
      fetcher,
      body: { status: false },
    });
    expect(off.status).toBe(200);
    expect(await off.json()).toEqual({});
    expect(await storedClient(created.client_id)).toEqual({
      ...before,
      enabled: 0,
      modified_on: clock.now(),
      modified_by: user.userId,
    });

    clock.advance(10_000);
    const on = await call("PATCH", `/clients/${created.client_id}/activation`, {
      caller: user,
      fetcher,
      body: { status: true },
    });
    expect(on.status).toBe(200);
    expect(await on.json()).toEqual({});
    expect(await storedClient(created.client_id)).toEqual({
      ...before,
      enabled: 1,
      modified_on: clock.now(),
      modified_by: user.userId,
    });
  });

  it("leaves the secret in place: tokens and credentials outlive a disable", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const secrets = await storedSecrets(created.client_id);
    const res = await call("PATCH", `/clients/${created.client_id}/activation`, {
      caller: user,
      body: { status: false },
    });
    expect(res.status).toBe(200);
    expect(await storedSecrets(created.client_id)).toEqual(secrets);
  });

  it("writes one 9905 audit event per change", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const admin = newCaller("ADMIN");
    const created = await createClientVia(fetcher, admin);
    clock.advance(2_000);
    const requestId = newRequestId();
    const res = await call("PATCH", `/clients/${created.client_id}/activation`, {
      caller: admin,
      fetcher,
      headers: { "cf-connecting-ip": "203.0.113.99", "user-agent": "activation-test/1.0", "x-request-id": requestId },
      body: { status: false },
    });
    expect(res.status).toBe(200);
    const events = await auditEventsFor(created.client_id);
    expect(events.map((e) => e.action)).toEqual([9901, 9905]);
    expect(events[1]).toEqual({
      id: expect.any(Number),
      tenant: admin.tenantId,
      user_id: admin.userId,
      client_id: created.client_id,
      action: 9905,
      occurred_on: clock.now(),
      ip: "203.0.113.99",
      user_agent: "activation-test/1.0",
      request_id: requestId,
    });
  });

  it("setting the current state again is a 200 no-op apart from modified_*", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const res = await call("PATCH", `/clients/${created.client_id}/activation`, {
      caller: user,
      body: { status: true },
    });
    expect(res.status).toBe(200);
    expect(await storedClient(created.client_id)).toMatchObject({ enabled: 1 });
  });
});

describe("changeActivation: a missing or non-boolean status is 400 and changes nothing", () => {
  it.for([
    ["status missing", {}, "EmptyFieldError"],
    ["status null", { status: null }, "EmptyFieldError"],
    ["status as a string", { status: "false" }, undefined],
    ["status as a number", { status: 0 }, undefined],
    ["status as an object", { status: { value: false } }, undefined],
  ] as const)("%s", async ([, body, code], { expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const before = await storedClient(created.client_id);
    const res = await call("PATCH", `/clients/${created.client_id}/activation`, { caller: user, body });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { errors: { field: string; code: string }[] };
    expect(problem.errors).toContainEqual(expect.objectContaining({ field: "status", ...(code ? { code } : {}) }));
    expect(await storedClient(created.client_id)).toEqual(before);
    expect((await auditEventsFor(created.client_id)).map((e) => e.action)).toEqual([9901]);
  });

  it("a body that is not an object is 400; no body or a non-JSON type is 415", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const path = `/clients/${created.client_id}/activation`;
    for (const rawBody of ["false", "null", "[]", '"status"']) {
      const res = await call("PATCH", path, { caller: user, rawBody, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
    }
    expect((await call("PATCH", path, { caller: user })).status).toBe(415);
    const form = await call("PATCH", path, {
      caller: user,
      rawBody: "status=false",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
    expect(await storedClient(created.client_id)).toMatchObject({ enabled: 1 });
  });

  it("answers 404 for unknown, malformed and invisible clients", async ({ expect }) => {
    const owner = newCaller("USER");
    const created = await createClientAs(owner);
    for (const caller of [newCaller("USER", owner.tenantId), newCaller("ADMIN")]) {
      const res = await call("PATCH", `/clients/${created.client_id}/activation`, {
        caller,
        body: { status: false },
      });
      expect(res.status).toBe(404);
    }
    for (const id of [crypto.randomUUID(), "123"]) {
      const res = await call("PATCH", `/clients/${id}/activation`, { caller: owner, body: { status: false } });
      expect(res.status).toBe(404);
    }
    expect(await storedClient(created.client_id)).toMatchObject({ enabled: 1 });
  });
});
