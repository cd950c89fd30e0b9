import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { call, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { faultyD1 } from "../helpers/faults";
import { newCaller, signFor } from "../helpers/signature";

// GET /clients/{id}, /clients/{id}/info, /clients/{id}/public/info and the page shapes (SPEC §4.7–§4.11).

const INFO_FIELDS = [
  "authentication_methods",
  "client_id",
  "created_by",
  "created_on",
  "description",
  "is_public",
  "logo",
  "modified_by",
  "modified_on",
  "name",
  "policy_url",
  "scopes",
  "terms_url",
  "website_url",
];

function withoutSecret(created: Record<string, unknown>): Record<string, unknown> {
  const { client_secret: _secret, ...rest } = created;
  return rest;
}

function infoOf(created: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(INFO_FIELDS.map((field) => [field, created[field]]));
}

describe("getClient", () => {
  it("returns what createClient returned, minus the secret, to the owner and the tenant admin", async ({ expect }) => {
    const user = newCaller("USER");
    const admin = newCaller("ADMIN", user.tenantId);
    const created = await createClientAs(user, { allow_pkce: true });
    for (const caller of [user, admin]) {
      const res = await call("GET", `/clients/${created.client_id}`, { caller });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(created.client_secret);
      const body = JSON.parse(text) as Record<string, unknown>;
      expect(body).not.toHaveProperty("client_secret");
      expect(body).toEqual(withoutSecret(created));
      expect(body.authentication_methods).toEqual(["client_secret_post", "none"]);
    }
  });

  it("accepts the id in upper case", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const created = await createClientAs(admin);
    const res = await call("GET", `/clients/${created.client_id.toUpperCase()}`, { caller: admin });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { client_id: string }).client_id).toBe(created.client_id);
  });

  it("reads a disabled client, showing enabled: false", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const created = await createClientAs(admin);
    const off = await call("PATCH", `/clients/${created.client_id}/activation`, {
      caller: admin,
      body: { status: false },
    });
    expect(off.status).toBe(200);
    const res = await call("GET", `/clients/${created.client_id}`, { caller: admin });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { enabled: boolean }).enabled).toBe(false);
  });

  it("answers 404 problem+json for an unknown or malformed id", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    for (const id of [crypto.randomUUID(), "not-a-uuid", "12345"]) {
      const res = await call("GET", `/clients/${id}`, { caller: admin });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("answers 503 when D1 is unavailable", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const created = await createClientAs(admin);
    const { db } = faultyD1(env.DB, { failFrom: 1 });
    const res = await call("GET", `/clients/${created.client_id}`, {
      caller: admin,
      fetcher: appFetcher({ env: { DB: db } }),
    });
    expect(res.status).toBe(503);
    expect(await res.text()).not.toContain("injected");
  });
});

describe("getClientInfo", () => {
  it("returns exactly the ClientInfoResponse fields", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const res = await call("GET", `/clients/${created.client_id}/info`, { caller: user });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(INFO_FIELDS);
    expect(body).toEqual(infoOf(created));
  });
});

describe("getPublicClientInfo", () => {
  it("needs no signature and works for a disabled client of any tenant", async ({ expect }) => {
    const owner = newCaller("ADMIN");
    const created = await createClientAs(owner);
    await call("PATCH", `/clients/${created.client_id}/activation`, { caller: owner, body: { status: false } });

    const anonymous = await call("GET", `/clients/${created.client_id}/public/info`);
    expect(anonymous.status).toBe(200);
    const text = await anonymous.text();
    expect(text).not.toContain(created.client_secret);
    expect(JSON.parse(text)).toEqual({ ...infoOf(created), modified_on: expect.any(String) });

    const stranger = newCaller("GUEST");
    const signed = await call("GET", `/clients/${created.client_id}/public/info`, { caller: stranger });
    expect(signed.status).toBe(200);
  });

  it("ignores an invalid signature instead of refusing the request", async ({ expect }) => {
    const owner = newCaller("USER");
    const created = await createClientAs(owner);
    const forged = `${(await signFor(owner)).slice(0, -4)}AAAA`;
    const res = await call("GET", `/clients/${created.client_id}/public/info`, { signature: forged });
    expect(res.status).toBe(200);
  });

  it("answers 404 for an unknown or malformed id", async ({ expect }) => {
    expect((await call("GET", `/clients/${crypto.randomUUID()}/public/info`)).status).toBe(404);
    expect((await call("GET", "/clients/nope/public/info")).status).toBe(404);
  });
});

describe("literal segments win over {clientId}", () => {
  it("routes /clients/info, /clients/consents and /clients/tenant to their own operations", async ({ expect }) => {
    const user = newCaller("USER");
    const info = await call("GET", "/clients/info?limit=5", { caller: user });
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({ data: [], limit: 5, last_client_id: null, last_created_on: null });
    const consents = await call("GET", "/clients/consents?limit=5", { caller: user });
    expect(consents.status).toBe(200);
    // A USER is refused the tenant-wide delete (403), not told the client "tenant" is unknown (404).
    expect((await call("DELETE", "/clients/tenant", { caller: user })).status).toBe(403);
  });
});

describe("getClients and getClientsInfo item shapes", () => {
  it("lists ClientResponse items without secrets, and info items with the info fields only", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    const list = await call("GET", "/clients", { caller: user });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain(created.client_secret);
    const page = JSON.parse(text) as { data: Record<string, unknown>[]; limit: number };
    expect(page.limit).toBe(30);
    expect(page.data).toEqual([withoutSecret(created)]);

    const infoRes = await call("GET", "/clients/info?limit=1", { caller: user });
    const infoPage = (await infoRes.json()) as { data: Record<string, unknown>[]; last_client_id: string | null };
    expect(infoPage.data).toEqual([infoOf(created)]);
    expect(infoPage.last_client_id).toBeNull();
  });
});
