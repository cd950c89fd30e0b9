import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { describe, type ExpectStatic, it } from "vitest";
import { createApp } from "../../src/app";
import { createRouter } from "../../src/lib/router";
import { call } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import { storedCodesOf, storedFamiliesOf } from "../helpers/authorization-store";
import {
  basicAuth,
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

/** `form` without `name`. */
const without = (form: Record<string, string>, name: string) =>
  Object.fromEntries(Object.entries(form).filter(([key]) => key !== name));

type ErrorCase = { status: number; error: string; description?: string | RegExp };

/** An OAuth error answer (RFC 6749 §5.2) with no-store, as every token-endpoint response. */
async function expectOAuthError(expect: ExpectStatic, response: Response, expected: ErrorCase) {
  const { status, body } = await statusAndBody(response);
  expect({ status, error: body.error }).toEqual({ status: expected.status, error: expected.error });
  expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
  if (expected.description !== undefined) expect(body.error_description).toMatch(expected.description);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("pragma")).toBe("no-cache");
  return body;
}

describe("request errors (checked before the code is consumed)", () => {
  it.for([
    {
      label: "a JSON body",
      send: (form: Record<string, string>) =>
        tokenCall({}, { rawBody: JSON.stringify(form), headers: { "content-type": "application/json" } }),
      description: /x-www-form-urlencoded/,
    },
    {
      label: "no content type",
      send: (form: Record<string, string>) =>
        exports.default.fetch(new Request(TOKEN_URL, { method: "POST", body: new URLSearchParams(form).toString() })),
      description: /x-www-form-urlencoded/,
    },
    {
      label: "multipart/form-data",
      send: (form: Record<string, string>) => {
        const data = new FormData();
        for (const [k, v] of Object.entries(form)) data.set(k, v);
        return exports.default.fetch(new Request(TOKEN_URL, { method: "POST", body: data }));
      },
      description: /x-www-form-urlencoded/,
    },
    {
      label: "a repeated code",
      send: (form: Record<string, string>) => tokenCall([...Object.entries(form), ["code", form.code as string]]),
      description: "code must not be repeated.",
    },
    {
      label: "a repeated client_id",
      send: (form: Record<string, string>) =>
        tokenCall([...Object.entries(form), ["client_id", form.client_id as string]]),
      description: "client_id must not be repeated.",
    },
    {
      label: "no grant_type",
      send: (form: Record<string, string>) => tokenCall(without(form, "grant_type")),
      description: "grant_type is required.",
    },
    {
      label: "no code",
      send: (form: Record<string, string>) => tokenCall(without(form, "code")),
      description: "code is required.",
    },
    {
      label: "an empty code",
      send: (form: Record<string, string>) => tokenCall({ ...form, code: "" }),
      description: "code is required.",
    },
    {
      label: "a parameter over 2048 characters",
      send: (form: Record<string, string>) =>
        tokenCall({ ...form, redirect_uri: `https://example.com/${"a".repeat(2048)}` }),
      description: "redirect_uri is malformed.",
    },
    {
      label: "a malformed code_verifier",
      send: (form: Record<string, string>) => tokenCall({ ...form, code_verifier: "short" }),
      description: /code_verifier must be 43 to 128/,
    },
    {
      label: "an oversized body",
      send: (form: Record<string, string>) => tokenCall({ ...form, scope: "x".repeat(20_000) }),
      status: 413,
      description: /exceeds 16384 bytes/,
    },
    {
      label: "a body that is not UTF-8",
      send: (form: Record<string, string>) =>
        tokenCall(
          {},
          { rawBody: new Uint8Array([...new TextEncoder().encode(new URLSearchParams(form).toString()), 0x26, 0xff]) },
        ),
      description: "The request body is not UTF-8.",
    },
  ])("$label: invalid_request, and the code still works", async (testCase, { expect }) => {
    const { client, code } = await consentedCode();
    const response = await testCase.send(codeForm(client, code));
    await expectOAuthError(expect, response, {
      status: testCase.status ?? 400,
      error: "invalid_request",
      description: testCase.description,
    });
    expect((await redeem(client, code)).access_token).toBeTruthy();
  });

  it("an unknown grant_type is unsupported_grant_type", async ({ expect }) => {
    const client = await newClient();
    for (const grant of ["client_credentials", "password", "urn:ietf:params:oauth:grant-type:device_code"]) {
      await expectOAuthError(
        expect,
        await tokenCall({ grant_type: grant, client_id: client.client_id, client_secret: client.client_secret }),
        { status: 400, error: "unsupported_grant_type" },
      );
    }
  });

  it("redirect_uri may be left out with one registered URI, and is required with two", async ({ expect }) => {
    const single = await consentedCode();
    expect((await redeem(single.client, single.code, { redirect_uri: undefined })).access_token).toBeTruthy();

    const two = await consentedCode({ redirect_uris: [REDIRECT_URI, "https://example.com/other"] });
    await expectOAuthError(expect, await tokenCall(codeForm(two.client, two.code, { redirect_uri: undefined })), {
      status: 400,
      error: "invalid_request",
      description: /redirect_uri is required/,
    });
    expect((await redeem(two.client, two.code)).access_token).toBeTruthy();
  });
});

describe("grant errors (invalid_grant; a consumed code stays consumed)", () => {
  it.for([
    { label: "a wrong redirect_uri", extra: { redirect_uri: "https://example.com/callback/" }, re: /redirect_uri/ },
    { label: "a wrong code_verifier", extra: { code_verifier: "A".repeat(43) }, re: /does not match/ },
    { label: "no code_verifier for a code with a challenge", extra: { code_verifier: undefined }, re: /required/ },
  ])("$label", async ({ extra, re }, { expect }) => {
    const { client, code } = await consentedCode();
    await expectOAuthError(expect, await tokenCall(codeForm(client, code, extra)), {
      status: 400,
      error: "invalid_grant",
      description: re,
    });
    // Fail closed (RFC 9700 §2.1.1, §4.8): the code was consumed by the failed attempt.
    await expectOAuthError(expect, await tokenCall(codeForm(client, code)), { status: 400, error: "invalid_grant" });
    // The family the redemption started was revoked at once: its refresh token was never disclosed.
    expect((await storedFamiliesOf(client.client_id)).map((f) => f.revoked_reason)).toEqual(["revoked"]);
  });

  it("a code_verifier for a code issued without a challenge is a PKCE downgrade (RFC 9700 §4.8)", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode({}, { codeChallenge: null });
    await expectOAuthError(expect, await tokenCall(codeForm(client, code)), {
      status: 400,
      error: "invalid_grant",
      description: /no code_challenge/,
    });
  });

  it("none with a code that has no challenge: invalid_grant (a public client must use PKCE)", async ({ expect }) => {
    const { client, code } = await consentedCode({ allow_pkce: true }, { codeChallenge: null });
    const response = await tokenCall(codeForm(client, code, { client_secret: undefined, code_verifier: undefined }));
    await expectOAuthError(expect, response, { status: 400, error: "invalid_grant", description: /must use PKCE/ });
  });

  it("an unknown code, another client's code and an expired code", async ({ expect }) => {
    const { client, code } = await consentedCode();
    await expectOAuthError(expect, await tokenCall(codeForm(client, `${code}x`)), {
      status: 400,
      error: "invalid_grant",
    });
    const other = await newClient();
    await expectOAuthError(expect, await tokenCall(codeForm(other, code)), { status: 400, error: "invalid_grant" });
    // Another client's attempt consumed nothing.
    expect((await redeem(client, code)).access_token).toBeTruthy();

    const clock = manualClock(Date.now());
    const fetcher = appFetcher({ clock: clock.now });
    const late = await consentedCode({}, { now: clock.now() });
    clock.advance(60_000);
    await expectOAuthError(expect, await tokenCall(codeForm(late.client, late.code), { fetcher }), {
      status: 400,
      error: "invalid_grant",
      description: /expired/,
    });
    const early = await consentedCode({}, { now: clock.now() });
    clock.advance(59_999);
    expect((await tokenCall(codeForm(early.client, early.code), { fetcher })).status).toBe(200);
  });

  it("consent revoked between the code and its redemption: invalid_grant, nothing issued", async ({ expect }) => {
    const { client, user, code } = await consentedCode();
    const revoked = await call("DELETE", `/clients/${client.client_id}/revoke`, {
      caller: { userId: user.userId, tenantId: user.tenant, role: "USER" },
    });
    expect(revoked.status).toBeLessThan(300);
    await expectOAuthError(expect, await tokenCall(codeForm(client, code)), {
      status: 400,
      error: "invalid_grant",
      description: /consent/,
    });
    // Nothing live: the family the redemption started was revoked at once, its token never disclosed.
    expect((await storedFamiliesOf(client.client_id)).map((f) => f.revoked_reason)).toEqual(["revoked"]);
  });

  it("a consent narrower than the code's scopes: invalid_grant", async ({ expect }) => {
    const client = await newClient();
    const user = newUser();
    await consent(client.client_id, user, ["openid"]);
    const code = await codeFor(client.client_id, user, { scopes: ["files:read", "openid"] });
    await expectOAuthError(expect, await tokenCall(codeForm(client, code)), { status: 400, error: "invalid_grant" });
  });

  it("a replayed code: invalid_grant, and the first redemption's refresh token is revoked", async ({ expect }) => {
    const { client, code } = await consentedCode();
    const first = await redeem(client, code);
    await expectOAuthError(expect, await tokenCall(codeForm(client, code)), {
      status: 400,
      error: "invalid_grant",
      description: /already used/,
    });
    const [family] = await storedFamiliesOf(client.client_id);
    expect(family).toMatchObject({ revoked_reason: "code_replay" });
    await expectOAuthError(expect, await refreshCall(client, first.refresh_token as string), {
      status: 400,
      error: "invalid_grant",
    });
    const [row] = await storedCodesOf(client.client_id);
    expect(row?.replayed_on).not.toBeNull();
  });

  it("a disabled client that authenticates: invalid_grant; the code is not consumed", async ({ expect }) => {
    const { client, code } = await consentedCode();
    const off = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller: client.owner,
      body: { status: false },
    });
    expect(off.status).toBe(200);
    await expectOAuthError(expect, await tokenCall(codeForm(client, code)), {
      status: 400,
      error: "invalid_grant",
      description: "The client is disabled.",
    });
    const [row] = await storedCodesOf(client.client_id);
    expect(row?.consumed_on).toBeNull();
  });
});

describe("client authentication", () => {
  const challenge = 'Basic realm="oauth2", charset="UTF-8"';

  async function failure(response: Response) {
    return {
      status: response.status,
      body: await response.text(),
      headers: Object.fromEntries(
        // The quota headers count requests per claimed client id (AS §9), whether or not it exists.
        [...response.headers].filter(
          ([name]) => name !== "x-request-id" && name !== "content-length" && !name.startsWith("ratelimit"),
        ),
      ),
    };
  }

  it("unknown client, malformed id, wrong secret, no credentials, deleted client: one identical 401", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode();
    const deleted = await newClient();
    const gone = await call("DELETE", `/clients/${deleted.client_id}`, { caller: deleted.owner });
    expect(gone.status).toBeLessThan(300);
    const base = codeForm(client, code);
    const attempts = [
      tokenCall({ ...base, client_id: crypto.randomUUID() }),
      tokenCall({ ...base, client_id: "not-a-client-id" }),
      tokenCall({ ...base, client_id: "x".repeat(2000) }),
      tokenCall({ ...base, client_secret: `${client.client_secret}x` }),
      tokenCall({ ...base, client_secret: "" }),
      tokenCall(codeForm(client, code, { client_id: undefined, client_secret: undefined })),
      tokenCall({ ...base, client_id: deleted.client_id, client_secret: deleted.client_secret }),
      tokenCall(codeForm(client, code, { client_id: undefined, client_secret: undefined }), {
        basic: { id: client.client_id, secret: "wrong" },
      }),
      tokenCall(codeForm(client, code, { client_id: undefined, client_secret: undefined }), {
        basic: { id: crypto.randomUUID(), secret: client.client_secret },
      }),
    ];
    const answers = await Promise.all((await Promise.all(attempts)).map(failure));
    for (const answer of answers) {
      expect(answer).toEqual({
        status: 401,
        body: JSON.stringify({ error: "invalid_client", error_description: "Client authentication failed." }),
        headers: {
          "cache-control": "no-store",
          "content-type": "application/json",
          pragma: "no-cache",
          vary: "Origin",
          "www-authenticate": challenge,
        },
      });
    }
    // None of them consumed the code.
    expect((await redeem(client, code)).access_token).toBeTruthy();
  });

  it.for([
    ["not base64", "Basic !!!not-base64!!!"],
    ["no colon", `Basic ${btoa("just-an-id")}`],
    ["bad percent-encoding", `Basic ${btoa("%zz:%zz")}`],
    ["not UTF-8", `Basic ${btoa(String.fromCharCode(0xff, 0x3a, 0xff))}`],
    ["another scheme", "Bearer abc"],
    ["an empty Basic", "Basic "],
  ] as const)("Basic with %s: 401 invalid_client", async ([, header], { expect }) => {
    const { client, code } = await consentedCode();
    const response = await tokenCall(codeForm(client, code, { client_id: undefined, client_secret: undefined }), {
      headers: { authorization: header },
    });
    const body = await expectOAuthError(expect, response, { status: 401, error: "invalid_client" });
    expect(body.error_description).toBe("Client authentication failed.");
    expect(response.headers.get("www-authenticate")).toBe(challenge);
  });

  it("Basic credentials are form-urlencoded (RFC 6749 §2.3.1)", async ({ expect }) => {
    const { client, code } = await consentedCode();
    // Percent-encode every character of the id: a server that skipped the decoding would not know it.
    const id = [...client.client_id].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join("");
    const response = await tokenCall(codeForm(client, code, { client_id: undefined, client_secret: undefined }), {
      headers: { authorization: `Basic ${btoa(`${id}:${client.client_secret}`)}` },
    });
    expect(response.status).toBe(200);
    expect(basicAuth("a b:c", "d")).toBe(`Basic ${btoa("a+b%3Ac:d")}`);
  });

  it("Basic and a form secret at once: invalid_request; Basic with another form client_id: invalid_request", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode();
    const basic = { id: client.client_id, secret: client.client_secret };
    await expectOAuthError(expect, await tokenCall(codeForm(client, code), { basic }), {
      status: 400,
      error: "invalid_request",
      description: /one client authentication method/,
    });
    await expectOAuthError(
      expect,
      await tokenCall(codeForm(client, code, { client_id: crypto.randomUUID(), client_secret: undefined }), { basic }),
      { status: 400, error: "invalid_request", description: /does not match/ },
    );
    // The same client_id beside Basic is fine.
    expect((await tokenCall(codeForm(client, code, { client_secret: undefined }), { basic })).status).toBe(200);
  });

  it("none for a client without allow_pkce: 401 invalid_client", async ({ expect }) => {
    const { client, code } = await consentedCode({ allow_pkce: false });
    await expectOAuthError(expect, await tokenCall(codeForm(client, code, { client_secret: undefined })), {
      status: 401,
      error: "invalid_client",
    });
  });

  it("a previous secret inside its grace period still authenticates", async ({ expect }) => {
    const { client, code } = await consentedCode();
    const rotated = await call("PATCH", `/clients/${client.client_id}/regenerate?grace_period=600`, {
      caller: client.owner,
    });
    expect(rotated.status).toBe(200);
    expect((await tokenCall(codeForm(client, code))).status).toBe(200);
  });
});

describe("other methods", () => {
  it.for(["GET", "PUT", "DELETE"])(
    "%s /oauth2/token: 405 in the OAuth error shape, with Allow",
    async (method, { expect }) => {
      const response = await exports.default.fetch(new Request(TOKEN_URL, { method }));
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(await response.json()).toMatchObject({ error: "invalid_request" });
    },
  );
});

describe("CORS (AS §1)", () => {
  it("a preflight answers 204 for any origin, without credentials", async ({ expect }) => {
    const response = await exports.default.fetch(
      new Request(TOKEN_URL, {
        method: "OPTIONS",
        headers: {
          origin: "https://spa.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      }),
    );
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-methods")).toBe("POST");
    expect(response.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    expect(response.headers.get("access-control-allow-origin")).toBe("https://spa.example");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("reflects Origin only when it is one of the authenticated client's allowed_origins", async ({ expect }) => {
    const allowed = await consentedCode({ allowed_origins: ["https://spa.example"] });
    const ok = await tokenCall(codeForm(allowed.client, allowed.code), { headers: { origin: "https://spa.example" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://spa.example");
    expect(ok.headers.get("vary")).toContain("Origin");
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();

    // An error after authentication is readable by the client's own origin too.
    const replay = await tokenCall(codeForm(allowed.client, allowed.code), {
      headers: { origin: "https://spa.example" },
    });
    expect(replay.status).toBe(400);
    expect(replay.headers.get("access-control-allow-origin")).toBe("https://spa.example");

    const other = await consentedCode({ allowed_origins: ["https://spa.example"] });
    const foreign = await tokenCall(codeForm(other.client, other.code), {
      headers: { origin: "https://evil.example" },
    });
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();

    // A failed authentication is never readable cross-origin.
    const unauthenticated = await tokenCall(codeForm(other.client, other.code, { client_secret: "wrong" }), {
      headers: { origin: "https://spa.example" },
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("a middleware in front that already read the body (the rate limiter keys on client_id)", () => {
  it.for(["text", "arrayBuffer", "parseBody"] as const)(
    "c.req.%s() first: the endpoint still reads the same form",
    async (reader, { expect }) => {
      const seen: unknown[] = [];
      const outer = createRouter();
      outer.use("/oauth2/token", async (c, next) => {
        if (reader === "text") seen.push(await c.req.text());
        else if (reader === "arrayBuffer") seen.push((await c.req.arrayBuffer()).byteLength);
        else seen.push(await c.req.parseBody({ all: true }));
        await next();
      });
      outer.route("/", createApp());
      const fetcher = async (request: Request) => {
        const ctx = createExecutionContext();
        const response = await outer.fetch(request, env, ctx);
        await waitOnExecutionContext(ctx);
        return response;
      };
      const { client, code } = await consentedCode();
      const response = await tokenCall(codeForm(client, code), { fetcher });
      expect(response.status).toBe(200);
      expect(seen).toHaveLength(1);
      // Duplicates are still found after another reader parsed the form.
      const again = await consentedCode();
      const repeated = await tokenCall([...Object.entries(codeForm(again.client, again.code)), ["code", "x"]], {
        fetcher,
      });
      await expectOAuthError(expect, repeated, { status: 400, error: "invalid_request", description: /repeated/ });
    },
  );
});
