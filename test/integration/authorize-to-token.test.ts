import { exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { describe, it } from "vitest";
import {
  AUTHORIZE,
  authorize,
  authorizeParams,
  consentFields,
  ISSUER,
  newAuthorizeClient,
  ORIGIN,
  postDecision,
  redirectTarget,
  VERIFIER,
} from "../helpers/authorize";
import { newCaller } from "../helpers/signature";

// The whole authorization-code flow through the worker, as a client library drives it: GET
// /oauth2/authorize (signed in), the consent decision when needed, then POST /oauth2/token with
// oauth4webapi — the code, PKCE, iss, the ID token's nonce, auth_time, name and email (the
// signature's user_name and user_email, kept with the code), and a refresh.

const AS: oauth.AuthorizationServer = {
  issuer: ISSUER,
  authorization_endpoint: AUTHORIZE,
  token_endpoint: `${ORIGIN}/oauth2/token`,
  jwks_uri: `${ORIGIN}/oauth2/jwks`,
  authorization_response_iss_parameter_supported: true,
};
const toWorker = {
  [oauth.customFetch]: (url: string, init: RequestInit) => exports.default.fetch(new Request(url, init)),
} as const;

describe("authorize, then token", () => {
  it("openid alone: a code at once, redeemed by a public PKCE client; the ID token names the user", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const response = await authorize(authorizeParams(client.client_id, { scope: "openid", nonce: "n-42" }), {
      caller,
    });
    expect(response.status).toBe(302);
    const oauthClient: oauth.Client = { client_id: client.client_id, token_endpoint_auth_method: "none" };
    const callback = oauth.validateAuthResponse(
      AS,
      oauthClient,
      redirectTarget(response.headers.get("location")).url,
      "st-123",
    );
    const tokens = await oauth.processAuthorizationCodeResponse(
      AS,
      oauthClient,
      await oauth.authorizationCodeGrantRequest(
        AS,
        oauthClient,
        oauth.None(),
        callback,
        "https://app.example/cb",
        VERIFIER,
        toWorker,
      ),
      { expectedNonce: "n-42", requireIdToken: true, ...toWorker },
    );
    expect(oauth.getValidatedIdTokenClaims(tokens)).toMatchObject({
      sub: caller.userId,
      nonce: "n-42",
      name: "Test User",
      email: "user@example.com",
    });
    const request = new Request("https://api.test/", { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await oauth.validateJwtAccessToken(AS, request, ORIGIN, toWorker)).toMatchObject({
      sub: caller.userId,
      tid: caller.tenantId,
      scope: ["openid"],
    });
  });

  it("with consent: allow on the page, then a confidential client redeems with its secret and refreshes", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await authorize(authorizeParams(client.client_id, { scope: "files:read openid" }), { caller });
    expect(page.status).toBe(200);
    const fields = consentFields(await page.text());
    const decision = await postDecision(
      { request_id: fields.requestId, csrf_token: fields.csrfToken, decision: "allow" },
      { caller },
    );
    expect(decision.status).toBe(302);
    const oauthClient: oauth.Client = { client_id: client.client_id };
    const callback = oauth.validateAuthResponse(
      AS,
      oauthClient,
      redirectTarget(decision.headers.get("location")).url,
      "st-123",
    );
    const tokens = await oauth.processAuthorizationCodeResponse(
      AS,
      oauthClient,
      await oauth.authorizationCodeGrantRequest(
        AS,
        oauthClient,
        oauth.ClientSecretPost(client.client_secret),
        callback,
        "https://app.example/cb",
        VERIFIER,
        toWorker,
      ),
    );
    expect(tokens.scope).toBe("files:read openid");
    expect(oauth.getValidatedIdTokenClaims(tokens)?.email).toBe("user@example.com");
    const refreshed = await oauth.processRefreshTokenResponse(
      AS,
      oauthClient,
      await oauth.refreshTokenGrantRequest(
        AS,
        oauthClient,
        oauth.ClientSecretPost(client.client_secret),
        tokens.refresh_token as string,
        toWorker,
      ),
    );
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });
});
