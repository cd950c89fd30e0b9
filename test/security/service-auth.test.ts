import { env } from "cloudflare:workers";
import { afterEach, describe, type ExpectStatic, it, vi } from "vitest";
import { matchServiceToken, parseServiceTokens, readBearerToken } from "../../src/middleware/service-auth";
import { clientRevocationKey } from "../../src/revocation/revocations";
import { call, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { SECOND_SERVICE_TOKEN, SERVICE_TOKEN, serviceCall } from "../helpers/service";
import { newCaller, signFor } from "../helpers/signature";
import { consentsFor, kvEntry, storedClient } from "../helpers/stored-state";

// Service authentication (issue 4): /oauth2/* takes only `Authorization: Bearer <service token>`,
// checked against SERVICE_TOKENS in constant time; user routes never accept a service token.

afterEach(() => {
  vi.restoreAllMocks();
});

/** One request per service route, each well-formed apart from its credentials. */
function serviceRequests(clientId: string, userId: string) {
  return [
    {
      name: "authenticate",
      method: "POST",
      path: `/oauth2/clients/${clientId}/authenticate`,
      body: { client_secret: "x".repeat(36) },
    },
    {
      name: "consents",
      method: "PUT",
      path: "/oauth2/consents",
      body: { client_id: clientId, user_id: userId, tenant_id: 1, scopes: ["openid"] },
    },
    {
      name: "token status",
      method: "POST",
      path: "/oauth2/tokens/status",
      body: { client_id: clientId, user_id: userId, issued_at: 1 },
    },
  ] as const;
}

async function expectUnauthorized(expect: ExpectStatic, response: Response, challenge: RegExp) {
  expect(response.status).toBe(401);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  expect(response.headers.get("www-authenticate")).toMatch(challenge);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status: 401, title: "Unauthorized", type: "/api/2.0/docs/problems#unauthorized" });
  // Never echoes what was sent or what was expected.
  expect(JSON.stringify(body)).not.toContain(SERVICE_TOKEN);
  expect(JSON.stringify(body)).not.toContain("test-service-token");
}

describe("service routes: missing or wrong service token", () => {
  const NO_ERROR = /^Bearer realm="docspace-oauth-gateway"$/;
  const INVALID_TOKEN = /^Bearer realm="docspace-oauth-gateway", error="invalid_token"$/;

  it.for(serviceRequests(crypto.randomUUID(), crypto.randomUUID()))(
    "$name without Authorization is 401 with a bare Bearer challenge",
    async (request, { expect }) => {
      const res = await serviceCall(request.method, request.path, { token: null, body: request.body });
      await expectUnauthorized(expect, res, NO_ERROR);
    },
  );

  it.for(serviceRequests(crypto.randomUUID(), crypto.randomUUID()))(
    "$name with a wrong token is 401 invalid_token",
    async (request, { expect }) => {
      const res = await serviceCall(request.method, request.path, {
        token: "test-service-token-primary-0123456788",
        body: request.body,
      });
      await expectUnauthorized(expect, res, INVALID_TOKEN);
    },
  );

  it.for([
    ["a prefix of a real token", SERVICE_TOKEN.slice(0, -1)],
    ["a real token with a suffix", `${SERVICE_TOKEN}0`],
    ["both tokens joined", `${SERVICE_TOKEN},${SECOND_SERVICE_TOKEN}`],
  ] as const)("%s is refused", async ([_name, token], { expect }) => {
    const res = await serviceCall("POST", "/oauth2/tokens/status", {
      token,
      body: { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 },
    });
    expect(res.status).toBe(401);
  });

  it.for([
    ["another scheme", `Basic ${btoa(`x:${SERVICE_TOKEN}`)}`],
    ["the token without a scheme", SERVICE_TOKEN],
    ["an empty bearer", "Bearer "],
    ["two tokens", `Bearer ${SERVICE_TOKEN} ${SERVICE_TOKEN}`],
    ["an oversized token", `Bearer ${"a".repeat(10_000)}`],
  ] as const)("a malformed Authorization header (%s) is 401", async ([_name, authorization], { expect }) => {
    const res = await serviceCall("POST", "/oauth2/tokens/status", {
      token: null,
      headers: { authorization },
      body: { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
  });

  it("a wrong token changes nothing: no consent is recorded", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const client = await createClientAs(admin);
    const res = await serviceCall("PUT", "/oauth2/consents", {
      token: "not-the-service-token-0123456789",
      body: { client_id: client.client_id, user_id: admin.userId, tenant_id: admin.tenantId, scopes: ["openid"] },
    });
    expect(res.status).toBe(401);
    expect(await consentsFor(client.client_id)).toEqual([]);
  });

  it("with SERVICE_TOKENS unset or blank, every service call is refused (fail closed)", async ({ expect }) => {
    for (const configured of ["", " , ,", "short"]) {
      const res = await serviceCall("POST", "/oauth2/tokens/status", {
        body: { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 },
        fetcher: appFetcher({ env: { SERVICE_TOKENS: configured } }),
      });
      expect(res.status).toBe(401);
    }
  });
});

describe("service routes: a rotated token list", () => {
  it.for([
    ["the first", SERVICE_TOKEN],
    ["the second", SECOND_SERVICE_TOKEN],
  ] as const)("%s of two configured tokens is accepted", async ([_name, token], { expect }) => {
    const res = await serviceCall("POST", "/oauth2/tokens/status", {
      token,
      body: { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 },
    });
    expect(res.status).toBe(200);
  });

  it("a token removed from the list stops working; the new one works; spaces around entries are ignored", async ({
    expect,
  }) => {
    const rotated = "rotated-service-token-abcdefghijklmnop";
    const fetcher = appFetcher({ env: { SERVICE_TOKENS: ` ${rotated} , ${SECOND_SERVICE_TOKEN}` } });
    const body = { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 };
    expect((await serviceCall("POST", "/oauth2/tokens/status", { token: SERVICE_TOKEN, body, fetcher })).status).toBe(
      401,
    );
    expect((await serviceCall("POST", "/oauth2/tokens/status", { token: rotated, body, fetcher })).status).toBe(200);
    expect(
      (await serviceCall("POST", "/oauth2/tokens/status", { token: SECOND_SERVICE_TOKEN, body, fetcher })).status,
    ).toBe(200);
  });
});

describe("service routes never accept x-signature", () => {
  const INVALID_REQUEST = /^Bearer realm="docspace-oauth-gateway", error="invalid_request"$/;

  it.for(serviceRequests(crypto.randomUUID(), crypto.randomUUID()))(
    "$name with only a valid admin x-signature is 401",
    async (request, { expect }) => {
      const res = await call(request.method, request.path, { caller: newCaller("ADMIN"), body: request.body });
      await expectUnauthorized(expect, res, INVALID_REQUEST);
    },
  );

  it.for([
    ["header", (signature: string): Record<string, string> => ({ "x-signature": signature })],
    ["cookie", (signature: string): Record<string, string> => ({ cookie: `x-signature=${signature}` })],
  ] as const)(
    "a valid service token together with an x-signature %s is refused and changes nothing",
    async ([_name, carry], { expect }) => {
      const admin = newCaller("ADMIN");
      const client = await createClientAs(admin);
      const res = await serviceCall("PUT", "/oauth2/consents", {
        headers: carry(await signFor(admin)),
        body: { client_id: client.client_id, user_id: admin.userId, tenant_id: admin.tenantId, scopes: ["openid"] },
      });
      await expectUnauthorized(expect, res, INVALID_REQUEST);
      expect(await consentsFor(client.client_id)).toEqual([]);
    },
  );

  it("the problem says what to fix without naming any token", async ({ expect }) => {
    const res = await serviceCall("POST", "/oauth2/tokens/status", {
      headers: { "x-signature": "not.a.jwt" },
      body: { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/only a service token/);
  });
});

describe("user routes never accept a service token", () => {
  it("creating a client with only a service token is 403 and creates nothing", async ({ expect }) => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM clients").first<number>("n");
    const res = await serviceCall("POST", "/clients", {
      body: {
        name: "Made by a service",
        redirect_uris: ["https://a.example/cb"],
        allowed_origins: ["https://a.example"],
        scopes: ["openid"],
      },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBeNull();
    // Other tests in this file may create clients concurrently only through signed calls of
    // their own; this count is read in the same test, right after a refused write.
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM clients").first<number>("n")).toBe(before);
  });

  it.for([
    ["delete", "DELETE", (id: string) => `/clients/${id}`],
    ["revoke all tokens", "DELETE", (id: string) => `/clients/${id}/tokens`],
    ["regenerate", "PATCH", (id: string) => `/clients/${id}/regenerate`],
  ] as const)("%s with only a service token is 403 and changes nothing", async ([_name, method, path], { expect }) => {
    const admin = newCaller("ADMIN");
    const client = await createClientAs(admin);
    const before = await storedClient(client.client_id);
    const res = await serviceCall(method, path(client.client_id));
    expect(res.status).toBe(403);
    expect(await storedClient(client.client_id)).toEqual(before);
    expect(await kvEntry(clientRevocationKey(client.client_id))).toBeNull();
  });

  it("a service token next to a GUEST's x-signature grants nothing more than the signature", async ({ expect }) => {
    const guest = newCaller("GUEST");
    const res = await serviceCall("POST", "/clients", {
      headers: { "x-signature": await signFor(guest) },
      body: {
        name: "Guest via service",
        redirect_uris: ["https://a.example/cb"],
        allowed_origins: ["https://a.example"],
        scopes: ["openid"],
      },
    });
    expect(res.status).toBe(403);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM clients WHERE tenant = ?")
      .bind(guest.tenantId)
      .first<number>("n");
    expect(count).toBe(0);
  });

  it("a valid x-signature next to a service token acts as the signed user only", async ({ expect }) => {
    const user = newCaller("USER");
    const res = await serviceCall("POST", "/clients", {
      headers: { "x-signature": await signFor(user) },
      body: {
        name: "User with a stray bearer",
        redirect_uris: ["https://a.example/cb"],
        allowed_origins: ["https://a.example"],
        scopes: ["openid"],
      },
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { created_by: string }).created_by).toBe(user.userId);
  });
});

describe("constant-time comparison", () => {
  it("compares the presented token with every configured token through crypto.subtle.timingSafeEqual, hit or miss", async ({
    expect,
  }) => {
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    const fetcher = appFetcher();
    const body = { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 };
    for (const [token, status] of [
      [SERVICE_TOKEN, 200],
      [SECOND_SERVICE_TOKEN, 200],
      ["wrong-but-long-enough-token-0123456789", 401],
      ["x", 401],
    ] as const) {
      spy.mockClear();
      const res = await serviceCall("POST", "/oauth2/tokens/status", { token, body, fetcher });
      expect(res.status).toBe(status);
      // Two configured tokens: two comparisons, whichever matched (no early exit)…
      expect(spy).toHaveBeenCalledTimes(2);
      // …each between two SHA-256 digests (32 bytes), so length never short-circuits.
      for (const [a, b] of spy.mock.calls) {
        expect((a as ArrayBuffer).byteLength).toBe(32);
        expect((b as ArrayBuffer).byteLength).toBe(32);
      }
    }
  });

  it("matchServiceToken returns a fingerprint, never the token, and the same one for each configured token", async ({
    expect,
  }) => {
    const configured = `${SERVICE_TOKEN},${SECOND_SERVICE_TOKEN}`;
    const first = await matchServiceToken(SERVICE_TOKEN, configured);
    const second = await matchServiceToken(SECOND_SERVICE_TOKEN, configured);
    expect(first).toMatch(/^svc-[0-9a-f]{16}$/);
    expect(second).toMatch(/^svc-[0-9a-f]{16}$/);
    expect(first).not.toBe(second);
    expect(await matchServiceToken(SERVICE_TOKEN, SERVICE_TOKEN)).toBe(first);
    expect(await matchServiceToken("nope-nope-nope-nope-nope", configured)).toBeUndefined();
  });

  it("parses the configured list and the Authorization header strictly", ({ expect }) => {
    expect(parseServiceTokens(" a-token-of-sixteen! ,, short ,b-token-of-sixteen!")).toEqual([
      "a-token-of-sixteen!",
      "b-token-of-sixteen!",
    ]);
    expect(parseServiceTokens(undefined)).toEqual([]);
    expect(readBearerToken("bearer abc.DEF-_~+/=")).toBe("abc.DEF-_~+/=");
    expect(readBearerToken("Bearer a b")).toBeUndefined();
    expect(readBearerToken("Basic abc")).toBeUndefined();
    expect(readBearerToken(undefined)).toBeUndefined();
  });
});

describe("service routes: rate limiting by service token", () => {
  it("limits authenticate and consents per service token, leaves token status unlimited", async ({ expect }) => {
    // A token of this test only, so its limiter object is not shared with other tests.
    const token = `rate-limit-test-${crypto.randomUUID()}`;
    const other = `rate-limit-other-${crypto.randomUUID()}`;
    const fetcher = appFetcher({ env: { SERVICE_TOKENS: `${token},${other}`, RATE_LIMIT_SERVICE: "2" } });
    const authenticate = () =>
      serviceCall("POST", `/oauth2/clients/${crypto.randomUUID()}/authenticate`, {
        token,
        body: { client_secret: "wrong" },
        fetcher,
      });
    const first = await authenticate();
    expect(first.status).toBe(401);
    expect(first.headers.get("ratelimit-policy")).toBe('"service";q=2;w=60');
    expect((await authenticate()).status).toBe(401);
    const limited = await authenticate();
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);

    // The bucket is the token's, shared by every method of the service routes.
    const consent = await serviceCall("PUT", "/oauth2/consents", {
      token,
      body: { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), tenant_id: 1, scopes: ["openid"] },
      fetcher,
    });
    expect(consent.status).toBe(429);

    // Token status is never limited for a valid service token.
    for (let i = 0; i < 5; i += 1) {
      const status = await serviceCall("POST", "/oauth2/tokens/status", {
        token,
        body: { client_id: crypto.randomUUID(), user_id: crypto.randomUUID(), issued_at: 1 },
        fetcher,
      });
      expect(status.status).toBe(200);
    }

    // Another service token has its own bucket.
    const fresh = await serviceCall("POST", `/oauth2/clients/${crypto.randomUUID()}/authenticate`, {
      token: other,
      body: { client_secret: "wrong" },
      fetcher,
    });
    expect(fresh.status).toBe(401);
  });
});
