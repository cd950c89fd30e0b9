import { env, exports } from "cloudflare:workers";
import * as openid from "openid-client";
import { describe, it } from "vitest";
import { jtiRevocationKey } from "../../src/revocation/revocations";
import { appFetcher } from "../helpers/app";
import { faultyKV } from "../helpers/faults";
import { discover, grant, isActive, postForm, REVOKE_URL } from "../helpers/introspection";
import { newClient, refreshCall } from "../helpers/token-endpoint";

// POST /oauth2/revoke (RFC 7009, AS §8): the authenticated client's own refresh token revokes its
// family (and so the family's access tokens), its own access token is revoked by jti until it
// expires; anything else changes nothing and answers the same empty 200.

const jtiOf = (accessToken: string): string =>
  JSON.parse(atob((accessToken.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))).jti;

describe("revoking my own tokens (openid-client tokenRevocation)", () => {
  it("a refresh token: the family, its access tokens and its refresh token are dead", async ({ expect }) => {
    const g = await grant();
    const config = await discover(g.client);
    await openid.tokenRevocation(config, g.refreshToken, { token_type_hint: "refresh_token" });
    expect(await isActive(g.refreshToken)).toBe(false);
    expect(await isActive(g.accessToken)).toBe(false);
    const refreshed = await refreshCall(g.client, g.refreshToken);
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("an access token: that token only, by jti with a TTL to its expiry (+60 s); the grant lives on", async ({
    expect,
  }) => {
    const g = await grant();
    const sibling = await grant({ client: g.client, caller: g.caller });
    const config = await discover(g.client, openid.ClientSecretBasic(g.client.client_secret));
    await openid.tokenRevocation(config, g.accessToken);
    expect(await isActive(g.accessToken)).toBe(false);
    expect(await isActive(g.refreshToken)).toBe(true);
    expect(await isActive(sibling.accessToken)).toBe(true);

    const stored = await env.REVOCATIONS.getWithMetadata(jtiRevocationKey(jtiOf(g.accessToken)));
    expect(stored.value).not.toBeNull();
    const listed = await env.REVOCATIONS.list({ prefix: jtiRevocationKey(jtiOf(g.accessToken)) });
    const expiration = listed.keys[0]?.expiration ?? 0;
    const exp = JSON.parse(atob((g.accessToken.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"))).exp;
    expect(expiration).toBeGreaterThanOrEqual(exp + 55);
    expect(expiration).toBeLessThanOrEqual(exp + 65);
  });

  it("a public PKCE client revokes with none; the answer is an empty 200 with no-store", async ({ expect }) => {
    const g = await grant({ clientOverrides: { allow_pkce: true } });
    const response = await postForm(REVOKE_URL, { token: g.refreshToken, client_id: g.client.client_id });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await isActive(g.refreshToken)).toBe(false);
  });
});

describe("nothing happens", () => {
  it("another client revoking my tokens: 200, and they stay active", async ({ expect }) => {
    const mine = await grant();
    const other = await newClient();
    const config = await discover(other);
    await openid.tokenRevocation(config, mine.refreshToken);
    await openid.tokenRevocation(config, mine.accessToken);
    expect(await isActive(mine.refreshToken)).toBe(true);
    expect(await isActive(mine.accessToken)).toBe(true);
  });

  it("an unknown, malformed or foreign-issuer token: 200", async ({ expect }) => {
    const g = await grant();
    const config = await discover(g.client);
    await openid.tokenRevocation(config, "unknown-token");
    await openid.tokenRevocation(config, "a.b.c");
    const foreign = await exports.default.fetch(
      new Request("http://other-tenant.example/oauth2/revoke", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token: g.accessToken,
          client_id: g.client.client_id,
          client_secret: g.client.client_secret,
        }),
      }),
    );
    expect(foreign.status).toBe(200);
    expect(await isActive(g.accessToken)).toBe(true);
  });
});

describe("refused requests", () => {
  it("no or wrong client authentication: 401 invalid_client, and nothing is revoked", async ({ expect }) => {
    const g = await grant();
    for (const response of [
      await postForm(REVOKE_URL, { token: g.refreshToken }),
      await postForm(REVOKE_URL, { token: g.refreshToken, client_id: g.client.client_id }),
      await postForm(REVOKE_URL, { token: g.refreshToken }, { basic: { id: g.client.client_id, secret: "wrong" } }),
    ]) {
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_client");
    }
    expect(await isActive(g.refreshToken)).toBe(true);
  });

  it("a missing token: 400 invalid_request", async ({ expect }) => {
    const g = await grant();
    const response = await postForm(REVOKE_URL, {
      client_id: g.client.client_id,
      client_secret: g.client.client_secret,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_request", error_description: "token is required." });
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});

describe("the stores", () => {
  it("KV refusing the jti entry: 503, and the access token is still active (never told revoked when it is not)", async ({
    expect,
  }) => {
    const g = await grant();
    const fetcher = appFetcher({ env: { REVOCATIONS: faultyKV(env.REVOCATIONS, { only: ["put"], failFrom: 1 }).kv } });
    const response = await postForm(
      REVOKE_URL,
      { token: g.accessToken, client_id: g.client.client_id, client_secret: g.client.client_secret },
      { fetcher },
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe("temporarily_unavailable");
    expect(await isActive(g.accessToken)).toBe(true);
  });
});
