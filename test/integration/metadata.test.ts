import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import { beforeAll, describe, it } from "vitest";
import { createDb } from "../../src/db/client";
import { SCOPE_CACHE_MS, supportedScopes } from "../../src/services/discovery";
import { appFetcher } from "../helpers/app";
import { faultyD1 } from "../helpers/faults";
import { warmUpWorker } from "../helpers/stored-state";

// The authorization server's metadata (AS §1, §2) through the real worker and D1: one document at
// four discovery paths, built from the request's origin and the scopes table; cacheable, readable
// from any origin, never rate limited, answered from memory when warm; accepted by openid-client
// and oauth4webapi as they discover a server.

const ORIGIN = "http://gateway.test";
const ISSUER = `${ORIGIN}/oauth2`;
const PATHS = [
  "/oauth2/.well-known/openid-configuration",
  "/.well-known/openid-configuration",
  "/.well-known/oauth-authorization-server/oauth2",
  "/.well-known/oauth-authorization-server",
];

type Fetcher = (request: Request) => Promise<Response>;
const workerFetch: Fetcher = (request) => exports.default.fetch(request);
const CLIENT_AUTH = ["client_secret_post", "client_secret_basic", "none"];

async function tableScopes(): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT name FROM scopes ORDER BY name").all<{ name: string }>();
  return results.map((row) => row.name);
}

beforeAll(warmUpWorker, 60_000);

describe("the document", () => {
  it("says exactly what AS §2 lists, under the issuer {origin}/oauth2", async ({ expect }) => {
    const response = await workerFetch(new Request(`${ORIGIN}${PATHS[0]}`));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const document = (await response.json()) as Record<string, unknown>;
    const scopes = await tableScopes();
    expect(document).toEqual({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks`,
      introspection_endpoint: `${ISSUER}/introspect`,
      revocation_endpoint: `${ISSUER}/revoke`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      scopes_supported: ["openid", ...scopes.filter((scope) => scope !== "openid")],
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code", "refresh_token", "personal_access_token"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: CLIENT_AUTH,
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
      revocation_endpoint_auth_methods_supported: CLIENT_AUTH,
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256", "ES256"],
      authorization_response_iss_parameter_supported: true,
      claims_supported: expect.arrayContaining([
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "azp",
        "name",
        "email",
        "client_id",
        "cid",
        "tid",
        "scope",
        "sid",
      ]),
    });
    // The seeded scopes (migrations/0001) are all there, openid among them.
    expect(scopes).toContain("openid");
    expect(document.scopes_supported).toHaveLength(scopes.length);
  });

  it("is identical at all four paths, with the same headers", async ({ expect }) => {
    const bodies: string[] = [];
    for (const path of PATHS) {
      const response = await workerFetch(
        new Request(`${ORIGIN}${path}`, { headers: { origin: "https://spa.example" } }),
      );
      expect(response.status, path).toBe(200);
      expect(response.headers.get("cache-control"), path).toBe("public, max-age=300");
      expect(response.headers.get("access-control-allow-origin"), path).toBe("*");
      expect(response.headers.get("access-control-allow-credentials"), path).toBeNull();
      expect(response.headers.get("x-request-id"), path).toBeTruthy();
      bodies.push(await response.text());
    }
    expect(new Set(bodies).size).toBe(1);
  });

  it("takes its issuer and endpoints from the request's origin (scheme, host and port)", async ({ expect }) => {
    for (const origin of ["https://docspace.example", "https://tenant.example:8443", "http://127.0.0.1:8092"]) {
      const response = await workerFetch(new Request(`${origin}/.well-known/openid-configuration`));
      const document = (await response.json()) as Record<string, string>;
      expect(document.issuer).toBe(`${origin}/oauth2`);
      expect(document.jwks_uri).toBe(`${origin}/oauth2/jwks`);
      expect(document.authorization_endpoint).toBe(`${origin}/oauth2/authorize`);
    }
  });

  it("is never rate limited: a GET quota of 1 changes nothing and no quota header is sent", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_GET: "1", RATE_LIMIT_WINDOW_SECONDS: "3600" } });
    for (let i = 0; i < 5; i++) {
      for (const path of PATHS) {
        const response = await fetcher(
          new Request(`${ORIGIN}${path}`, { headers: { "cf-connecting-ip": "2001:db8::2:1" } }),
        );
        expect(response.status, path).toBe(200);
        expect(response.headers.get("ratelimit-policy"), path).toBeNull();
        expect(response.headers.get("ratelimit"), path).toBeNull();
      }
    }
  });
});

describe("CORS preflight", () => {
  it.for([...PATHS, "/oauth2/jwks"])(
    "OPTIONS %s answers 204 for any origin, without credentials",
    async (path, { expect }) => {
      const response = await workerFetch(
        new Request(`${ORIGIN}${path}`, {
          method: "OPTIONS",
          headers: {
            origin: "https://spa.example",
            "access-control-request-method": "GET",
            "access-control-request-headers": "accept",
          },
        }),
      );
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
      expect(response.headers.get("access-control-allow-methods")).toContain("GET");
      expect(response.headers.get("access-control-allow-credentials")).toBeNull();
      expect(response.headers.get("x-request-id")).toBeTruthy();
      expect(await response.text()).toBe("");
    },
  );

  it("is not offered on the API", async ({ expect }) => {
    const response = await workerFetch(new Request(`${ORIGIN}/api/2.0/scopes`, { method: "OPTIONS" }));
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("answered from memory", () => {
  it("a warm read makes zero D1 operations", async ({ expect }) => {
    const { db: binding, counter } = faultyD1(env.DB);
    const fetcher = appFetcher({ env: { DB: binding } });
    const first = await fetcher(new Request(`${ORIGIN}${PATHS[0]}`));
    expect(first.status).toBe(200);
    const afterFirst = counter.calls.length;
    expect(afterFirst).toBeGreaterThan(0);
    for (const path of PATHS) {
      const again = await fetcher(new Request(`${ORIGIN}${path}`));
      expect(again.status).toBe(200);
    }
    expect(counter.calls.length).toBe(afterFirst);
  });

  it("the scope list is read again after SCOPE_CACHE_MS, and a clock that went back reads again", async ({
    expect,
  }) => {
    const { db: binding, counter } = faultyD1(env.DB);
    const db = createDb(binding);
    const now = Date.now();
    await supportedScopes({ db, now });
    const reads = counter.calls.length;
    await supportedScopes({ db, now: now + SCOPE_CACHE_MS - 1 });
    expect(counter.calls.length).toBe(reads);
    await supportedScopes({ db, now: now + SCOPE_CACHE_MS });
    expect(counter.calls.length).toBe(reads * 2);
    await supportedScopes({ db, now: now - 1 });
    expect(counter.calls.length).toBe(reads * 3);
  });

  it("advertises openid even when the scopes table lacks it", async ({ expect }) => {
    await env.DB.prepare("DELETE FROM scopes WHERE name = 'openid'").run();
    try {
      const { db: binding } = faultyD1(env.DB);
      const scopes = await supportedScopes({ db: createDb(binding), now: Date.now() });
      expect(scopes[0]).toBe("openid");
      expect(scopes.filter((scope) => scope === "openid")).toHaveLength(1);
      expect(scopes.slice(1)).toEqual(await tableScopes());
    } finally {
      await env.DB.prepare("INSERT INTO scopes (name, \"group\", type) VALUES ('openid', 'openid', 'openid')").run();
    }
  });

  it("a D1 failure is a 503 problem, and is not remembered", async ({ expect }) => {
    const { db: binding } = faultyD1(env.DB, { failAt: 1 });
    const fetcher = appFetcher({ env: { DB: binding } });
    const failed = await fetcher(new Request(`${ORIGIN}${PATHS[1]}`));
    expect(failed.status).toBe(503);
    expect(failed.headers.get("content-type")).toBe("application/problem+json");
    const recovered = await fetcher(new Request(`${ORIGIN}${PATHS[1]}`));
    expect(recovered.status).toBe(200);
  });
});

describe("standard clients accept the document", () => {
  const insecureWorkerFetch = {
    [oauth.customFetch]: (url: string, init: RequestInit) => workerFetch(new Request(url, init)),
    [oauth.allowInsecureRequests]: true,
  };

  it.for(["oidc", "oauth2"] as const)(
    "oauth4webapi discoveryRequest (algorithm %s) + processDiscoveryResponse",
    async (algorithm, { expect }) => {
      const issuer = new URL(ISSUER);
      const response = await oauth.discoveryRequest(issuer, { algorithm, ...insecureWorkerFetch });
      // oidc: {issuer}/.well-known/openid-configuration; oauth2 (RFC 8414): /.well-known/oauth-authorization-server/oauth2
      expect(new URL(response.url).pathname).toBe(
        algorithm === "oidc" ? PATHS[0] : "/.well-known/oauth-authorization-server/oauth2",
      );
      const metadata = await oauth.processDiscoveryResponse(issuer, response);
      expect(metadata.issuer).toBe(ISSUER);
      expect(metadata.token_endpoint).toBe(`${ISSUER}/token`);
    },
  );

  it.for(PATHS)("oauth4webapi processDiscoveryResponse accepts the document served at %s", async (path, { expect }) => {
    const response = await workerFetch(new Request(`${ORIGIN}${path}`));
    const metadata = await oauth.processDiscoveryResponse(new URL(ISSUER), response);
    expect(metadata.jwks_uri).toBe(`${ISSUER}/jwks`);
  });

  it.for(["oidc", "oauth2"] as const)("openid-client discovery() (algorithm %s)", async (algorithm, { expect }) => {
    const config = await openid.discovery(new URL(ISSUER), crypto.randomUUID(), undefined, undefined, {
      algorithm,
      execute: [openid.allowInsecureRequests],
      [openid.customFetch]: (url, init) => workerFetch(new Request(url, init as RequestInit)),
    });
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(ISSUER);
    expect(metadata.supportsPKCE()).toBe(true);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.scopes_supported).toContain("openid");
  });
});
