import { env, exports } from "cloudflare:workers";
import * as openid from "openid-client";
import { afterEach, describe, it, vi } from "vitest";
import { appFetcher, manualClock } from "../helpers/app";
import { faultyD1, faultyKV } from "../helpers/faults";
import { discover, grant, INTROSPECT_URL, introspect, isActive, manage, postForm } from "../helpers/introspection";
import { codeFor, codeForm, ISSUER, ORIGIN, refreshCall, tokenCall } from "../helpers/token-endpoint";

// POST /oauth2/introspect (RFC 7662, AS §7): active answers with exactly the listed fields, for
// openid-client and for DocSpace's bare unauthenticated form POST; every way a token stops being
// active answers exactly {"active":false}.

afterEach(() => {
  vi.restoreAllMocks();
});

const ACCESS_FIELDS = [
  "active",
  "aud",
  "client_id",
  "exp",
  "iat",
  "iss",
  "jti",
  "nbf",
  "scope",
  "sub",
  "tid",
  "token_type",
];
const REFRESH_FIELDS = ["active", "client_id", "exp", "iat", "iss", "scope", "sub", "tid", "token_type"];

describe("active tokens", () => {
  it("openid-client's tokenIntrospection: an access token and a refresh token, with exactly the listed fields", async ({
    expect,
  }) => {
    const g = await grant();
    const config = await discover(g.client);
    const access = await openid.tokenIntrospection(config, g.accessToken);
    expect(Object.keys(access).sort()).toEqual(ACCESS_FIELDS);
    expect(access).toMatchObject({
      active: true,
      scope: "files:read openid",
      client_id: g.client.client_id,
      sub: g.user.userId,
      iss: ISSUER,
      aud: ORIGIN,
      token_type: "access_token",
      tid: g.user.tenant,
    });
    expect(Number(access.exp) - Number(access.iat)).toBe(3600);
    expect(access.nbf).toBe(access.iat);

    const refresh = await openid.tokenIntrospection(config, g.refreshToken, { token_type_hint: "refresh_token" });
    expect(Object.keys(refresh).sort()).toEqual(REFRESH_FIELDS);
    expect(refresh).toMatchObject({
      active: true,
      scope: "files:read openid",
      client_id: g.client.client_id,
      sub: g.user.userId,
      iss: ISSUER,
      token_type: "refresh_token",
      tid: g.user.tenant,
    });
    expect(Number(refresh.exp)).toBeGreaterThan(Number(access.exp));
  });

  it("a bare unauthenticated form POST (DocSpace's .NET APIs): the same answers, no-store, whatever the hint", async ({
    expect,
  }) => {
    const g = await grant();
    const response = await postForm(INTROSPECT_URL, { token: g.accessToken });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(ACCESS_FIELDS);
    expect(await introspect(g.accessToken, { hint: "refresh_token" })).toEqual(body);
    expect((await introspect(g.refreshToken)).token_type).toBe("refresh_token");
    expect((await introspect(g.refreshToken, { hint: "access_token" })).token_type).toBe("refresh_token");
  });

  it("client_secret_basic works too; credentials that do not authenticate are 401 invalid_client", async ({
    expect,
  }) => {
    const g = await grant();
    const ok = await postForm(
      INTROSPECT_URL,
      { token: g.accessToken },
      { basic: { id: g.client.client_id, secret: g.client.client_secret } },
    );
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { active: boolean }).active).toBe(true);

    for (const response of [
      await postForm(INTROSPECT_URL, { token: g.accessToken }, { basic: { id: g.client.client_id, secret: "wrong" } }),
      await postForm(INTROSPECT_URL, { token: g.accessToken, client_id: g.client.client_id, client_secret: "wrong" }),
      // client_id alone (none) is for PKCE clients only.
      await postForm(INTROSPECT_URL, { token: g.accessToken, client_id: g.client.client_id }),
      await postForm(INTROSPECT_URL, { token: g.accessToken }, { headers: { authorization: "Bearer x" } }),
    ]) {
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(((await response.json()) as { error: string }).error).toBe("invalid_client");
    }
    const config = await discover(g.client, openid.ClientSecretPost("wrong"));
    await expect(openid.tokenIntrospection(config, g.accessToken)).rejects.toMatchObject({ status: 401 });
  });

  it("a missing token is 400 invalid_request", async ({ expect }) => {
    const response = await postForm(INTROSPECT_URL, {});
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_request", error_description: "token is required." });
  });
});

describe("management revocations make tokens inactive", () => {
  it("client deleted", async ({ expect }) => {
    const g = await grant();
    expect((await manage.deleteClient(g)).status).toBe(200);
    expect(await isActive(g.accessToken)).toBe(false);
    expect(await isActive(g.refreshToken)).toBe(false);
  });

  it("client disabled, and active again after re-enabling, unless revoke_tokens", async ({ expect }) => {
    const g = await grant();
    expect((await manage.setEnabled(g, false)).status).toBe(200);
    expect(await isActive(g.accessToken)).toBe(false);
    expect(await isActive(g.refreshToken)).toBe(false);
    expect((await manage.setEnabled(g, true)).status).toBe(200);
    expect(await isActive(g.accessToken)).toBe(true);
    expect(await isActive(g.refreshToken)).toBe(true);

    expect((await manage.setEnabled(g, false, true)).status).toBe(200);
    expect((await manage.setEnabled(g, true)).status).toBe(200);
    expect(await isActive(g.accessToken)).toBe(false);
    expect(await isActive(g.refreshToken)).toBe(false);
  });

  it("activation with revoke_tokens while enabled", async ({ expect }) => {
    const g = await grant();
    expect((await manage.setEnabled(g, true, true)).status).toBe(200);
    expect(await isActive(g.accessToken)).toBe(false);
    expect(await isActive(g.refreshToken)).toBe(false);
  });

  it("DELETE /clients/{id}/tokens", async ({ expect }) => {
    const g = await grant();
    expect((await manage.revokeAllTokens(g)).status).toBe(200);
    expect(await isActive(g.accessToken)).toBe(false);
    expect(await isActive(g.refreshToken)).toBe(false);
  });

  it("revokeUserClient: that user's tokens only", async ({ expect }) => {
    const mine = await grant();
    const other = await grant({ client: mine.client });
    expect((await manage.revokeUserClient(mine)).status).toBe(200);
    expect(await isActive(mine.accessToken)).toBe(false);
    expect(await isActive(mine.refreshToken)).toBe(false);
    expect(await isActive(other.accessToken)).toBe(true);
    expect(await isActive(other.refreshToken)).toBe(true);
  });
});

describe("refresh rotation and reuse", () => {
  it("a rotated refresh token is inactive, its successor active; reuse revokes the family and its access tokens", async ({
    expect,
  }) => {
    const g = await grant();
    const rotated = await refreshCall(g.client, g.refreshToken);
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as { access_token: string; refresh_token: string };
    expect(await isActive(g.refreshToken)).toBe(false);
    expect(await isActive(next.refresh_token)).toBe(true);
    expect(await isActive(next.access_token)).toBe(true);
    expect(await isActive(g.accessToken)).toBe(true);

    expect((await refreshCall(g.client, g.refreshToken)).status).toBe(400);
    for (const token of [g.accessToken, next.access_token, next.refresh_token])
      expect(await isActive(token)).toBe(false);
  });
});

describe("tokens that were never active here", () => {
  it("a tampered token, garbage, a token of another issuer (origin)", async ({ expect }) => {
    const g = await grant();
    const [header, payload, signature] = g.accessToken.split(".") as [string, string, string];
    const flipped = `${payload.slice(0, 10)}${payload[10] === "A" ? "B" : "A"}${payload.slice(11)}`;
    expect(await isActive(`${header}.${flipped}.${signature}`)).toBe(false);
    expect(await isActive(`${g.refreshToken}x`)).toBe(false);
    expect(await isActive("not a token")).toBe(false);
    expect(await isActive("a.b.c")).toBe(false);
    const otherOrigin = "http://other-tenant.example/oauth2/introspect";
    expect(await isActive(g.accessToken, { url: otherOrigin })).toBe(false);
    expect(await isActive(g.accessToken)).toBe(true);
  });

  it("an expired access token (manual clock)", async ({ expect }) => {
    const clock = manualClock(Date.now());
    const fetcher = appFetcher({ clock: clock.now });
    const g = await grant();
    const code = await codeFor(g.client.client_id, g.user, { now: clock.now() });
    const redeemed = await tokenCall(codeForm(g.client, code), { fetcher });
    expect(redeemed.status).toBe(200);
    const { access_token } = (await redeemed.json()) as { access_token: string };
    clock.advance(3599_000);
    expect(await isActive(access_token, { fetcher })).toBe(true);
    clock.advance(1_000);
    expect(await isActive(access_token, { fetcher })).toBe(false);
  });

  it("CORS: a preflight is answered, and an authenticated client's allowed origin is reflected", async ({ expect }) => {
    const origin = "https://spa.example";
    const g = await grant({ clientOverrides: { allowed_origins: [origin] } });
    const preflight = await exports.default.fetch(
      new Request(INTROSPECT_URL, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
    const authenticated = await postForm(
      INTROSPECT_URL,
      { token: g.accessToken, client_id: g.client.client_id, client_secret: g.client.client_secret },
      { headers: { origin } },
    );
    expect(authenticated.headers.get("access-control-allow-origin")).toBe(origin);
    const anonymous = await postForm(INTROSPECT_URL, { token: g.accessToken }, { headers: { origin } });
    expect(anonymous.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("the stores", () => {
  it("an active access token costs exactly one KV read (the bulk get of its five entries)", async ({ expect }) => {
    const g = await grant();
    const { kv, counter } = faultyKV(env.REVOCATIONS);
    const fetcher = appFetcher({ env: { REVOCATIONS: kv } });
    expect(await isActive(g.accessToken, { fetcher })).toBe(true);
    expect(counter.calls).toEqual(["get"]);
  });

  it("KV or D1 unreadable is 503 temporarily_unavailable with no-store, never inactive", async ({ expect }) => {
    const g = await grant();
    const noKv = appFetcher({ env: { REVOCATIONS: faultyKV(env.REVOCATIONS, { failFrom: 1 }).kv } });
    const noD1 = appFetcher({ env: { DB: faultyD1(env.DB, { failFrom: 1 }).db } });
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    for (const [fetcher, form] of [
      [noKv, { token: g.accessToken }],
      [noD1, { token: g.accessToken }],
      // The refresh lookup first: its own D1 read fails.
      [noD1, { token: g.refreshToken, token_type_hint: "refresh_token" }],
    ] as const) {
      const response = await postForm(INTROSPECT_URL, form, { fetcher });
      expect(response.status).toBe(503);
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(((await response.json()) as { error: string }).error).toBe("temporarily_unavailable");
    }
  });
});
