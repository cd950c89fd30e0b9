import { env } from "cloudflare:workers";
import { afterEach, describe, type ExpectStatic, it, vi } from "vitest";
import { disabledClientKey, familyRevocationKey } from "../../src/revocation/revocations";
import { call } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { storedFamiliesOf } from "../helpers/authorization-store";
import { faultyD1, faultyKV } from "../helpers/faults";
import { grant, isActive, manage, postForm, REVOKE_URL } from "../helpers/introspection";
import {
  codeFor,
  codeForm,
  consent,
  newClient,
  newUser,
  redeem,
  refreshCall,
  tokenCall,
} from "../helpers/token-endpoint";

// Issue 14 item 1: introspecting an access token reads KV only — one bulk get, no D1 — so a
// disabled client and a revoked refresh family must be in KV, written before D1, in the one
// revocation protocol (docs/storage.md, "The hot path").

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * A fetcher whose D1 and KV count calls, warmed by one introspection of `token` so that the
 * isolate's published keys (cached per D1 binding, src/keys/key-cache.ts) are loaded: the steady
 * state of the hot path. The counters start empty.
 */
async function countingFetcher(token: string) {
  const d1 = faultyD1(env.DB);
  const kv = faultyKV(env.REVOCATIONS);
  const fetcher = appFetcher({ env: { DB: d1.db, REVOCATIONS: kv.kv } });
  await isActive(token, { fetcher });
  d1.counter.calls.length = 0;
  kv.counter.calls.length = 0;
  return { fetcher, d1: d1.counter, kv: kv.counter };
}

/** Whether `token` introspects as active (unauthenticated); asserts one KV get and no D1 call (keys cached). */
async function activeFromKvAlone(expect: ExpectStatic, token: string): Promise<boolean> {
  const { fetcher, d1, kv } = await countingFetcher(token);
  const active = await isActive(token, { fetcher });
  expect(kv.calls, "one KV bulk get").toEqual(["get"]);
  expect(d1.calls, "no D1 call").toEqual([]);
  return active;
}

describe("the hot path", () => {
  it("an active access token of an unauthenticated introspection: KV calls 1 (one bulk get), D1 calls 0 (keys cached)", async ({
    expect,
  }) => {
    const g = await grant();
    const { fetcher, d1, kv } = await countingFetcher(g.accessToken);
    expect(await isActive(g.accessToken, { fetcher })).toBe(true);
    expect(kv.calls).toEqual(["get"]);
    expect(d1.calls).toEqual([]);
  });

  it("the bulk get names the client, consent, jti, disabled and family keys (5)", async ({ expect }) => {
    const g = await grant();
    const seen: unknown[] = [];
    const spy = vi.spyOn(env.REVOCATIONS, "get").mockImplementation(((keys: unknown, type: unknown) => {
      seen.push(keys);
      spy.mockRestore();
      return (env.REVOCATIONS.get as (k: unknown, t: unknown) => unknown)(keys, type);
    }) as typeof env.REVOCATIONS.get);
    expect(await isActive(g.accessToken)).toBe(true);
    const [keys] = seen as string[][];
    expect(keys).toHaveLength(5);
    expect(keys).toContain(disabledClientKey(g.client.client_id));
    expect(keys?.some((k) => k.startsWith("revoked:family:"))).toBe(true);
  });
});

describe("disabling a client", () => {
  it("takes effect at once from KV, comes back on re-enable, and revoke_tokens keeps tokens dead", async ({
    expect,
  }) => {
    const g = await grant();
    expect((await manage.setEnabled(g, false)).status).toBe(200);
    expect(await env.REVOCATIONS.get(disabledClientKey(g.client.client_id))).not.toBeNull();
    expect(await activeFromKvAlone(expect, g.accessToken)).toBe(false);
    expect((await manage.setEnabled(g, true)).status).toBe(200);
    expect(await env.REVOCATIONS.get(disabledClientKey(g.client.client_id))).toBeNull();
    expect(await activeFromKvAlone(expect, g.accessToken)).toBe(true);

    expect((await manage.setEnabled(g, false, true)).status).toBe(200);
    expect((await manage.setEnabled(g, true)).status).toBe(200);
    expect(await activeFromKvAlone(expect, g.accessToken)).toBe(false);
  });

  it("KV failing on the disabled write: 503 and nothing changed", async ({ expect }) => {
    const g = await grant();
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const response = await call("PATCH", `/clients/${g.client.client_id}/activation`, {
      caller: g.client.owner,
      body: { status: false },
      fetcher: appFetcher({ env: { REVOCATIONS: faultyKV(env.REVOCATIONS, { only: ["put"], failFrom: 1 }).kv } }),
    });
    expect(response.status).toBe(503);
    expect(await env.REVOCATIONS.get(disabledClientKey(g.client.client_id))).toBeNull();
    expect(await isActive(g.accessToken)).toBe(true);
    expect(await isActive(g.refreshToken)).toBe(true);
  });

  it("KV failing on the delete after re-enabling: 503, the client stays disabled to introspection; enabling again repairs it", async ({
    expect,
  }) => {
    const g = await grant();
    expect((await manage.setEnabled(g, false)).status).toBe(200);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const response = await call("PATCH", `/clients/${g.client.client_id}/activation`, {
      caller: g.client.owner,
      body: { status: true },
      fetcher: appFetcher({ env: { REVOCATIONS: faultyKV(env.REVOCATIONS, { only: ["delete"], failFrom: 1 }).kv } }),
    });
    expect(response.status).toBe(503);
    expect(await isActive(g.accessToken)).toBe(false);
    expect((await manage.setEnabled(g, true)).status).toBe(200);
    expect(await isActive(g.accessToken)).toBe(true);
  });
});

describe("one family revoked: its access tokens inactive from KV alone", () => {
  it("refresh-token reuse", async ({ expect }) => {
    const g = await grant();
    const rotated = await refreshCall(g.client, g.refreshToken);
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as { access_token: string };
    expect((await refreshCall(g.client, g.refreshToken)).status).toBe(400);
    expect(await activeFromKvAlone(expect, g.accessToken)).toBe(false);
    expect(await activeFromKvAlone(expect, next.access_token)).toBe(false);
    expect((await storedFamiliesOf(g.client.client_id))[0]).toMatchObject({ revoked_reason: "reuse" });
  });

  it("code replay", async ({ expect }) => {
    const client = await newClient();
    const user = newUser();
    await consent(client.client_id, user, ["files:read"]);
    const code = await codeFor(client.client_id, user, { scopes: ["files:read"] });
    const tokens = await redeem(client, code);
    expect(await isActive(String(tokens.access_token))).toBe(true);
    expect((await tokenCall(codeForm(client, code))).status).toBe(400);
    expect(await activeFromKvAlone(expect, String(tokens.access_token))).toBe(false);
    expect((await storedFamiliesOf(client.client_id))[0]).toMatchObject({ revoked_reason: "code_replay" });
  });

  it("RFC 7009 revocation of the refresh token", async ({ expect }) => {
    const g = await grant();
    const response = await postForm(REVOKE_URL, {
      token: g.refreshToken,
      client_id: g.client.client_id,
      client_secret: g.client.client_secret,
    });
    expect(response.status).toBe(200);
    expect(await activeFromKvAlone(expect, g.accessToken)).toBe(false);
    const [family] = await storedFamiliesOf(g.client.client_id);
    expect(family).toMatchObject({ revoked_reason: "revoked" });
    expect(await env.REVOCATIONS.get(familyRevocationKey(String(family?.family_id)))).not.toBeNull();
  });
});

describe("KV failing on a family write: 503, and the family stays live (nothing half done)", () => {
  const noPuts = () =>
    appFetcher({ env: { REVOCATIONS: faultyKV(env.REVOCATIONS, { only: ["put"], failFrom: 1 }).kv } });

  it("refresh-token reuse", async ({ expect }) => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const g = await grant();
    const rotated = await refreshCall(g.client, g.refreshToken);
    const next = (await rotated.json()) as { access_token: string; refresh_token: string };
    const reuse = await tokenCall(
      {
        grant_type: "refresh_token",
        refresh_token: g.refreshToken,
        client_id: g.client.client_id,
        client_secret: g.client.client_secret,
      },
      { fetcher: noPuts() },
    );
    expect(reuse.status).toBe(503);
    expect((await storedFamiliesOf(g.client.client_id))[0]).toMatchObject({ revoked_on: null });
    expect(await isActive(next.access_token)).toBe(true);
    expect(await isActive(next.refresh_token)).toBe(true);
    // Healthy again: the same reuse revokes.
    expect((await refreshCall(g.client, g.refreshToken)).status).toBe(400);
    expect(await isActive(next.access_token)).toBe(false);
  });

  it("RFC 7009 revocation of a refresh token", async ({ expect }) => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const g = await grant();
    const form = { token: g.refreshToken, client_id: g.client.client_id, client_secret: g.client.client_secret };
    expect((await postForm(REVOKE_URL, form, { fetcher: noPuts() })).status).toBe(503);
    expect((await storedFamiliesOf(g.client.client_id))[0]).toMatchObject({ revoked_on: null });
    expect(await isActive(g.accessToken)).toBe(true);
    expect(await isActive(g.refreshToken)).toBe(true);
  });

  it("code replay", async ({ expect }) => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const client = await newClient();
    const user = newUser();
    await consent(client.client_id, user, ["files:read"]);
    const code = await codeFor(client.client_id, user, { scopes: ["files:read"] });
    const tokens = await redeem(client, code);
    expect((await tokenCall(codeForm(client, code), { fetcher: noPuts() })).status).toBe(503);
    expect((await storedFamiliesOf(client.client_id))[0]).toMatchObject({ revoked_on: null });
    expect(await isActive(String(tokens.access_token))).toBe(true);
    expect((await tokenCall(codeForm(client, code))).status).toBe(400);
    expect(await isActive(String(tokens.access_token))).toBe(false);
  });
});
