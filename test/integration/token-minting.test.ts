import { env, exports } from "cloudflare:workers";
import { base64url, createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import { beforeAll, describe, it } from "vitest";
import { importEncryptionKey, openPrivateJwk } from "../../src/keys/key-crypto";
import { signingKeySettings } from "../../src/keys/settings";
import { publishedKeys } from "../../src/keys/signing-keys";
import { type AccessTokenInput, mintAccessToken, verifyAccessToken } from "../../src/tokens/access-token";
import { mintIdToken } from "../../src/tokens/id-token";
import { issuerFor } from "../../src/tokens/issuer";
import { keyDeps, storedKeys, TEST_SECRET } from "../helpers/signing-keys";

// Minting access tokens (AS §5.1) and ID tokens (AS §5.4) with the real signing keys in D1, checked
// the way their consumers check them: oauth4webapi's RFC 9068 validator and ID-token checks, and
// jose against the worker's own GET /oauth2/jwks. Tokens are minted at the real time because the
// standard validators read the real clock. Keys are never reset here: the worker's isolate caches
// the JWKS, so both keys are made before anything reads it.

const ORIGIN = "http://gateway.test";
const ISSUER = issuerFor(ORIGIN);
const JWKS_URL = `${ORIGIN}/oauth2/jwks`;
const AS: oauth.AuthorizationServer = { issuer: ISSUER, jwks_uri: JWKS_URL };
const USER = "3a2b8f4e-6c1d-4e5f-9a0b-1c2d3e4f5a6b";
const CLIENT = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"];

/** oauth4webapi's network calls go to the worker itself; http is fine for a test origin. */
const validatorOptions = {
  [oauth.customFetch]: (url: string, init: RequestInit) => exports.default.fetch(new Request(url, init)),
  [oauth.allowInsecureRequests]: true,
};

async function fetchJwks(): Promise<JSONWebKeySet> {
  const response = await exports.default.fetch(new Request(JWKS_URL));
  if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
  return (await response.json()) as JSONWebKeySet;
}

function accessInput(overrides: Partial<AccessTokenInput> = {}): AccessTokenInput {
  return {
    issuer: ISSUER,
    audience: ORIGIN,
    subject: USER,
    clientId: CLIENT,
    tenantId: 42,
    scopes: ["files:read", "files:write", "openid"],
    now: Date.now(),
    ...overrides,
  };
}

/** What a resource server sees: the token as a bearer credential on a request. */
const bearer = (token: string) =>
  new Request(`${ORIGIN}/api/2.0/files`, { headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  await publishedKeys(keyDeps(Date.now()).deps);
}, 60_000);

describe("access tokens (AS §5.1)", () => {
  it.for([
    { alg: "ES256", env: {} },
    { alg: "RS256", env: { ACCESS_TOKEN_ALG: "RS256" } },
  ])(
    "$alg: oauth4webapi's validateJwtAccessToken accepts it, with AS §5.1's claims exactly",
    async (row, { expect }) => {
      const now = Date.now();
      const { deps } = keyDeps(now, signingKeySettings({ ...env, ...row.env }));
      const minted = await mintAccessToken(deps, accessInput({ now }));
      const claims = await oauth.validateJwtAccessToken(AS, bearer(minted.token), ORIGIN, validatorOptions);
      const iat = Math.floor(now / 1000);
      expect(claims).toEqual({
        iss: ISSUER,
        aud: ORIGIN,
        sub: USER,
        client_id: CLIENT,
        cid: CLIENT,
        tid: 42,
        scope: ["files:read", "files:write", "openid"],
        iat,
        nbf: iat,
        exp: iat + 3600,
        jti: minted.jti,
      });
      const header = decodeProtectedHeader(minted.token);
      expect(header).toEqual({ alg: row.alg, kid: header.kid, typ: "at+jwt" });
      const published = (await fetchJwks()).keys.find((key) => key.kid === header.kid);
      expect(published?.alg).toBe(row.alg);
      expect(minted).toMatchObject({ expiresIn: 3600, expiresAt: (iat + 3600) * 1000 });
      // Another tenant's resource server refuses it.
      await expect(
        oauth.validateJwtAccessToken(AS, bearer(minted.token), "http://other.test", validatorOptions),
      ).rejects.toThrow(/aud/);
    },
  );

  it("follows ACCESS_TOKEN_TTL_SECONDS, and lists a repeated scope once", async ({ expect }) => {
    const now = Date.now();
    const { deps } = keyDeps(now, signingKeySettings({ ...env, ACCESS_TOKEN_TTL_SECONDS: "600" }));
    const minted = await mintAccessToken(deps, accessInput({ now, scopes: ["files:read", "files:read"] }));
    const payload = decodeJwt(minted.token);
    expect(payload.exp).toBe(Math.floor(now / 1000) + 600);
    expect(payload.scope).toEqual(["files:read"]);
    expect(minted.expiresIn).toBe(600);
  });

  it("gets a fresh 128-bit jti every time", async ({ expect }) => {
    const { deps } = keyDeps(Date.now());
    const jtis = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { token, jti } = await mintAccessToken(deps, accessInput());
      expect(decodeJwt(token).jti).toBe(jti);
      expect(base64url.decode(jti).length).toBe(16);
      jtis.add(jti);
    }
    expect(jtis.size).toBe(20);
  });
});

describe("ACCESS_TOKEN_ALG", () => {
  it.for([
    [undefined, "ES256"],
    ["ES256", "ES256"],
    ["RS256", "RS256"],
    [" RS256 ", "RS256"],
    ["rs256", "ES256"],
    ["HS256", "ES256"],
    ["none", "ES256"],
    ["PS256", "ES256"],
    ["", "ES256"],
  ] as const)("%j signs access tokens with %s", async ([value, alg], { expect }) => {
    const settings = signingKeySettings({ ...env, ACCESS_TOKEN_ALG: value });
    expect(settings.accessTokenAlg).toBe(alg);
    const { deps } = keyDeps(Date.now(), settings);
    const { token } = await mintAccessToken(deps, accessInput());
    expect(decodeProtectedHeader(token).alg).toBe(alg);
  });

  it("is configured in wrangler.toml as ES256", ({ expect }) => {
    expect(env.ACCESS_TOKEN_ALG).toBe("ES256");
  });
});

describe("ID tokens (AS §5.4)", () => {
  const authTime = Date.now() - 120_000;

  it.for([
    { label: "ES256 access tokens", env: {} },
    { label: "RS256 access tokens", env: { ACCESS_TOKEN_ALG: "RS256" } },
  ])("are RS256 with $label, and verify against GET /oauth2/jwks with the nonce echoed", async (row, { expect }) => {
    const now = Date.now();
    const { deps } = keyDeps(now, signingKeySettings({ ...env, ...row.env }));
    const idToken = await mintIdToken(deps, {
      issuer: ISSUER,
      subject: USER,
      clientId: CLIENT,
      nonce: "n-0S6_WzA2Mj",
      authTime,
      name: "Jane Doe",
      email: "jane@example.com",
      now,
    });
    const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(await fetchJwks()), {
      issuer: ISSUER,
      audience: CLIENT,
      algorithms: ["RS256"],
    });
    expect(protectedHeader).toEqual({ alg: "RS256", kid: protectedHeader.kid, typ: "JWT" });
    const iat = Math.floor(now / 1000);
    expect(payload).toEqual({
      iss: ISSUER,
      sub: USER,
      aud: CLIENT,
      azp: CLIENT,
      iat,
      exp: iat + 3600,
      auth_time: Math.floor(authTime / 1000),
      nonce: "n-0S6_WzA2Mj",
      name: "Jane Doe",
      email: "jane@example.com",
    });
    // Never accepted where an access token is expected.
    expect(await verifyAccessToken(deps, idToken, { issuer: ISSUER, now })).toBeNull();
  });

  it("leaves nonce out when none was sent", async ({ expect }) => {
    const { deps } = keyDeps(Date.now());
    const idToken = await mintIdToken(deps, {
      issuer: ISSUER,
      subject: USER,
      clientId: CLIENT,
      authTime,
      name: "Jane Doe",
      email: "jane@example.com",
      now: Date.now(),
    });
    expect(decodeJwt(idToken)).not.toHaveProperty("nonce");
  });

  it("passes oauth4webapi's ID-token checks in a token response", async ({ expect }) => {
    const { deps } = keyDeps(Date.now());
    const client: oauth.Client = { client_id: CLIENT };
    const tokenResponse = async (nonce?: string) => {
      const now = Date.now();
      const { token } = await mintAccessToken(deps, accessInput({ now }));
      const idToken = await mintIdToken(deps, {
        issuer: ISSUER,
        subject: USER,
        clientId: CLIENT,
        nonce,
        authTime,
        name: "Jane Doe",
        email: "jane@example.com",
        now,
      });
      const body = { access_token: token, token_type: "Bearer", expires_in: 3600, id_token: idToken };
      return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
    };
    const result = await oauth.processAuthorizationCodeResponse(AS, client, await tokenResponse("abc"), {
      expectedNonce: "abc",
      requireIdToken: true,
      maxAge: 3600,
    });
    const claims = oauth.getValidatedIdTokenClaims(result);
    expect(claims).toMatchObject({ iss: ISSUER, sub: USER, aud: CLIENT, nonce: "abc", name: "Jane Doe" });
    await expect(
      oauth.processAuthorizationCodeResponse(AS, client, await tokenResponse("abc"), { expectedNonce: "xyz" }),
    ).rejects.toThrow(/nonce/);
    const noNonce = await oauth.processAuthorizationCodeResponse(AS, client, await tokenResponse());
    expect(oauth.getValidatedIdTokenClaims(noNonce)?.nonce).toBeUndefined();
  });
});

describe("openid-client, unchanged", () => {
  it("redeems a code into our ID token and hands back its claims (nonce and state checked)", async ({ expect }) => {
    const tokenEndpoint = `${ORIGIN}/oauth2/token`;
    const config = new openid.Configuration(
      { issuer: ISSUER, token_endpoint: tokenEndpoint, jwks_uri: JWKS_URL },
      CLIENT,
      "client-secret-never-in-a-token",
    );
    openid.allowInsecureRequests(config);
    const sent: Request[] = [];
    // The token endpoint is another session's work: this stand-in answers with what the module mints.
    config[openid.customFetch] = async (url, init) => {
      const request = new Request(url, init as RequestInit);
      if (url !== tokenEndpoint) return exports.default.fetch(request);
      sent.push(request);
      const now = Date.now();
      const { deps } = keyDeps(now);
      const { token, expiresIn } = await mintAccessToken(deps, accessInput({ now }));
      const idToken = await mintIdToken(deps, {
        issuer: ISSUER,
        subject: USER,
        clientId: CLIENT,
        nonce: "nonce-123",
        authTime: now - 5000,
        name: "Jane Doe",
        email: "jane@example.com",
        now,
      });
      const body = { access_token: token, token_type: "Bearer", expires_in: expiresIn, id_token: idToken };
      return Response.json(body);
    };
    const callback = new URL(`https://app.example/callback?code=abc&state=st-1&iss=${encodeURIComponent(ISSUER)}`);
    const tokens = await openid.authorizationCodeGrant(config, callback, {
      expectedNonce: "nonce-123",
      expectedState: "st-1",
      idTokenExpected: true,
    });
    expect(sent).toHaveLength(1);
    expect(tokens.claims()).toMatchObject({ iss: ISSUER, sub: USER, aud: CLIENT, azp: CLIENT, nonce: "nonce-123" });
    expect(tokens.claims()?.email).toBe("jane@example.com");
    const wrongNonce = await openid
      .authorizationCodeGrant(config, callback, { expectedNonce: "other", expectedState: "st-1" })
      .catch((error: unknown) => error);
    expect(wrongNonce).toMatchObject({ code: "OAUTH_JWT_CLAIM_COMPARISON_FAILED" });
    expect(String((wrongNonce as Error).cause)).toMatch(/"nonce" claim/);
  });
});

describe("nothing secret in a token", () => {
  it("carries no private key member, no secret of the deployment, only the listed claims", async ({ expect }) => {
    const now = Date.now();
    const tokens: string[] = [];
    for (const alg of ["ES256", "RS256"] as const) {
      const { deps } = keyDeps(now, { accessTokenAlg: alg });
      tokens.push((await mintAccessToken(deps, accessInput({ now }))).token);
    }
    const { deps } = keyDeps(now);
    tokens.push(
      await mintIdToken(deps, {
        issuer: ISSUER,
        subject: USER,
        clientId: CLIENT,
        authTime: now,
        name: "J",
        email: "j@x",
        now,
      }),
    );
    const encryptionKey = await importEncryptionKey(TEST_SECRET);
    const privateValues: string[] = [];
    for (const row of await storedKeys()) {
      const jwk = (await openPrivateJwk(encryptionKey, row.encrypted_private_jwk, row.kid)) as Record<string, string>;
      for (const member of PRIVATE_MEMBERS) if (jwk[member]) privateValues.push(jwk[member]);
      privateValues.push(row.encrypted_private_jwk);
    }
    const secrets = [TEST_SECRET, env.CLIENT_SECRET_PEPPER, env.DOCSPACE_MACHINE_KEY, ...env.SERVICE_TOKENS.split(",")];
    for (const token of tokens) {
      const [header = "", payload = ""] = token
        .split(".")
        .map((part) => new TextDecoder().decode(base64url.decode(part)));
      const decoded = `${header}${payload}`;
      for (const value of [...privateValues, ...secrets]) expect(decoded).not.toContain(value);
      expect(Object.keys(JSON.parse(header)).sort()).toEqual(["alg", "kid", "typ"]);
    }
    expect(Object.keys(decodeJwt(tokens[0] ?? "")).sort()).toEqual(
      ["aud", "cid", "client_id", "exp", "iat", "iss", "jti", "nbf", "scope", "sub", "tid"].sort(),
    );
  });
});
