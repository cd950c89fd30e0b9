import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { call } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { faultyD1 } from "../helpers/faults";
import { authenticateStatus, serviceCall, tokenStatusOf } from "../helpers/service";
import { newCaller } from "../helpers/signature";
import { consentsFor, createClientVia, insertConsent, storedClient } from "../helpers/stored-state";

// The token lifecycle of issue 4, end to end through the real runtime, and the error paths of the
// two routes it introduces for the authorization server: authenticate and record consent.

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const secondsAt = (ms: number) => Math.floor(ms / 1000);

describe("token lifecycle, end to end", () => {
  it("create → authenticate → consent → listed → active → revoke consent → rotate with grace → revoke all → delete", async ({
    expect,
  }) => {
    const clock = manualClock(T0);
    const fetcher = appFetcher({ clock: clock.now });
    const owner = newCaller("USER");
    const user = newCaller("USER", owner.tenantId);

    // 1. The owner registers a client.
    const client = await createClientVia(fetcher, owner, { scopes: ["files:read", "rooms:read", "openid"] });
    const id = client.client_id;

    // 2. The authorization server checks the client's credentials.
    const auth = await serviceCall("POST", `/oauth2/clients/${id}/authenticate`, {
      body: { client_secret: client.client_secret },
      fetcher,
    });
    expect(auth.status).toBe(200);
    expect(await auth.json()).toEqual({
      client_id: id,
      tenant: owner.tenantId,
      scopes: ["files:read", "rooms:read", "openid"],
      redirect_uris: ["https://example.com/callback"],
      allowed_origins: ["https://example.com"],
      logout_redirect_uris: ["https://example.com/logout"],
      authentication_methods: ["client_secret_post"],
      allow_pkce: false,
      enabled: true,
    });

    // 3. The user consents; the authorization server records it.
    clock.set(T0 + 10_000);
    const consent = await serviceCall("PUT", "/oauth2/consents", {
      body: { client_id: id, user_id: user.userId, tenant_id: user.tenantId, scopes: ["files:read", "openid"] },
      fetcher,
    });
    expect(consent.status).toBe(200);
    expect(await consent.json()).toEqual({
      client_id: id,
      user_id: user.userId,
      tenant_id: user.tenantId,
      scopes: ["files:read", "openid"],
      modified_at: new Date(T0 + 10_000).toISOString(),
    });

    // 4. The consent is listed for the user (SPEC §4.12) and stored as DocSpace keeps it.
    const listed = await call("GET", "/clients/consents?limit=50", { caller: user, fetcher });
    expect(listed.status).toBe(200);
    const page = (await listed.json()) as { data: { registered_client_id: string; scopes: string }[] };
    expect(page.data).toEqual([expect.objectContaining({ registered_client_id: id, scopes: "files:read openid" })]);
    expect(await consentsFor(id)).toEqual([
      {
        tenant: user.tenantId,
        user_id: user.userId,
        client_id: id,
        scopes: "files:read openid",
        modified_on: T0 + 10_000,
      },
    ]);

    // 5. A token issued now is active.
    const firstToken = { client_id: id, user_id: user.userId, issued_at: secondsAt(T0 + 11_000) };
    expect((await tokenStatusOf(firstToken, fetcher)).body).toEqual({ active: true });

    // 6. The user revokes the consent: earlier tokens are consent_revoked…
    clock.set(T0 + 20_000);
    expect((await call("DELETE", `/clients/${id}/revoke`, { caller: user, fetcher })).status).toBe(200);
    expect(await consentsFor(id)).toEqual([]);
    expect((await tokenStatusOf(firstToken, fetcher)).body).toEqual({ active: false, reason: "consent_revoked" });

    // …and after a fresh consent, a token issued after it is active (the old one stays revoked).
    clock.set(T0 + 30_000);
    const again = await serviceCall("PUT", "/oauth2/consents", {
      body: { client_id: id, user_id: user.userId, tenant_id: user.tenantId, scopes: ["openid"] },
      fetcher,
    });
    expect(again.status).toBe(200);
    const secondToken = { client_id: id, user_id: user.userId, issued_at: secondsAt(T0 + 31_000) };
    expect((await tokenStatusOf(secondToken, fetcher)).body).toEqual({ active: true });
    expect((await tokenStatusOf(firstToken, fetcher)).body).toEqual({ active: false, reason: "consent_revoked" });

    // 7. The owner rotates the secret with a one-hour grace period: both secrets work…
    clock.set(T0 + 40_000);
    const rotated = await call("PATCH", `/clients/${id}/regenerate?grace_period=3600`, { caller: owner, fetcher });
    expect(rotated.status).toBe(200);
    const { client_secret: newSecret, previous_secret_expires_at } = (await rotated.json()) as {
      client_secret: string;
      previous_secret_expires_at: string;
    };
    expect(previous_secret_expires_at).toBe(new Date(T0 + 40_000 + 3_600_000).toISOString());
    expect(await authenticateStatus(id, client.client_secret, fetcher)).toBe(200);
    expect(await authenticateStatus(id, newSecret, fetcher)).toBe(200);

    // …and once the clock passes the grace period, only the new one.
    clock.set(T0 + 40_000 + 3_600_000);
    expect(await authenticateStatus(id, client.client_secret, fetcher)).toBe(401);
    expect(await authenticateStatus(id, newSecret, fetcher)).toBe(200);

    // 8. The owner revokes every token: both tokens are tokens_revoked, the client lives on.
    const revokeAllAt = T0 + 4_000_000;
    clock.set(revokeAllAt);
    expect((await call("DELETE", `/clients/${id}/tokens`, { caller: owner, fetcher })).status).toBe(200);
    expect((await tokenStatusOf(secondToken, fetcher)).body).toEqual({ active: false, reason: "tokens_revoked" });
    expect(await authenticateStatus(id, newSecret, fetcher)).toBe(200);
    const thirdToken = { client_id: id, user_id: user.userId, issued_at: secondsAt(revokeAllAt) + 5 };
    expect((await tokenStatusOf(thirdToken, fetcher)).body).toEqual({ active: true });

    // 9. The owner deletes the client: every token so far is client_deleted, the client unknown.
    clock.set(revokeAllAt + 60_000);
    expect((await call("DELETE", `/clients/${id}`, { caller: owner, fetcher })).status).toBe(200);
    expect((await tokenStatusOf(thirdToken, fetcher)).body).toEqual({ active: false, reason: "client_deleted" });
    expect(await authenticateStatus(id, newSecret, fetcher)).toBe(401);
    expect(await storedClient(id)).toBeNull();
  });
});

describe("authenticate: errors", () => {
  async function setup() {
    const owner = newCaller("ADMIN");
    const clock = manualClock(T0);
    const fetcher = appFetcher({ clock: clock.now });
    const client = await createClientVia(fetcher, owner);
    return { owner, client, fetcher };
  }

  it("unknown client, malformed id and wrong secret get the same 401 invalid_client", async ({ expect }) => {
    const { client } = await setup();
    const bodies: unknown[] = [];
    for (const [id, secret] of [
      [client.client_id, "WrongSecretWrongSecretWrongSecret123"],
      [client.client_id, ""],
      [crypto.randomUUID(), client.client_secret],
      ["not-a-client-id", client.client_secret],
    ] as const) {
      const res = await serviceCall("POST", `/oauth2/clients/${id}/authenticate`, { body: { client_secret: secret } });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBeNull();
      const { instance: _instance, request_id: _requestId, ...rest } = (await res.json()) as Record<string, unknown>;
      bodies.push(rest);
    }
    expect(bodies[0]).toEqual({
      type: "/api/2.0/docs/problems#invalid-client",
      title: "Unauthorized",
      status: 401,
      detail: "invalid_client: unknown client or wrong secret.",
    });
    for (const body of bodies) expect(body).toEqual(bodies[0]);
  });

  it("the secret is case-sensitive and exact", async ({ expect }) => {
    const { client } = await setup();
    for (const variant of [
      client.client_secret.toLowerCase(),
      client.client_secret.toUpperCase(),
      `${client.client_secret} `,
      client.client_secret.slice(1),
    ]) {
      if (variant === client.client_secret) continue;
      expect(await authenticateStatus(client.client_id, variant)).toBe(401);
    }
  });

  it("a disabled client with the right secret is 403; with a wrong secret still 401", async ({ expect }) => {
    const { owner, client } = await setup();
    const disable = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller: owner,
      body: { status: false },
    });
    expect(disable.status).toBe(200);
    const res = await serviceCall("POST", `/oauth2/clients/${client.client_id}/authenticate`, {
      body: { client_secret: client.client_secret },
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { type: string }).type).toBe("/api/2.0/docs/problems#client-disabled");
    expect(await authenticateStatus(client.client_id, "WrongSecretWrongSecretWrongSecret123")).toBe(401);
  });

  it.for([
    ["no client_secret", {}],
    ["a numeric client_secret", { client_secret: 123 }],
    ["a 10 kB client_secret", { client_secret: "a".repeat(10_000) }],
  ] as const)("%s is 400", async ([, body], { expect }) => {
    const { client } = await setup();
    const res = await serviceCall("POST", `/oauth2/clients/${client.client_id}/authenticate`, { body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe("client_secret");
  });

  it("D1 unavailable is 503, not a guess", async ({ expect }) => {
    const { client } = await setup();
    const { db } = faultyD1(env.DB, { failFrom: 1 });
    const status = await authenticateStatus(client.client_id, client.client_secret, appFetcher({ env: { DB: db } }));
    expect(status).toBe(503);
  });
});

describe("record consent: errors leave storage unchanged", () => {
  async function setup() {
    const owner = newCaller("ADMIN");
    const client = await createClientVia(appFetcher({ clock: () => T0 }), owner, { scopes: ["files:read", "openid"] });
    const user = newCaller("USER", owner.tenantId);
    const body = { client_id: client.client_id, user_id: user.userId, tenant_id: user.tenantId, scopes: ["openid"] };
    return { owner, client, user, body };
  }

  it("an unknown client is 404", async ({ expect }) => {
    const { body } = await setup();
    const unknown = crypto.randomUUID();
    const res = await serviceCall("PUT", "/oauth2/consents", { body: { ...body, client_id: unknown } });
    expect(res.status).toBe(404);
    expect(await consentsFor(unknown)).toEqual([]);
  });

  it("scopes the client lacks are 400 ErrorInvalidScope, and an existing consent is kept as it was", async ({
    expect,
  }) => {
    const { client, user, body } = await setup();
    await insertConsent({ tenant: user.tenantId, userId: user.userId, clientId: client.client_id, scopes: "openid" });
    const before = await consentsFor(client.client_id);
    for (const scopes of [["rooms:write"], ["openid", "files:write"], ["no-such-scope"]]) {
      const res = await serviceCall("PUT", "/oauth2/consents", { body: { ...body, scopes } });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { errors: { field: string; code: string }[] };
      expect(problem.errors).toEqual([expect.objectContaining({ field: "scopes", code: "ErrorInvalidScope" })]);
    }
    expect(await consentsFor(client.client_id)).toEqual(before);
  });

  it("a consent is replaced, not duplicated; duplicate scopes collapse", async ({ expect }) => {
    const { client, user, body } = await setup();
    const fetcher = appFetcher({ clock: () => T0 + 5_000 });
    expect((await serviceCall("PUT", "/oauth2/consents", { body, fetcher })).status).toBe(200);
    const replace = { ...body, scopes: ["files:read", "openid", "files:read"] };
    const res = await serviceCall("PUT", "/oauth2/consents", {
      body: replace,
      fetcher: appFetcher({ clock: () => T0 + 9_000 }),
    });
    expect(res.status).toBe(200);
    expect(await consentsFor(client.client_id)).toEqual([
      {
        tenant: user.tenantId,
        user_id: user.userId,
        client_id: client.client_id,
        scopes: "files:read openid",
        modified_on: T0 + 9_000,
      },
    ]);
  });

  it("a disabled client takes no consent (403)", async ({ expect }) => {
    const { owner, client, body } = await setup();
    await call("PATCH", `/clients/${client.client_id}/activation`, { caller: owner, body: { status: false } });
    const res = await serviceCall("PUT", "/oauth2/consents", { body });
    expect(res.status).toBe(403);
    expect(await consentsFor(client.client_id)).toEqual([]);
  });

  it.for([
    ["client_id", { client_id: "nope" }],
    ["user_id", { user_id: "not-a-guid" }],
    ["tenant_id", { tenant_id: 0 }],
    ["tenant_id", { tenant_id: "1" }],
    ["scopes", { scopes: [] }],
    ["scopes", { scopes: "openid" }],
  ] as const)("a bad %s is 400 naming it", async ([field, override], { expect }) => {
    const { client, body } = await setup();
    const res = await serviceCall("PUT", "/oauth2/consents", { body: { ...body, ...override } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain(field);
    expect(await consentsFor(client.client_id)).toEqual([]);
  });

  it("D1 refusing the write is 503 and records nothing", async ({ expect }) => {
    const { client, body } = await setup();
    const { db } = faultyD1(env.DB, { failAt: 2 });
    const res = await serviceCall("PUT", "/oauth2/consents", { body, fetcher: appFetcher({ env: { DB: db } }) });
    expect(res.status).toBe(503);
    expect(await consentsFor(client.client_id)).toEqual([]);
  });
});
