import { exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import * as oauth from "oauth4webapi";
import { describe, type ExpectStatic, it } from "vitest";
import { call } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { storedFamiliesOf, storedTokensOf } from "../helpers/authorization-store";
import {
  codeForm,
  consentedCode,
  ISSUER,
  JWKS_URL,
  ORIGIN,
  redeem,
  refreshCall,
  statusAndBody,
  TOKEN_URL,
  tokenCall,
} from "../helpers/token-endpoint";

// grant_type=refresh_token (AS §5.2, §6): rotation through oauth4webapi, reuse detection that
// revokes the whole family (the newest token included), narrowing but never widening scope, and
// the client and consent re-checked at every refresh.

const AS: oauth.AuthorizationServer = { issuer: ISSUER, token_endpoint: TOKEN_URL, jwks_uri: JWKS_URL };
const toWorker = {
  [oauth.customFetch]: (url: string, init: RequestInit) => exports.default.fetch(new Request(url, init)),
  [oauth.allowInsecureRequests]: true,
} as const;

async function expectInvalid(expect: ExpectStatic, response: Response, error = "invalid_grant") {
  const { status, body } = await statusAndBody(response);
  expect({ status, error: body.error }).toEqual({ status: 400, error });
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("pragma")).toBe("no-cache");
  return body;
}

/** A redeemed code: the client, the user and the first token response. */
async function grant(clientOverrides: Record<string, unknown> = {}) {
  const { client, user, code } = await consentedCode(clientOverrides);
  const first = await redeem(client, code);
  return { client, user, first, refreshToken: first.refresh_token as string };
}

describe("rotation", () => {
  it("oauth4webapi refreshes with client_secret_basic: a new access token of the same family, a new refresh token", async ({
    expect,
  }) => {
    const { client, user, first, refreshToken } = await grant();
    const oauthClient: oauth.Client = { client_id: client.client_id };
    const response = await oauth.refreshTokenGrantRequest(
      AS,
      oauthClient,
      oauth.ClientSecretBasic(client.client_secret),
      refreshToken,
      toWorker,
    );
    expect(response.headers.get("cache-control")).toBe("no-store");
    const result = await oauth.processRefreshTokenResponse(AS, oauthClient, response);
    expect(result.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(result.refresh_token).not.toBe(refreshToken);
    expect(result.scope).toBe("files:read openid");
    expect(result.id_token).toBeUndefined();
    const request = new Request("https://api.test/", { headers: { authorization: `Bearer ${result.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(AS, request, ORIGIN, toWorker);
    expect(claims).toMatchObject({ sub: user.userId, client_id: client.client_id, tid: user.tenant });
    expect(claims.sid).toBe(decodeJwt(first.access_token as string).sid);

    // The successor rotates in turn.
    const again = await refreshCall(client, result.refresh_token as string);
    expect(again.status).toBe(200);
  });

  it("presenting a rotated token is reuse: invalid_grant, and the family is revoked (the newest token fails)", async ({
    expect,
  }) => {
    const { client, refreshToken } = await grant();
    const second = (await (await refreshCall(client, refreshToken)).json()) as { refresh_token: string };
    const third = (await (await refreshCall(client, second.refresh_token)).json()) as { refresh_token: string };
    await expectInvalid(expect, await refreshCall(client, refreshToken));
    const [family] = await storedFamiliesOf(client.client_id);
    expect(family).toMatchObject({ revoked_reason: "reuse" });
    await expectInvalid(expect, await refreshCall(client, third.refresh_token));
    expect(await storedTokensOf(family?.family_id as string)).toHaveLength(3);
  });

  it("scope narrows the new access token; the refresh token keeps the grant's scopes", async ({ expect }) => {
    const { client, refreshToken } = await grant();
    const narrowed = await refreshCall(client, refreshToken, { scope: "files:read" });
    expect(narrowed.status).toBe(200);
    const body = (await narrowed.json()) as { access_token: string; refresh_token: string; scope: string };
    expect(body.scope).toBe("files:read");
    expect(decodeJwt(body.access_token).scope).toEqual(["files:read"]);
    const next = (await (await refreshCall(client, body.refresh_token)).json()) as { scope: string };
    expect(next.scope).toBe("files:read openid");
  });

  it("a wider scope is invalid_scope and does not consume the token", async ({ expect }) => {
    const { client, refreshToken } = await grant({ scopes: ["files:read", "files:write", "openid"] });
    await expectInvalid(
      expect,
      await refreshCall(client, refreshToken, { scope: "files:read files:write" }),
      "invalid_scope",
    );
    expect((await refreshCall(client, refreshToken)).status).toBe(200);
  });
});

describe("errors", () => {
  it("no refresh_token: invalid_request; an unknown one: invalid_grant", async ({ expect }) => {
    const { client } = await grant();
    const missing = await tokenCall({
      grant_type: "refresh_token",
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    await expectInvalid(expect, missing, "invalid_request");
    await expectInvalid(expect, await refreshCall(client, "A".repeat(43)));
  });

  it("another client's refresh token: invalid_grant, and it still works for its own client", async ({ expect }) => {
    const mine = await grant();
    const theirs = await grant();
    await expectInvalid(expect, await refreshCall(theirs.client, mine.refreshToken));
    await expectInvalid(expect, await refreshCall(theirs.client, mine.refreshToken, { scope: "openid" }));
    expect((await refreshCall(mine.client, mine.refreshToken)).status).toBe(200);
  });

  it("consent revoked since the grant: invalid_grant and the family is revoked", async ({ expect }) => {
    const { client, user, refreshToken } = await grant();
    const revoked = await call("DELETE", `/clients/${client.client_id}/revoke`, {
      caller: { userId: user.userId, tenantId: user.tenant, role: "USER" },
    });
    expect(revoked.status).toBeLessThan(300);
    await expectInvalid(expect, await refreshCall(client, refreshToken));
    const [family] = await storedFamiliesOf(client.client_id);
    expect(family?.revoked_on).not.toBeNull();
    // No live token is left in the family.
    await expectInvalid(expect, await refreshCall(client, refreshToken));
  });

  it("a disabled client: invalid_grant, and the token is not consumed", async ({ expect }) => {
    const { client, refreshToken } = await grant();
    const off = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller: client.owner,
      body: { status: false },
    });
    expect(off.status).toBe(200);
    const body = await expectInvalid(expect, await refreshCall(client, refreshToken));
    expect(body.error_description).toBe("The client is disabled.");
    await call("PATCH", `/clients/${client.client_id}/activation`, { caller: client.owner, body: { status: true } });
    expect((await refreshCall(client, refreshToken)).status).toBe(200);
  });

  it("a family past REFRESH_TOKEN_TTL_SECONDS: invalid_grant", async ({ expect }) => {
    const clock = manualClock(Date.now());
    const fetcher = appFetcher({ clock: clock.now });
    const { client, code } = await consentedCode({}, { now: clock.now() });
    const first = (await (await tokenCall(codeForm(client, code), { fetcher })).json()) as { refresh_token: string };
    clock.advance(2_592_000_000);
    const response = await tokenCall(
      {
        grant_type: "refresh_token",
        refresh_token: first.refresh_token,
        client_id: client.client_id,
        client_secret: client.client_secret,
      },
      { fetcher },
    );
    await expectInvalid(expect, response);
  });
});
