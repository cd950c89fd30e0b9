import { exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import * as oauth from "oauth4webapi";
import { describe, type ExpectStatic, it } from "vitest";
import { type Caller, newCaller, signFor } from "../helpers/signature";
import { ISSUER, JWKS_URL, newClient, ORIGIN, statusAndBody, TOKEN_URL, tokenCall } from "../helpers/token-endpoint";

// grant_type=personal_access_token (AS §6, DocSpace's developer token): a client authenticated by
// its secret and the signed-in user's x-signature (minted for this origin) get an access token —
// no refresh token, no ID token, no consent. Guests are refused.

const AS: oauth.AuthorizationServer = { issuer: ISSUER, token_endpoint: TOKEN_URL, jwks_uri: JWKS_URL };
const toWorker = {
  [oauth.customFetch]: (url: string, init: RequestInit) => exports.default.fetch(new Request(url, init)),
  [oauth.allowInsecureRequests]: true,
} as const;

type Client = Awaited<ReturnType<typeof newClient>>;

async function patCall(
  client: Client,
  options: { scope?: string; headers?: Record<string, string>; secret?: boolean } = {},
) {
  const form: Record<string, string> = { grant_type: "personal_access_token", client_id: client.client_id };
  if (options.secret !== false) form.client_secret = client.client_secret;
  if (options.scope !== undefined) form.scope = options.scope;
  return tokenCall(form, { headers: options.headers });
}

async function expectError(expect: ExpectStatic, response: Response, status: number, error: string) {
  const { status: got, body } = await statusAndBody(response);
  expect({ status: got, error: body.error }).toEqual({ status, error });
  expect(response.headers.get("cache-control")).toBe("no-store");
}

describe("personal_access_token", () => {
  it.for(["USER", "ADMIN"] as const)(
    "a %s signed in (header): an access token only, with all the client's scopes",
    async (role, { expect }) => {
      const client = await newClient({ scopes: ["files:read", "files:write", "openid"] });
      const user: Caller = newCaller(role);
      const response = await patCall(client, { headers: { "x-signature": await signFor(user) } });
      expect(response.status).toBe(200);
      expect(response.headers.get("cache-control")).toBe("no-store");
      const body = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "scope", "token_type"]);
      expect(body.scope).toBe("files:read files:write openid");
      const request = new Request("https://api.test/", { headers: { authorization: `Bearer ${body.access_token}` } });
      const claims = await oauth.validateJwtAccessToken(AS, request, ORIGIN, toWorker);
      expect(claims).toMatchObject({ sub: user.userId, tid: user.tenantId, client_id: client.client_id });
      expect(claims.sid).toBeUndefined();
    },
  );

  it("the signature as a cookie, a narrower scope, client_secret_basic", async ({ expect }) => {
    const client = await newClient();
    const user = newCaller("USER");
    const response = await tokenCall(
      { grant_type: "personal_access_token", scope: "files:read" },
      {
        basic: { id: client.client_id, secret: client.client_secret },
        headers: { cookie: `other=1; x-signature=${await signFor(user)}` },
      },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe("files:read");
    expect(decodeJwt(body.access_token).scope).toEqual(["files:read"]);
  });

  it("a scope the client was not registered with: invalid_scope", async ({ expect }) => {
    const client = await newClient({ scopes: ["files:read"] });
    const headers = { "x-signature": await signFor(newCaller("USER")) };
    await expectError(
      expect,
      await patCall(client, { scope: "files:read files:write", headers }),
      400,
      "invalid_scope",
    );
  });

  it("a guest: 400 access_denied", async ({ expect }) => {
    const client = await newClient();
    const headers = { "x-signature": await signFor(newCaller("GUEST")) };
    await expectError(expect, await patCall(client, { headers }), 400, "access_denied");
  });

  it.for([
    ["no signature", async () => ({})],
    ["a forged signature", async () => ({ "x-signature": `${await signFor(newCaller("USER"))}x` })],
    [
      "an expired signature",
      async () => ({ "x-signature": await signFor(newCaller("USER"), { exp: Math.floor(Date.now() / 1000) - 120 }) }),
    ],
    [
      "a signature minted for another tenant's origin (AS §2)",
      async () => ({ "x-signature": await signFor(newCaller("USER"), { tenant_url: "http://other-tenant.test" }) }),
    ],
  ] as const)("%s: invalid_grant", async ([, headers], { expect }) => {
    const client = await newClient();
    await expectError(expect, await patCall(client, { headers: await headers() }), 400, "invalid_grant");
  });

  it("without the client's secret (none): 401 invalid_client, even for a PKCE client", async ({ expect }) => {
    const client = await newClient({ allow_pkce: true });
    const headers = { "x-signature": await signFor(newCaller("USER")) };
    await expectError(expect, await patCall(client, { headers, secret: false }), 401, "invalid_client");
  });
});
