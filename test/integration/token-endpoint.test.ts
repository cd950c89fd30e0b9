import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { describe, it } from "vitest";
import { call } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { storedCodesOf, storedFamiliesOf } from "../helpers/authorization-store";
import { newCaller } from "../helpers/signature";
import {
  basicAuth,
  CHALLENGE,
  codeFor,
  codeForm,
  consent,
  consentedCode,
  ISSUER,
  JWKS_URL,
  newClient,
  newUser,
  ORIGIN,
  REDIRECT_URI,
  redeem,
  refreshCall,
  statusAndBody,
  TOKEN_URL,
  tokenCall,
  VERIFIER,
} from "../helpers/token-endpoint";

// POST /oauth2/token, authorization_code grant (AS §6, §5, §10): the happy paths through
// oauth4webapi (a real client library) with each client authentication method, and every error
// of the grant and of client authentication, parameter by parameter.

const AS: oauth.AuthorizationServer = {
  issuer: ISSUER,
  token_endpoint: TOKEN_URL,
  jwks_uri: JWKS_URL,
  authorization_response_iss_parameter_supported: true,
};

const toWorker = {
  [oauth.customFetch]: (url: string, init: RequestInit) => exports.default.fetch(new Request(url, init)),
  [oauth.allowInsecureRequests]: true,
} as const;

function callback(client: oauth.Client, code: string): URLSearchParams {
  return oauth.validateAuthResponse(AS, client, new URLSearchParams({ code, iss: ISSUER }), oauth.skipStateCheck);
}

describe("authorization_code through oauth4webapi", () => {
  it.for([
    ["client_secret_post", (secret: string) => oauth.ClientSecretPost(secret)],
    ["client_secret_basic", (secret: string) => oauth.ClientSecretBasic(secret)],
  ] as const)("%s: tokens that validate, an ID token with nonce and auth_time", async ([, auth], { expect }) => {
    const authTime = Date.now() - 7_000;
    const { client, user, code } = await consentedCode(
      {},
      { nonce: "n-0S6_WzA2Mj", authTime, userName: "Ada Lovelace", userEmail: "ada@example.com" },
    );
    const oauthClient: oauth.Client = { client_id: client.client_id };
    const response = await oauth.authorizationCodeGrantRequest(
      AS,
      oauthClient,
      auth(client.client_secret),
      callback(oauthClient, code),
      REDIRECT_URI,
      VERIFIER,
      toWorker,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("pragma")).toBe("no-cache");
    const result = await oauth.processAuthorizationCodeResponse(AS, oauthClient, response, {
      expectedNonce: "n-0S6_WzA2Mj",
      requireIdToken: true,
      ...toWorker,
    });
    expect(result.token_type).toBe("bearer");
    expect(result.scope).toBe("files:read openid");
    expect(result.expires_in).toBe(3600);
    expect(result.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const idClaims = oauth.getValidatedIdTokenClaims(result);
    expect(idClaims).toMatchObject({
      iss: ISSUER,
      sub: user.userId,
      aud: client.client_id,
      azp: client.client_id,
      nonce: "n-0S6_WzA2Mj",
      auth_time: Math.floor(authTime / 1000),
      name: "Ada Lovelace",
      email: "ada@example.com",
    });

    const request = new Request("https://api.test/", { headers: { authorization: `Bearer ${result.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(AS, request, ORIGIN, toWorker);
    const [family] = await storedFamiliesOf(client.client_id);
    expect(claims).toMatchObject({
      iss: ISSUER,
      aud: ORIGIN,
      sub: user.userId,
      client_id: client.client_id,
      cid: client.client_id,
      tid: user.tenant,
      scope: ["files:read", "openid"],
      sid: family?.family_id,
    });
  });

  it("none: a PKCE client redeems with its verifier and refreshes without a secret", async ({ expect }) => {
    const { client, code } = await consentedCode({ allow_pkce: true });
    const oauthClient: oauth.Client = { client_id: client.client_id, token_endpoint_auth_method: "none" };
    const response = await oauth.authorizationCodeGrantRequest(
      AS,
      oauthClient,
      oauth.None(),
      callback(oauthClient, code),
      REDIRECT_URI,
      VERIFIER,
      toWorker,
    );
    const result = await oauth.processAuthorizationCodeResponse(AS, oauthClient, response, {
      expectedNonce: "nonce-1",
      ...toWorker,
    });
    expect(result.refresh_token).toBeTruthy();
    const refreshed = await oauth.processRefreshTokenResponse(
      AS,
      oauthClient,
      await oauth.refreshTokenGrantRequest(AS, oauthClient, oauth.None(), result.refresh_token as string, toWorker),
    );
    expect(refreshed.access_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(result.refresh_token);
    expect(refreshed.id_token).toBeUndefined();
  });

  it("without openid: no ID token; a code without a challenge needs no verifier (confidential client)", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode({}, { scopes: ["files:read"], codeChallenge: null });
    const body = await redeem(client, code, { code_verifier: undefined });
    expect(body.id_token).toBeUndefined();
    expect(body.scope).toBe("files:read");
  });

  it("an openid-only code needs no stored consent (AS §4 step 5)", async ({ expect }) => {
    const client = await newClient();
    const code = await codeFor(client.client_id, newUser(), { scopes: ["openid"] });
    const body = await redeem(client, code);
    expect(body.scope).toBe("openid");
    expect(body.id_token).toBeTruthy();
  });
});
