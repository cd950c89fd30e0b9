import { exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { describe, it } from "vitest";
import { grant, manage, postForm, REVOKE_URL, USERINFO_URL } from "../helpers/introspection";
import { codeFor, consent, ISSUER, newClient, newUser, redeem, refreshCall } from "../helpers/token-endpoint";

// GET and POST /oauth2/userinfo (OIDC Core §5.3): `sub` (and `name`, `email` when the code carried
// them) for an active access token with openid,
// active by introspection's own rule; RFC 6750 §3 errors otherwise.

const toWorker = (url: string | URL, init?: RequestInit) => exports.default.fetch(new Request(url, init));
const options = { [oauth.customFetch]: toWorker, [oauth.allowInsecureRequests]: true } as const;

async function authorizationServer(): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(ISSUER);
  return oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...options }),
  );
}

const userinfo = (token: string | undefined, init: { method?: string; origin?: string } = {}) => {
  const headers = new Headers();
  if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
  if (init.origin) headers.set("origin", init.origin);
  return exports.default.fetch(new Request(USERINFO_URL, { method: init.method ?? "GET", headers }));
};

describe("GET and POST /oauth2/userinfo", () => {
  it("oauth4webapi userInfoRequest + processUserInfoResponse: sub, no-store", async ({ expect }) => {
    const g = await grant();
    const as = await authorizationServer();
    expect(as.userinfo_endpoint).toBe(USERINFO_URL);
    const client = { client_id: g.client.client_id };
    const response = await oauth.userInfoRequest(as, client, g.accessToken, options);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const claims = await oauth.processUserInfoResponse(as, client, g.user.userId, response);
    expect(claims).toEqual({ sub: g.user.userId });

    const posted = await userinfo(g.accessToken, { method: "POST" });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toEqual({ sub: g.user.userId });
  });

  it("name and email as the x-signature carried them at consent, for the code's tokens and after a refresh", async ({
    expect,
  }) => {
    const client = await newClient();
    const user = newUser();
    await consent(client.client_id, user, ["files:read", "openid"]);
    const code = await codeFor(client.client_id, user, { userName: "Jane Doe", userEmail: "jane@example.com" });
    const tokens = await redeem(client, code);
    const expected = { sub: user.userId, name: "Jane Doe", email: "jane@example.com" };
    expect(await (await userinfo(String(tokens.access_token))).json()).toEqual(expected);
    const refreshed = (await (await refreshCall(client, String(tokens.refresh_token))).json()) as Record<
      string,
      string
    >;
    expect(await (await userinfo(refreshed.access_token)).json()).toEqual(expected);
    const as = await authorizationServer();
    const response = await oauth.userInfoRequest(
      as,
      { client_id: client.client_id },
      refreshed.access_token as string,
      options,
    );
    expect(await oauth.processUserInfoResponse(as, { client_id: client.client_id }, user.userId, response)).toEqual(
      expected,
    );
  });

  it("a revoked token (RFC 7009 or a management revocation) is 401 invalid_token with a Bearer challenge", async ({
    expect,
  }) => {
    const g = await grant();
    const revoked = await postForm(REVOKE_URL, {
      token: g.accessToken,
      client_id: g.client.client_id,
      client_secret: g.client.client_secret,
    });
    expect(revoked.status).toBe(200);
    const other = await grant();
    expect((await manage.revokeUserClient(other)).status).toBe(200);
    for (const token of [g.accessToken, other.accessToken, `${g.accessToken}x`, "not-a-jwt"]) {
      const response = await userinfo(token);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="oauth2", error="invalid_token"');
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(((await response.json()) as { error: string }).error).toBe("invalid_token");
    }
    const as = await authorizationServer();
    const client = { client_id: g.client.client_id };
    const response = await oauth.userInfoRequest(as, client, g.accessToken, options);
    await expect(oauth.processUserInfoResponse(as, client, g.user.userId, response)).rejects.toBeInstanceOf(
      oauth.WWWAuthenticateChallengeError,
    );
  });

  it("no token: 401 with a bare Bearer challenge; a malformed Authorization: invalid_token", async ({ expect }) => {
    const missing = await userinfo(undefined);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="oauth2"');
    const basic = await exports.default.fetch(new Request(USERINFO_URL, { headers: { authorization: "Basic YTpi" } }));
    expect(basic.status).toBe(401);
    expect(basic.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("a token without openid: 403 insufficient_scope", async ({ expect }) => {
    const g = await grant({ scopes: ["files:read"] });
    const response = await userinfo(g.accessToken);
    expect(response.status).toBe(403);
    expect(response.headers.get("www-authenticate")).toBe(
      'Bearer realm="oauth2", error="insufficient_scope", scope="openid"',
    );
    expect(((await response.json()) as { error: string }).error).toBe("insufficient_scope");
  });

  it("CORS: GET in the preflight; the token's client's allowed origin reflected", async ({ expect }) => {
    const origin = "https://spa.example";
    const g = await grant({ clientOverrides: { allowed_origins: [origin] } });
    const preflight = await exports.default.fetch(
      new Request(USERINFO_URL, { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-methods")).toBe("GET, POST");
    const response = await userinfo(g.accessToken, { origin });
    expect(response.headers.get("access-control-allow-origin")).toBe(origin);
    const foreign = await userinfo(g.accessToken, { origin: "https://evil.example" });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
  });
});
