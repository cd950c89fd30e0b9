import { env } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { describe, it } from "vitest";
import { call } from "../helpers/api";
import {
  AUTHORIZE,
  authorize,
  authorizeParams,
  CHALLENGE,
  cookieValue,
  ISSUER,
  newAuthorizeClient,
  ORIGIN,
  redirectTarget,
  setCookies,
} from "../helpers/authorize";
import { newCaller, signFor } from "../helpers/signature";

// GET /oauth2/authorize (AS §3, §4 steps 1–5): which failures are an HTML page and which go back to
// the client (with state and iss), redirect-URI matching, the sign-in bounce and its cookie, the
// tenant-origin rule, openid-only, and RFC 9207 conformance checked by oauth4webapi.

const AS: oauth.AuthorizationServer = { issuer: ISSUER, authorization_response_iss_parameter_supported: true };

async function expectErrorPage(response: Response, expect: import("vitest").ExpectStatic) {
  expect(response.status).toBe(400);
  expect(response.headers.get("location")).toBeNull();
  expect(response.headers.get("content-type")).toMatch(/^text\/html/);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("content-security-policy")).toBe(
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
  );
  const html = await response.text();
  expect(html).toContain('<link rel="stylesheet" href="/oauth2/assets/consent.css"/>');
  return html;
}

describe("before the redirect URI is trusted: an HTML error page, never a redirect", () => {
  it("unknown, malformed, missing or repeated client_id", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    for (const query of [
      authorizeParams(crypto.randomUUID()),
      authorizeParams("not-a-guid"),
      authorizeParams(client.client_id, { client_id: null }),
      `${authorizeParams(client.client_id)}&client_id=${client.client_id}`,
    ]) {
      const html = await expectErrorPage(await authorize(query, { caller: newCaller("USER") }), expect);
      expect(html).toContain("Unknown application");
    }
  });

  it("a disabled client", async ({ expect }) => {
    const { owner, client } = await newAuthorizeClient();
    const off = await call("PATCH", `/clients/${client.client_id}/activation`, {
      caller: owner,
      body: { status: false },
    });
    expect(off.status).toBe(200);
    await expectErrorPage(await authorize(authorizeParams(client.client_id), { caller: newCaller("USER") }), expect);
  });

  it.for([
    ["another URI", "https://evil.example/cb"],
    ["a prefix", "https://app.example/c"],
    ["an extension", "https://app.example/cb/more"],
    ["another query", "https://app.example/cb?x=1"],
    ["a fragment", "https://app.example/cb#x"],
    ["another case", "https://APP.example/cb"],
    ["a trailing slash", "https://app.example/cb/"],
    ["http instead of https", "http://app.example/cb"],
    ["a port", "https://app.example:8443/cb"],
  ] as [string, string][])("a redirect_uri that is %s", async ([, uri], { expect }) => {
    const { client } = await newAuthorizeClient();
    const html = await expectErrorPage(
      await authorize(authorizeParams(client.client_id, { redirect_uri: uri }), { caller: newCaller("USER") }),
      expect,
    );
    expect(html).toContain("Invalid redirect address");
    expect(html).not.toContain("evil.example");
  });

  it("a repeated redirect_uri, and a missing one when the client has several", async ({ expect }) => {
    const { client } = await newAuthorizeClient({
      redirect_uris: ["https://app.example/cb", "https://app.example/cb2"],
    });
    await expectErrorPage(
      await authorize(`${authorizeParams(client.client_id)}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb2`),
      expect,
    );
    await expectErrorPage(await authorize(authorizeParams(client.client_id, { redirect_uri: null })), expect);
  });

  it.for([
    ["state", 2049],
    ["nonce", 513],
    ["redirect_uri", 2049],
    ["scope", 2049],
  ] as [string, number][])(
    "an over-long %s (zod's bounds): the page, nothing stored",
    async ([name, length], { expect }) => {
      const { client } = await newAuthorizeClient();
      const query = authorizeParams(client.client_id, { [name]: "a".repeat(length) });
      const html = await expectErrorPage(await authorize(query, { caller: newCaller("USER") }), expect);
      expect(html).toContain("too long");
    },
  );

  it("the client is checked before the user: no sign-in bounce for a bad request", async ({ expect }) => {
    const response = await authorize(authorizeParams(crypto.randomUUID()));
    await expectErrorPage(response, expect);
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});

describe("after it: every error redirects with error, error_description, state and iss (RFC 9207)", () => {
  const cases: [string, Record<string, string | null> | string, string][] = [
    ["missing response_type", { response_type: null }, "invalid_request"],
    ["response_type=token", { response_type: "token" }, "unsupported_response_type"],
    ["response_type=code id_token", { response_type: "code id_token" }, "unsupported_response_type"],
    ["code_challenge_method=plain", { code_challenge_method: "plain" }, "invalid_request"],
    ["a challenge without a method", { code_challenge_method: null }, "invalid_request"],
    ["a method without a challenge", { code_challenge: null }, "invalid_request"],
    ["a challenge of 42 characters", { code_challenge: CHALLENGE.slice(0, 42) }, "invalid_request"],
    ["a challenge of 129 characters", { code_challenge: "a".repeat(129) }, "invalid_request"],
    ["a challenge with '+'", { code_challenge: `${CHALLENGE.slice(0, 42)}+` }, "invalid_request"],
    ["a scope the client lacks", { scope: "files:read rooms:read" }, "invalid_scope"],
    ["an unknown scope", { scope: "everything" }, "invalid_scope"],
    ["a repeated state", "&state=other", "invalid_request"],
    ["a repeated scope", "&scope=openid", "invalid_request"],
    ["a repeated response_type", "&response_type=code", "invalid_request"],
    ["a repeated code_challenge", `&code_challenge=${CHALLENGE}`, "invalid_request"],
  ];

  it.for(cases)("%s → %s", async ([, change, error], { expect }) => {
    const { client } = await newAuthorizeClient();
    const query =
      typeof change === "string"
        ? `${authorizeParams(client.client_id)}${change}`
        : authorizeParams(client.client_id, change);
    const response = await authorize(query, { caller: newCaller("USER") });
    expect(response.status).toBe(302);
    const { base, params } = redirectTarget(response.headers.get("location"));
    expect(base).toBe("https://app.example/cb");
    expect(params.get("error")).toBe(error);
    expect(params.get("error_description")).toBeTruthy();
    expect(params.get("state")).toBe("st-123");
    expect(params.get("iss")).toBe(ISSUER);
    expect(params.get("code")).toBeNull();
    expect(response.headers.get("cache-control")).toBe("no-store");
    // oauth4webapi (RFC 9207) accepts the issuer and surfaces the error.
    const thrown = (() => {
      try {
        oauth.validateAuthResponse(
          AS,
          { client_id: client.client_id },
          redirectTarget(response.headers.get("location")).url,
          "st-123",
        );
      } catch (e) {
        return e;
      }
    })();
    expect(thrown).toBeInstanceOf(oauth.AuthorizationResponseError);
    expect((thrown as oauth.AuthorizationResponseError).error).toBe(error);
  });

  it("without state, the error carries none", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const response = await authorize(authorizeParams(client.client_id, { state: null, response_type: "token" }));
    const { params } = redirectTarget(response.headers.get("location"));
    expect([...params.keys()].sort()).toEqual(["error", "error_description", "iss"]);
  });

  it("state is encoded, and an existing query of the redirect URI is kept", async ({ expect }) => {
    const uri = "https://app.example/cb?tenant=a%20b&x=1";
    const { client } = await newAuthorizeClient({ redirect_uris: [uri] });
    const state = "a b&c=d#e/é";
    const response = await authorize(
      authorizeParams(client.client_id, { redirect_uri: uri, state, scope: "rooms:read" }),
    );
    const location = response.headers.get("location") ?? "";
    expect(location.startsWith(`${uri}&error=invalid_scope&`)).toBe(true);
    const { params } = redirectTarget(location);
    expect(params.get("state")).toBe(state);
    expect(params.get("tenant")).toBe("a b");
    expect(params.get("x")).toBe("1");
  });

  it("parameter errors are reported before the user is asked to sign in", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const response = await authorize(authorizeParams(client.client_id, { response_type: "token" }));
    expect(redirectTarget(response.headers.get("location")).params.get("error")).toBe("unsupported_response_type");
  });
});

describe("redirect URI matching", () => {
  it("http loopback 127.0.0.1 and [::1] match any port; the code goes to the port sent", async ({ expect }) => {
    const { client } = await newAuthorizeClient({
      redirect_uris: ["http://127.0.0.1:8000/cb", "http://[::1]/cb"],
      scopes: ["openid"],
    });
    for (const uri of [
      "http://127.0.0.1:8000/cb",
      "http://127.0.0.1:51234/cb",
      "http://127.0.0.1/cb",
      "http://[::1]:40000/cb",
    ]) {
      const response = await authorize(authorizeParams(client.client_id, { redirect_uri: uri, scope: "openid" }), {
        caller: newCaller("USER"),
      });
      expect(response.status, uri).toBe(302);
      const location = response.headers.get("location") ?? "";
      expect(location.startsWith(`${uri}?code=`), location).toBe(true);
    }
    for (const uri of ["http://127.0.0.1:51234/other", "http://127.0.0.1:51234/cb?x=1", "http://127.0.0.2:8000/cb"]) {
      await expectErrorPage(await authorize(authorizeParams(client.client_id, { redirect_uri: uri })), expect);
    }
  });

  it("localhost and https loopback URIs must match exactly, port included", async ({ expect }) => {
    const { client } = await newAuthorizeClient({
      redirect_uris: ["http://localhost:8000/cb", "https://127.0.0.1:8443/cb"],
      scopes: ["openid"],
    });
    for (const uri of ["http://localhost:8001/cb", "https://127.0.0.1:9443/cb"]) {
      await expectErrorPage(await authorize(authorizeParams(client.client_id, { redirect_uri: uri })), expect);
    }
    const exact = await authorize(
      authorizeParams(client.client_id, { redirect_uri: "http://localhost:8000/cb", scope: "openid" }),
      {
        caller: newCaller("USER"),
      },
    );
    expect(exact.headers.get("location")).toMatch(/^http:\/\/localhost:8000\/cb\?code=/);
  });

  it("redirect_uri may be omitted when the client has exactly one", async ({ expect }) => {
    const { client } = await newAuthorizeClient({
      redirect_uris: ["https://app.example/only?v=2"],
      scopes: ["openid"],
    });
    const response = await authorize(authorizeParams(client.client_id, { redirect_uri: null, scope: "openid" }), {
      caller: newCaller("USER"),
    });
    const location = response.headers.get("location") ?? "";
    expect(location.startsWith("https://app.example/only?v=2&code=")).toBe(true);
  });
});

describe("who the user is (AS §3)", () => {
  it("not signed in: 302 to {origin}/login with type and client_id, and the way back in a cookie", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient();
    const query = authorizeParams(client.client_id);
    const response = await authorize(query);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(`${ORIGIN}/login`);
    expect(Object.fromEntries(location.searchParams)).toEqual({ type: "oauth2", client_id: client.client_id });
    const cookies = setCookies(response);
    expect([...cookies.keys()]).toEqual(["x-redirect-authorization-uri"]);
    const line = cookies.get("x-redirect-authorization-uri") ?? "";
    expect(line).toMatch(/; Max-Age=600/);
    expect(line).toMatch(/; Path=\//);
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; SameSite=Lax/);
    const value = cookieValue(line);
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    const decoded = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    expect(decoded).toBe(`${AUTHORIZE}?${query}`);
  });

  it("on a loopback host the cookie is not Secure", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    for (const origin of ["http://localhost:8092", "http://127.0.0.1:8092", "http://[::1]:8092"]) {
      const response = await authorize(authorizeParams(client.client_id), { origin });
      const line = setCookies(response).get("x-redirect-authorization-uri") ?? "";
      expect(line, origin).toMatch(/HttpOnly/);
      expect(line, origin).not.toMatch(/Secure/);
      expect(response.headers.get("location")).toBe(`${origin}/login?type=oauth2&client_id=${client.client_id}`);
    }
  });

  it("LOGIN_URL, when set, is where the user goes (its own query kept)", async ({ expect }) => {
    const { appFetcher } = await import("../helpers/app");
    const fetcher = appFetcher({ env: { LOGIN_URL: "https://id.example/sign-in?lang=en" } as Partial<Env> });
    const { client } = await newAuthorizeClient();
    const response = await authorize(authorizeParams(client.client_id), { fetcher });
    expect(response.headers.get("location")).toBe(
      `https://id.example/sign-in?lang=en&type=oauth2&client_id=${client.client_id}`,
    );
  });

  it("a signature minted for another tenant's origin is treated as not signed in (AS §2)", async ({ expect }) => {
    const { client } = await newAuthorizeClient({ scopes: ["openid"] });
    const caller = newCaller("USER");
    for (const tenantUrl of ["https://other.test", "http://docspace.test", "https://docspace.test:8443", "not a url"]) {
      const signature = await signFor(caller, { tenant_url: tenantUrl });
      const response = await authorize(authorizeParams(client.client_id, { scope: "openid" }), { signature });
      expect(new URL(response.headers.get("location") ?? "").pathname, tenantUrl).toBe("/login");
    }
    // …and a path on the tenant URL does not matter, only its origin.
    const signature = await signFor(caller, { tenant_url: `${ORIGIN}/some/path` });
    const response = await authorize(authorizeParams(client.client_id, { scope: "openid" }), { signature });
    expect(response.headers.get("location")).toMatch(/^https:\/\/app\.example\/cb\?code=/);
  });

  it("an invalid signature is treated as not signed in", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const response = await authorize(authorizeParams(client.client_id), { signature: "not.a.signature" });
    expect(new URL(response.headers.get("location") ?? "").pathname).toBe("/login");
  });
});

describe("signed in, openid only: the code at once", () => {
  it("issues a code that oauth4webapi accepts with iss and state, stored hashed and bound to the request", async ({
    expect,
  }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("GUEST");
    const response = await authorize(authorizeParams(client.client_id, { scope: "openid", nonce: "n-42" }), { caller });
    expect(response.status).toBe(302);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { url, params } = redirectTarget(response.headers.get("location"));
    const validated = oauth.validateAuthResponse(AS, { client_id: client.client_id }, url, "st-123");
    const code = validated.get("code") ?? "";
    expect(code).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(params.get("iss")).toBe(ISSUER);
    const { results } = await env.DB.prepare("SELECT * FROM authorization_codes WHERE client_id = ?")
      .bind(client.client_id)
      .all<Record<string, unknown>>();
    expect(results).toHaveLength(1);
    expect(JSON.stringify(results)).not.toContain(code);
    expect(results[0]).toMatchObject({
      user_id: caller.userId,
      tenant: caller.tenantId,
      redirect_uri: "https://app.example/cb",
      scopes: '["openid"]',
      code_challenge: CHALLENGE,
      nonce: "n-42",
    });
  });

  it("oauth4webapi refuses our response for another issuer (the check is real)", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const response = await authorize(authorizeParams(client.client_id, { scope: "openid" }), {
      caller: newCaller("USER"),
    });
    const { url } = redirectTarget(response.headers.get("location"));
    expect(() =>
      oauth.validateAuthResponse(
        { ...AS, issuer: "https://other.test/oauth2" },
        { client_id: client.client_id },
        url,
        "st-123",
      ),
    ).toThrow();
  });
});
