import { beforeAll, describe, it } from "vitest";
import { call, createClientAs } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { newCaller } from "../helpers/signature";
import {
  auditEventsFor,
  createClientVia,
  newRequestId,
  type StoredClient,
  storedClient,
  warmUpWorker,
} from "../helpers/stored-state";

// PUT /api/2.0/clients/{clientId} (SPEC §4.2): exactly name, allowed_origins, description, logo and
// allow_pkce change; everything else stays as created.

const LOGO = "data:image/png;base64,iVBORw0KGgo=";
const OTHER_LOGO = "data:image/svg+xml;base64,PHN2Zy8+";

async function createdRow(id: string): Promise<StoredClient> {
  const row = await storedClient(id);
  if (!row) throw new Error(`client ${id} is missing`);
  return row;
}

beforeAll(warmUpWorker, 60_000);

describe("updateClient: happy path", () => {
  it("answers 200 {} and changes name, origins, description, logo, allow_pkce and modified_*", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const admin = newCaller("ADMIN");
    const created = await createClientVia(fetcher, admin, { logo: LOGO, allow_pkce: true });
    const before = await createdRow(created.client_id);

    clock.advance(90_000);
    const res = await call("PUT", `/clients/${created.client_id}`, {
      caller: admin,
      fetcher,
      body: {
        name: "  Renamed client ",
        description: "New description",
        logo: OTHER_LOGO,
        allowed_origins: ["https://new.example/", "http://127.0.0.1:8080"],
        allow_pkce: true,
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});

    const after = await createdRow(created.client_id);
    expect(after).toEqual({
      ...before,
      name: "Renamed client",
      description: "New description",
      logo: OTHER_LOGO,
      allowed_origins: JSON.stringify(["https://new.example", "http://127.0.0.1:8080"]),
      allow_pkce: 1,
      modified_on: clock.now(),
      modified_by: admin.userId,
    });
  });

  it("leaves description and logo unchanged when omitted, and turns allow_pkce off when omitted", async ({
    expect,
  }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user, { description: "Keep me", logo: LOGO, allow_pkce: true });
    const res = await call("PUT", `/clients/${created.client_id}`, {
      caller: user,
      body: { name: "Same origins", allowed_origins: ["https://example.com"] },
    });
    expect(res.status).toBe(200);
    const row = await createdRow(created.client_id);
    expect(row).toMatchObject({ name: "Same origins", description: "Keep me", logo: LOGO, allow_pkce: 0 });
  });

  it("clears description and logo when sent as null", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user, { description: "Clear me", logo: LOGO });
    const res = await call("PUT", `/clients/${created.client_id}`, {
      caller: user,
      body: { name: "Cleared", allowed_origins: ["https://example.com"], description: null, logo: null },
    });
    expect(res.status).toBe(200);
    const row = await createdRow(created.client_id);
    expect(row).toMatchObject({ description: null, logo: null });
  });

  it("ignores is_public and every field fixed at creation", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const before = await createdRow(created.client_id);
    const res = await call("PUT", `/clients/${created.client_id}`, {
      caller: user,
      body: {
        name: before.name,
        allowed_origins: JSON.parse(before.allowed_origins),
        description: before.description,
        is_public: false,
        enabled: false,
        redirect_uris: ["https://evil.example/cb"],
        scopes: ["accounts:write"],
        website_url: "https://evil.example",
        terms_url: "https://evil.example/terms",
        policy_url: "https://evil.example/privacy",
        logout_redirect_uri: "https://evil.example/logout",
        tenant: 1,
        created_by: crypto.randomUUID(),
        client_id: crypto.randomUUID(),
      },
    });
    expect(res.status).toBe(200);
    const after = await createdRow(created.client_id);
    // Only modified_* may move (allow_pkce was already false).
    expect({ ...after, modified_on: before.modified_on, modified_by: before.modified_by }).toEqual(before);
    expect(after.is_public).toBe(1);
    expect(after.enabled).toBe(1);
  });

  it("works on a disabled client and keeps it disabled", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const off = await call("PATCH", `/clients/${created.client_id}/activation`, {
      caller: user,
      body: { status: false },
    });
    expect(off.status).toBe(200);
    const res = await call("PUT", `/clients/${created.client_id}`, {
      caller: user,
      body: { name: "Still disabled", allowed_origins: ["https://example.com"] },
    });
    expect(res.status).toBe(200);
    expect(await createdRow(created.client_id)).toMatchObject({ name: "Still disabled", enabled: 0 });
  });

  it("records the tenant ADMIN as modifier of a USER's client; created_* stay the creator's", async ({ expect }) => {
    const user = newCaller("USER");
    const admin = newCaller("ADMIN", user.tenantId);
    const created = await createClientAs(user);
    const res = await call("PUT", `/clients/${created.client_id}`, {
      caller: admin,
      body: { name: "Moderated", allowed_origins: ["https://example.com"] },
    });
    expect(res.status).toBe(200);
    expect(await createdRow(created.client_id)).toMatchObject({
      name: "Moderated",
      created_by: user.userId,
      modified_by: admin.userId,
    });
  });

  it("writes one 9902 audit event with who, when and from where", async ({ expect }) => {
    const clock = manualClock();
    const fetcher = appFetcher({ clock: clock.now });
    const admin = newCaller("ADMIN");
    const created = await createClientVia(fetcher, admin);
    clock.advance(5_000);
    const requestId = newRequestId();
    const res = await call("PUT", `/clients/${created.client_id}`, {
      caller: admin,
      fetcher,
      headers: { "cf-connecting-ip": "2001:db8::1", "user-agent": "update-test/2.0", "x-request-id": requestId },
      body: { name: "Audited", allowed_origins: ["https://example.com"] },
    });
    expect(res.status).toBe(200);
    const updates = (await auditEventsFor(created.client_id)).filter((e) => e.action === 9902);
    expect(updates).toEqual([
      {
        id: expect.any(Number),
        tenant: admin.tenantId,
        user_id: admin.userId,
        client_id: created.client_id,
        action: 9902,
        occurred_on: clock.now(),
        ip: "2001:db8::1",
        user_agent: "update-test/2.0",
        request_id: requestId,
      },
    ]);
  });
});

describe("updateClient: errors leave the client unchanged", () => {
  it.for([
    ["name missing", { allowed_origins: ["https://example.com"] }, "name", "EmptyFieldError"],
    ["name too short", { name: "ab", allowed_origins: ["https://example.com"] }, "name", "ErrorName"],
    ["allowed_origins missing", { name: "Valid name" }, "allowed_origins", "EmptyFieldError"],
    ["allowed_origins empty", { name: "Valid name", allowed_origins: [] }, "allowed_origins", "EmptyFieldError"],
    [
      "an origin with a path",
      { name: "Valid name", allowed_origins: ["https://example.com/path"] },
      "allowed_origins",
      "ErrorWrongURL",
    ],
    [
      "description too long",
      { name: "Valid name", allowed_origins: ["https://example.com"], description: "d".repeat(256) },
      "description",
      "ErrorName",
    ],
    [
      "logo not a data URL",
      { name: "Valid name", allowed_origins: ["https://example.com"], logo: "https://example.com/logo.png" },
      "logo",
      "ErrorPattern",
    ],
  ] as const)("%s → 400", async ([, body, field, code], { expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const before = await createdRow(created.client_id);
    const res = await call("PUT", `/clients/${created.client_id}`, { caller: user, body });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { errors: { field: string; code: string }[] };
    expect(problem.errors).toContainEqual(expect.objectContaining({ field, code }));
    expect(await createdRow(created.client_id)).toEqual(before);
    expect((await auditEventsFor(created.client_id)).map((e) => e.action)).toEqual([9901]);
  });

  it("answers 404 for an unknown id, a malformed id, and another user's client", async ({ expect }) => {
    const owner = newCaller("USER");
    const other = newCaller("USER", owner.tenantId);
    const created = await createClientAs(owner);
    const body = { name: "Hijacked", allowed_origins: ["https://example.com"] };
    for (const id of [crypto.randomUUID(), "not-a-uuid", "12345"]) {
      const res = await call("PUT", `/clients/${id}`, { caller: owner, body });
      expect(res.status).toBe(404);
    }
    const res = await call("PUT", `/clients/${created.client_id}`, { caller: other, body });
    expect(res.status).toBe(404);
    expect(await createdRow(created.client_id)).toMatchObject({ name: "Test client" });
  });
});
