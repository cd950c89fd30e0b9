import { env } from "cloudflare:workers";
import { beforeAll, describe, it } from "vitest";
import { call, clientBody } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { newCaller } from "../helpers/signature";
import {
  auditEventsFor,
  clientsOfTenant,
  ISO_MS_Z,
  newRequestId,
  storedClient,
  storedSecrets,
  UUID_V4,
  warmUpWorker,
} from "../helpers/stored-state";

// POST /api/2.0/clients (SPEC §4.1, §4.16): the 201 body, and the rows it leaves in D1.

const CLIENT_RESPONSE_FIELDS = [
  "allow_pkce",
  "allowed_origins",
  "authentication_methods",
  "client_id",
  "client_secret",
  "created_by",
  "created_on",
  "description",
  "enabled",
  "is_public",
  "logo",
  "logout_redirect_uris",
  "modified_by",
  "modified_on",
  "name",
  "policy_url",
  "redirect_uris",
  "scopes",
  "tenant",
  "terms_url",
  "website_url",
];

const LOGO = "data:image/png;base64,iVBORw0KGgo=";

beforeAll(warmUpWorker, 60_000);

describe("createClient: happy path", () => {
  it("answers 201 with DocSpace's ClientResponse, secret included", async ({ expect }) => {
    const clock = manualClock();
    const admin = newCaller("ADMIN");
    const res = await call("POST", "/clients", {
      caller: admin,
      body: clientBody({ name: "  Reporting dashboard  ", logo: LOGO, allow_pkce: true }),
      fetcher: appFetcher({ clock: clock.now }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(CLIENT_RESPONSE_FIELDS);
    expect(body).toMatchObject({
      name: "Reporting dashboard",
      description: "A client made by a test",
      tenant: admin.tenantId,
      scopes: ["files:read", "openid"],
      enabled: true,
      website_url: "https://example.com",
      terms_url: "https://example.com/terms",
      policy_url: "https://example.com/privacy",
      logo: LOGO,
      authentication_methods: ["client_secret_post", "none"],
      redirect_uris: ["https://example.com/callback"],
      allowed_origins: ["https://example.com"],
      logout_redirect_uris: ["https://example.com/logout"],
      created_on: "2026-11-28T12:00:00.000Z",
      created_by: admin.userId,
      modified_on: "2026-11-28T12:00:00.000Z",
      modified_by: admin.userId,
      is_public: true,
      allow_pkce: true,
    });
    expect(body.client_id).toMatch(UUID_V4);
    expect(body.client_secret).toMatch(/^[A-Za-z0-9]{36}$/);
    expect(body.created_on).toMatch(ISO_MS_Z);
  });

  it("stores the client row exactly as sent, with tenant and creator from the signature", async ({ expect }) => {
    const clock = manualClock(Date.UTC(2026, 10, 28, 9, 30, 15, 250));
    const user = newCaller("USER");
    const res = await call("POST", "/clients", {
      caller: user,
      body: clientBody({
        // Attempts to choose these are ignored: they come from the signature and the server.
        tenant: 1,
        created_by: crypto.randomUUID(),
        enabled: false,
        is_public: false,
        client_id: "11111111-1111-4111-8111-111111111111",
      }),
      fetcher: appFetcher({ clock: clock.now }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { client_id: string; created_on: string };
    expect(body.client_id).not.toBe("11111111-1111-4111-8111-111111111111");
    expect(body.created_on).toBe("2026-11-28T09:30:15.250Z");

    const row = await storedClient(body.client_id);
    expect(row).toEqual({
      client_id: body.client_id,
      tenant: user.tenantId,
      name: "Test client",
      description: "A client made by a test",
      logo: null,
      website_url: "https://example.com",
      terms_url: "https://example.com/terms",
      policy_url: "https://example.com/privacy",
      logout_redirect_uri: "https://example.com/logout",
      redirect_uris: JSON.stringify(["https://example.com/callback"]),
      allowed_origins: JSON.stringify(["https://example.com"]),
      scopes: JSON.stringify(["files:read", "openid"]),
      enabled: 1,
      is_public: 1,
      allow_pkce: 0,
      created_on: clock.now(),
      created_by: user.userId,
      modified_on: clock.now(),
      modified_by: user.userId,
    });
  });

  it("stores exactly one current secret hash, tagged, not the secret", async ({ expect }) => {
    const clock = manualClock();
    const admin = newCaller("ADMIN");
    const res = await call("POST", "/clients", {
      caller: admin,
      body: clientBody(),
      fetcher: appFetcher({ clock: clock.now }),
    });
    const { client_id, client_secret } = (await res.json()) as { client_id: string; client_secret: string };
    const secrets = await storedSecrets(client_id);
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatchObject({ client_id, created_on: clock.now(), expires_on: null });
    expect(secrets[0]?.hash).toMatch(/^hmac-sha256\.v1\$[A-Za-z0-9_-]{43}$/);
    expect(secrets[0]?.hash).not.toContain(client_secret);
  });

  it("writes one 9901 audit event with tenant, user, client, time, IP, user agent and request id", async ({
    expect,
  }) => {
    const clock = manualClock();
    const admin = newCaller("ADMIN");
    const requestId = newRequestId();
    const res = await call("POST", "/clients", {
      caller: admin,
      body: clientBody(),
      headers: { "cf-connecting-ip": "203.0.113.7", "user-agent": "create-test/1.0", "x-request-id": requestId },
      fetcher: appFetcher({ clock: clock.now }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-request-id")).toBe(requestId);
    const { client_id } = (await res.json()) as { client_id: string };
    const events = await auditEventsFor(client_id);
    expect(events).toEqual([
      {
        id: expect.any(Number),
        tenant: admin.tenantId,
        user_id: admin.userId,
        client_id,
        action: 9901,
        occurred_on: clock.now(),
        ip: "203.0.113.7",
        user_agent: "create-test/1.0",
        request_id: requestId,
      },
    ]);
  });

  it("works without a user agent or IP (DocSpace 500s without User-Agent)", async ({ expect }) => {
    const user = newCaller("USER");
    const res = await call("POST", "/clients", { caller: user, body: clientBody() });
    expect(res.status).toBe(201);
    const { client_id } = (await res.json()) as { client_id: string };
    const [event] = await auditEventsFor(client_id);
    expect(event).toMatchObject({ action: 9901, ip: null, user_agent: null });
  });

  it("keeps optional fields null and lists no logout URI when they are omitted", async ({ expect }) => {
    const user = newCaller("USER");
    const res = await call("POST", "/clients", {
      caller: user,
      body: {
        name: "Minimal",
        redirect_uris: ["com.example.app:/oauth/cb"],
        allowed_origins: ["http://localhost:3000/"],
        scopes: ["openid"],
      },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      description: null,
      logo: null,
      website_url: null,
      terms_url: null,
      policy_url: null,
      logout_redirect_uris: [],
      allow_pkce: false,
      authentication_methods: ["client_secret_post"],
      redirect_uris: ["com.example.app:/oauth/cb"],
      allowed_origins: ["http://localhost:3000"],
    });
    const row = await storedClient(body.client_id as string);
    expect(row).toMatchObject({
      description: null,
      logo: null,
      website_url: null,
      logout_redirect_uri: null,
      allow_pkce: 0,
      allowed_origins: JSON.stringify(["http://localhost:3000"]),
    });
  });

  it("collapses duplicate redirect URIs, origins and scopes (they are sets)", async ({ expect }) => {
    const user = newCaller("USER");
    const res = await call("POST", "/clients", {
      caller: user,
      body: clientBody({
        redirect_uris: ["https://a.example/cb", "https://a.example/cb", "https://b.example/cb"],
        allowed_origins: ["https://a.example", "https://a.example/", "https://b.example"],
        scopes: ["openid", "files:read", "openid"],
      }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { client_id: string };
    expect(body).toMatchObject({
      redirect_uris: ["https://a.example/cb", "https://b.example/cb"],
      allowed_origins: ["https://a.example", "https://b.example"],
      scopes: ["openid", "files:read"],
    });
    const row = await storedClient(body.client_id);
    expect(JSON.parse(row?.scopes ?? "null")).toEqual(["openid", "files:read"]);
    expect(JSON.parse(row?.redirect_uris ?? "null")).toEqual(["https://a.example/cb", "https://b.example/cb"]);
  });

  it("gives every client its own id and secret", async ({ expect }) => {
    const user = newCaller("USER");
    const bodies = [];
    for (let i = 0; i < 3; i++) {
      const res = await call("POST", "/clients", { caller: user, body: clientBody({ name: `Client ${i}` }) });
      expect(res.status).toBe(201);
      bodies.push((await res.json()) as { client_id: string; client_secret: string });
    }
    expect(new Set(bodies.map((b) => b.client_id)).size).toBe(3);
    expect(new Set(bodies.map((b) => b.client_secret)).size).toBe(3);
    const rows = await clientsOfTenant(user.tenantId);
    expect(rows.map((r) => r.client_id).sort()).toEqual(bodies.map((b) => b.client_id).sort());
  });

  it("accepts a JSON content type with parameters, and ignores unknown fields", async ({ expect }) => {
    const user = newCaller("USER");
    const res = await call("POST", "/clients", {
      caller: user,
      rawBody: JSON.stringify(clientBody({ unknown_field: "x", nested: { a: 1 } })),
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty("unknown_field");
    expect(body).not.toHaveProperty("nested");
  });
});

describe("createClient: refusals", () => {
  it("refuses a GUEST with 403 and stores nothing", async ({ expect }) => {
    const guest = newCaller("GUEST");
    const res = await call("POST", "/clients", { caller: guest, body: clientBody() });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await clientsOfTenant(guest.tenantId)).toEqual([]);
  });

  it("refuses an unsigned request with 403 and stores nothing", async ({ expect }) => {
    const tenantBefore = await env.DB.prepare("SELECT COUNT(*) AS n FROM clients").first<number>("n");
    const res = await call("POST", "/clients", { body: clientBody() });
    expect(res.status).toBe(403);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM clients").first<number>("n")).toBe(tenantBefore);
  });
});
