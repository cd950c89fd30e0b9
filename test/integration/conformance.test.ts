import { exports } from "cloudflare:workers";
import { base64url } from "jose";
import { describe, it } from "vitest";
import {
  AUTHORIZE,
  authorize,
  authorizeParams,
  CHALLENGE,
  newAuthorizeClient,
  redirectTarget,
} from "../helpers/authorize";
import { grant, INTROSPECT_URL, isActive, postForm, REVOKE_URL, USERINFO_URL } from "../helpers/introspection";
import { newCaller } from "../helpers/signature";
import { codeForm, consentedCode, redeem, refreshCall, tokenCall } from "../helpers/token-endpoint";

// Requirements of docs/conformance.md that no other test file proved on its own: credential
// entropy (OAuth 2.1 §7.7), the character set of OAuth error values (RFC 6749 §4.1.2.1, §5.2),
// client authentication at refresh (OAuth 2.1 §4.3.1), a misleading token_type_hint at revocation
// (RFC 7009 §2.1), no CORS at the authorization endpoint (RFC 9700 §2.6) and no token from a URI
// query (OAuth 2.1 §5.1). Each test names the rule it proves; the matrix names the test.

/** RFC 6749 §4.1.2.1 and §5.2 (OAuth 2.1 §3.2.4, §4.1.2.1): `error` and `error_description` characters. */
const ERROR_CHARSET = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;

describe("OAuth 2.1 §7.7: credentials cannot be guessed", () => {
  it("codes and refresh tokens are 32 random bytes, client secrets 36 characters of [A-Za-z0-9]", async ({
    expect,
  }) => {
    const { client, code } = await consentedCode();
    // 256 bits each (≥ the 128 the MUST asks for, ≥ the 160 it recommends).
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(base64url.decode(code)).toHaveLength(32);
    const tokens = await redeem(client, code);
    const refreshToken = String(tokens.refresh_token);
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(base64url.decode(refreshToken)).toHaveLength(32);
    // 36 × log2(62) ≈ 214 bits.
    expect(client.client_secret).toMatch(/^[A-Za-z0-9]{36}$/);

    const rotated = (await (await refreshCall(client, refreshToken)).json()) as { refresh_token: string };
    expect(base64url.decode(rotated.refresh_token)).toHaveLength(32);
    expect(rotated.refresh_token).not.toBe(refreshToken);
  });
});

describe("RFC 6749 §4.1.2.1, §5.2: error values stay in %x20-21 / %x23-5B / %x5D-7E", () => {
  it("every error redirect of the authorization endpoint, whatever characters the request carried", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const requests: Record<string, string | null>[] = [
      { code_challenge: CHALLENGE.slice(0, 42) },
      { code_challenge_method: "plain" },
      { response_type: "token" },
      { response_type: null },
      { scope: "everything" },
      // A scope the client lacks, carrying characters the error set excludes: never echoed as sent.
      { scope: 'files:read caf\u00e9 "quoted" back\\slash' },
      { scope: "files:read \u202eevil" },
    ];
    for (const change of requests) {
      const response = await authorize(authorizeParams(client.client_id, change), { caller });
      expect(response.status, JSON.stringify(change)).toBe(302);
      const { params } = redirectTarget(response.headers.get("location"));
      expect(params.get("error"), JSON.stringify(change)).toMatch(ERROR_CHARSET);
      expect(params.get("error_description"), JSON.stringify(change)).toMatch(ERROR_CHARSET);
    }
  });

  it("every error body of the token, introspection and revocation endpoints", async ({ expect }) => {
    const { client, code } = await consentedCode();
    const g = await grant();
    const responses: Response[] = [
      await tokenCall({ client_id: client.client_id, client_secret: client.client_secret }),
      await tokenCall({ grant_type: "caf\u00e9", client_id: client.client_id, client_secret: client.client_secret }),
      await tokenCall(codeForm(client, code, { code_verifier: "short" })),
      await tokenCall(codeForm(client, "no-such-code")),
      await tokenCall(codeForm(client, code, { client_secret: "wrong" })),
      await refreshCall(g.client, g.refreshToken, { scope: 'rooms:write "caf\u00e9"' }),
      await postForm(INTROSPECT_URL, {}),
      await postForm(INTROSPECT_URL, { token: g.accessToken }, { basic: { id: client.client_id, secret: "wrong" } }),
      await postForm(REVOKE_URL, {}, { basic: { id: g.client.client_id, secret: g.client.client_secret } }),
      await postForm(REVOKE_URL, { token: g.accessToken }),
    ];
    for (const response of responses) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      const body = (await response.json()) as { error: string; error_description?: string };
      expect(body.error).toMatch(ERROR_CHARSET);
      if (body.error_description !== undefined) expect(body.error_description).toMatch(ERROR_CHARSET);
    }
  });
});

describe("OAuth 2.1 §7.5.3: a replayed code that carries invalid parameters", () => {
  // The AS SHOULD NOT revoke then: an attacker with a stolen code but no verifier could otherwise
  // revoke the legitimate client's tokens (docs/conformance.md, O21-7.5.3-b).
  it("with a wrong code_verifier or redirect_uri revokes nothing; a valid replay then revokes", async ({ expect }) => {
    const { client, code } = await consentedCode();
    const first = await redeem(client, code);
    for (const extra of [{ code_verifier: "A".repeat(43) }, { redirect_uri: "https://example.com/other" }]) {
      const replay = await tokenCall(codeForm(client, code, extra));
      expect(replay.status).toBe(400);
      expect(((await replay.json()) as { error: string }).error).toBe("invalid_grant");
      expect(await isActive(String(first.refresh_token))).toBe(true);
      expect(await isActive(String(first.access_token))).toBe(true);
    }
    const valid = await tokenCall(codeForm(client, code));
    expect(valid.status).toBe(400);
    expect(await isActive(String(first.refresh_token))).toBe(false);
    expect(await isActive(String(first.access_token))).toBe(false);
  });
});

describe("OAuth 2.1 §4.3.1: confidential clients authenticate to refresh", () => {
  it("no credentials, a wrong secret, or none for a client without allow_pkce: 401 invalid_client, and the token still rotates", async ({
    expect,
  }) => {
    const g = await grant();
    const attempts: Record<string, string>[] = [
      { grant_type: "refresh_token", refresh_token: g.refreshToken },
      { grant_type: "refresh_token", refresh_token: g.refreshToken, client_id: g.client.client_id },
      {
        grant_type: "refresh_token",
        refresh_token: g.refreshToken,
        client_id: g.client.client_id,
        client_secret: "not-the-secret",
      },
    ];
    for (const form of attempts) {
      const response = await tokenCall(form);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_client");
    }
    // Nothing was consumed by the refused requests.
    expect((await refreshCall(g.client, g.refreshToken)).status).toBe(200);
  });
});

describe("RFC 7009 §2.1: a token_type_hint that does not fit does not stop the search", () => {
  it("a refresh token sent as access_token and an access token sent as refresh_token are both revoked", async ({
    expect,
  }) => {
    const basic = (g: Awaited<ReturnType<typeof grant>>) => ({
      basic: { id: g.client.client_id, secret: g.client.client_secret },
    });
    const first = await grant();
    const response = await postForm(
      REVOKE_URL,
      { token: first.refreshToken, token_type_hint: "access_token" },
      basic(first),
    );
    expect(response.status).toBe(200);
    expect(await isActive(first.refreshToken)).toBe(false);
    expect(await isActive(first.accessToken)).toBe(false);

    const second = await grant();
    expect(
      (await postForm(REVOKE_URL, { token: second.accessToken, token_type_hint: "refresh_token" }, basic(second)))
        .status,
    ).toBe(200);
    expect(await isActive(second.accessToken)).toBe(false);
    // An access token revokes only itself: the grant lives on.
    expect(await isActive(second.refreshToken)).toBe(true);
  });
});

describe("RFC 9700 §2.6: no CORS at the authorization endpoint", () => {
  it("GET, a preflight and the consent POST of /oauth2/authorize carry no Access-Control header, whatever the Origin", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient({ allowed_origins: ["https://app.example"] });
    const origin = { origin: "https://app.example" };
    const responses = [
      await authorize(authorizeParams(client.client_id), { caller: newCaller("USER"), headers: origin }),
      await authorize(authorizeParams(client.client_id, { scope: "openid" }), {
        caller: newCaller("USER"),
        headers: origin,
      }),
      await exports.default.fetch(
        new Request(AUTHORIZE, {
          method: "OPTIONS",
          headers: { ...origin, "access-control-request-method": "POST" },
        }),
      ),
      await exports.default.fetch(
        new Request(AUTHORIZE, {
          method: "POST",
          headers: { ...origin, "content-type": "application/x-www-form-urlencoded" },
          body: "decision=allow",
          redirect: "manual",
        }),
      ),
    ];
    for (const response of responses) {
      const cors = [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));
      expect(cors).toEqual([]);
    }
  });
});

describe("OAuth 2.1 §5.1: an access token in a URI query is ignored", () => {
  it("userinfo with ?access_token= and no Authorization header is 401 with a bare Bearer challenge", async ({
    expect,
  }) => {
    const g = await grant();
    const response = await exports.default.fetch(
      new Request(`${USERINFO_URL}?access_token=${encodeURIComponent(g.accessToken)}`),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="oauth2"');
    // The same token in the header is accepted: the query was the only thing missing.
    const ok = await exports.default.fetch(
      new Request(USERINFO_URL, { headers: { authorization: `Bearer ${g.accessToken}` } }),
    );
    expect(ok.status).toBe(200);
  });
});
