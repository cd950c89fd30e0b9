import { exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import { describe, it } from "vitest";
import { call, createClientAs } from "../helpers/api";
import { type Caller, newCaller, signFor } from "../helpers/signature";

// The whole authorization-code flow driven by the field's strict clients, against the Worker through
// `customFetch` (AS §1–§6): openid-client discovers the issuer, builds the authorize URL, the user
// (an x-signature cookie) allows on the consent page, openid-client redeems the code with PKCE and
// validates the ID token, refreshes, and oauth4webapi validates the access token as RFC 9068 asks.
// The signature's tenant_url is this origin, as DocSpace's would be (AS §2).

const ORIGIN = "http://localhost:8092";
const REDIRECT_URI = "https://app.example/callback";

const toWorker: openid.CustomFetch = (url, init) =>
  exports.default.fetch(new Request(url, init as RequestInit)) as ReturnType<openid.CustomFetch>;

async function discover(clientId: string, auth: openid.ClientAuth): Promise<openid.Configuration> {
  return openid.discovery(new URL(`${ORIGIN}/oauth2`), clientId, undefined, auth, {
    execute: [openid.allowInsecureRequests],
    [openid.customFetch]: toWorker,
  });
}

/** The browser: GET the authorize URL with the user's cookie; the Location it is finally sent to. */
async function authorizeAsUser(user: Caller, url: URL): Promise<URL> {
  const cookie = `x-signature=${await signFor(user)}`;
  const first = await exports.default.fetch(new Request(url, { headers: { cookie }, redirect: "manual" }));
  if (first.status === 302) return new URL(first.headers.get("location") ?? "");
  if (first.status !== 200) throw new Error(`authorize answered ${first.status}: ${await first.text()}`);
  // The consent page: submit its form with every hidden field and decision=allow, as a browser would.
  const html = await first.text();
  const form = new URLSearchParams();
  for (const match of html.matchAll(/<input\b[^>]*>/g)) {
    const tag = match[0];
    if (!/type="hidden"/.test(tag)) continue;
    const name = /name="([^"]*)"/.exec(tag)?.[1];
    const value = /value="([^"]*)"/.exec(tag)?.[1];
    if (name !== undefined && value !== undefined) form.append(name, value);
  }
  form.append("decision", "allow");
  const decided = await exports.default.fetch(
    new Request(`${ORIGIN}/oauth2/authorize`, {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: form,
      redirect: "manual",
    }),
  );
  if (decided.status !== 302) throw new Error(`decision answered ${decided.status}: ${await decided.text()}`);
  return new URL(decided.headers.get("location") ?? "");
}

async function startFlow(config: openid.Configuration, scope: string) {
  const verifier = openid.randomPKCECodeVerifier();
  const state = openid.randomState();
  const nonce = openid.randomNonce();
  const url = openid.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    nonce,
    code_challenge: await openid.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  });
  return { url, verifier, state, nonce };
}

describe("openid-client drives the authorization-code flow end to end", () => {
  it("discovers, authorizes with consent, redeems with PKCE, validates the ID token and refreshes", async ({
    expect,
  }) => {
    const owner = newCaller("ADMIN");
    const user = newCaller("USER", owner.tenantId);
    const client = await createClientAs(owner, {
      redirect_uris: [REDIRECT_URI],
      scopes: ["files:read", "files:write", "openid"],
    });
    const config = await discover(client.client_id, openid.ClientSecretPost(client.client_secret));
    expect(config.serverMetadata().issuer).toBe(`${ORIGIN}/oauth2`);

    const flow = await startFlow(config, "openid files:read");
    const callback = await authorizeAsUser(user, flow.url);
    expect(callback.searchParams.get("iss")).toBe(`${ORIGIN}/oauth2`);

    const tokens = await openid.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.scope).toBe("openid files:read");
    const idClaims = tokens.claims();
    expect(idClaims?.sub).toBe(user.userId);
    expect(idClaims?.aud).toBe(client.client_id);
    expect(idClaims?.nonce).toBe(flow.nonce);

    // A resource server's view: the access token is an RFC 9068 JWT with DocSpace's claims.
    const as = config.serverMetadata();
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(`${ORIGIN}/api/2.0/files`, { headers: { authorization: `Bearer ${tokens.access_token}` } }),
      ORIGIN,
      { [oauth.customFetch]: toWorker, [oauth.allowInsecureRequests]: true },
    );
    expect(claims).toMatchObject({ client_id: client.client_id, cid: client.client_id, sub: user.userId });
    expect(claims.scope).toEqual(["openid", "files:read"]);
    expect(claims.tid).toBe(user.tenantId);

    // The consent is the user's, listed where DocSpace lists consents.
    const consents = await call("GET", "/clients/consents?limit=50", { caller: user });
    expect(consents.status).toBe(200);
    expect(JSON.stringify(await consents.json())).toContain(client.client_id);

    // Refresh rotates; the rotated token is then reuse and fails.
    const refreshToken = tokens.refresh_token ?? "";
    expect(refreshToken).not.toBe("");
    const refreshed = await openid.refreshTokenGrant(config, refreshToken);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(refreshToken);
    await expect(openid.refreshTokenGrant(config, refreshToken)).rejects.toMatchObject({ error: "invalid_grant" });
    // …and reuse revoked the family: the newest token fails too (AS §5.2).
    await expect(openid.refreshTokenGrant(config, refreshed.refresh_token ?? "")).rejects.toMatchObject({
      error: "invalid_grant",
    });

    // A second authorization for scopes already consented to skips the page.
    const again = await startFlow(config, "files:read");
    const direct = await exports.default.fetch(
      new Request(again.url, { headers: { cookie: `x-signature=${await signFor(user)}` }, redirect: "manual" }),
    );
    expect(direct.status).toBe(302);
    expect(new URL(direct.headers.get("location") ?? "").searchParams.get("code")).toBeTruthy();
  });

  it("serves a public PKCE client that authenticates with none, and gives it a rotating refresh token", async ({
    expect,
  }) => {
    const owner = newCaller("ADMIN");
    const user = newCaller("GUEST", owner.tenantId);
    const client = await createClientAs(owner, {
      redirect_uris: [REDIRECT_URI],
      scopes: ["files:read", "openid"],
      allow_pkce: true,
    });
    const config = await discover(client.client_id, openid.None());
    const flow = await startFlow(config, "files:read");
    const callback = await authorizeAsUser(user, flow.url);
    const tokens = await openid.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
    });
    expect(tokens.scope).toBe("files:read");
    expect(tokens.id_token).toBeUndefined();
    const refreshed = await openid.refreshTokenGrant(config, tokens.refresh_token ?? "");
    expect(refreshed.access_token).toBeTruthy();
  });

  it("refuses a code redeemed with the wrong PKCE verifier, through the client library's error", async ({ expect }) => {
    const owner = newCaller("ADMIN");
    const user = newCaller("USER", owner.tenantId);
    const client = await createClientAs(owner, { redirect_uris: [REDIRECT_URI], scopes: ["files:read"] });
    const config = await discover(client.client_id, openid.ClientSecretBasic(client.client_secret));
    const flow = await startFlow(config, "files:read");
    const callback = await authorizeAsUser(user, flow.url);
    await expect(
      openid.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: openid.randomPKCECodeVerifier(),
        expectedState: flow.state,
      }),
    ).rejects.toMatchObject({ error: "invalid_grant" });
  });
});
