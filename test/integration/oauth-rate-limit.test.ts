import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, it, vi } from "vitest";
import { isOAuthJsonPath, oauthErrorFromProblem, oauthErrorResponse } from "../../src/lib/oauth-error";
import { HttpProblem } from "../../src/lib/problem";
import { createRouter } from "../../src/lib/router";
import { oauthRateLimit } from "../../src/middleware/oauth-rate-limit";
import { requestContext } from "../../src/middleware/request-context";
import { authorizeRateLimitKey, takeAuthorizeQuota } from "../../src/rate-limit/authorize";
import { appFetcher } from "../helpers/app";
import { unreachableDurableObjects } from "../helpers/faults";

// AS §9 through the app and the real RateLimiter object: POST /oauth2/token and /oauth2/revoke per
// client (RATE_LIMIT_TOKEN), /oauth2/introspect per client else IP (RATE_LIMIT_INTROSPECT); the
// (limit+1)th request is a 429 OAuth `slow_down` with the SPEC §10 headers; keys from HTTP Basic or
// the form's client_id, else the IP; the form body still reaches the route; outage rules; and the
// authorize bucket the authorize handler will call. Before the limit a request gets whatever the
// route answers: the token endpoint's OAuth error for these made-up clients (`answered`), the
// introspection endpoint's own answer (200 `{"active":false}`, or 400 without a form).

const ORIGIN = "http://gateway.test";
const FORM = "application/x-www-form-urlencoded";

const uniqueIp = () => `2001:db8::${crypto.getRandomValues(new Uint16Array(3)).join(":")}`;
const basic = (id: string, secret = "s3cret:+/") =>
  `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

type Post = { path?: string; form?: Record<string, string>; headers?: Record<string, string>; ip?: string };

function post(fetcher: (request: Request) => Promise<Response>, options: Post = {}): Promise<Response> {
  const headers = new Headers({ "cf-connecting-ip": options.ip ?? "2001:db8::ffff:1", ...options.headers });
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers.set("content-type", FORM);
  }
  return fetcher(new Request(`${ORIGIN}${options.path ?? "/oauth2/token"}`, { method: "POST", headers, body }));
}

/** The token endpoint's own answer to a made-up client (400 or 401), not the limiter's 429. */
const answered = (status: number) => status === 400 || status === 401;

/** Statuses of `n` sequential requests. */
async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).status);
  return out;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST /oauth2/token and /oauth2/revoke, per client", () => {
  it("the (limit+1)th request is a 429 slow_down with Retry-After, RateLimit, RateLimit-Policy and no-store", async ({
    expect,
  }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_TOKEN: "3" } });
    const client = crypto.randomUUID();
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(fetcher, { form: { client_id: client, grant_type: "refresh_token" } });
      // The token endpoint's own answer (a made-up client), with the quota headers.
      expect(answered(res.status)).toBe(true);
      expect(res.headers.get("ratelimit-policy")).toBe('"token";q=3;w=60');
      remaining.push(res.headers.get("ratelimit") ?? "");
    }
    expect(remaining.map((value) => /r=(\d+)/.exec(value)?.[1])).toEqual(["2", "1", "0"]);

    const limited = await post(fetcher, { form: { client_id: client, grant_type: "refresh_token" } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toBe("application/json");
    expect(limited.headers.get("cache-control")).toBe("no-store");
    expect(limited.headers.get("ratelimit-policy")).toBe('"token";q=3;w=60');
    expect(limited.headers.get("ratelimit")).toMatch(/^"token";r=0;t=\d+$/);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(limited.headers.get("x-request-id")).toBeTruthy();
    expect(await limited.json()).toEqual({
      error: "slow_down",
      error_description: "Rate limit of 3 requests to /oauth2/token per 60 s exceeded.",
    });
  });

  it("each client has its own quota; Basic and the form's client_id name the same client", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_TOKEN: "2" } });
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const ip = uniqueIp();
    expect(answered((await post(fetcher, { ip, form: { client_id: a } })).status)).toBe(true);
    // Basic (form-urlencoded id, upper case) counts against the same client…
    expect(answered((await post(fetcher, { ip, headers: { authorization: basic(a.toUpperCase()) } })).status)).toBe(
      true,
    );
    expect((await post(fetcher, { ip, form: { client_id: a } })).status).toBe(429);
    expect((await post(fetcher, { ip, headers: { authorization: basic(a) }, form: {} })).status).toBe(429);
    // …another client from the same IP is unaffected, and Basic wins over a form client_id.
    expect(answered((await post(fetcher, { ip, form: { client_id: b } })).status)).toBe(true);
    expect(
      answered((await post(fetcher, { ip, headers: { authorization: basic(b) }, form: { client_id: a } })).status),
    ).toBe(true);
    expect((await post(fetcher, { ip, form: { client_id: b } })).status).toBe(429);
  });

  it("a request naming no well-formed client is keyed by IP", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_TOKEN: "2" } });
    const ip = uniqueIp();
    expect(answered((await post(fetcher, { ip })).status)).toBe(true);
    expect(answered((await post(fetcher, { ip, form: { client_id: "not-a-client-id" } })).status)).toBe(true);
    // The IP's bucket is empty now: a malformed Basic credential names nobody either…
    expect((await post(fetcher, { ip, headers: { authorization: "Basic !!!" } })).status).toBe(429);
    // …while a request naming a client spends that client's quota.
    expect(answered((await post(fetcher, { ip, form: { client_id: crypto.randomUUID() } })).status)).toBe(true);
    // Two client_id fields name nobody for sure: the IP again.
    const twice = new URLSearchParams([
      ["client_id", crypto.randomUUID()],
      ["client_id", crypto.randomUUID()],
    ]).toString();
    const res = await fetcher(
      new Request(`${ORIGIN}/oauth2/token`, {
        method: "POST",
        headers: { "cf-connecting-ip": ip, "content-type": FORM },
        body: twice,
      }),
    );
    expect(res.status).toBe(429);
    // Another IP has its own bucket.
    expect(answered((await post(fetcher, { ip: uniqueIp() })).status)).toBe(true);
  });

  it("token and revocation have separate buckets of RATE_LIMIT_TOKEN each; a trailing slash is the same path", async ({
    expect,
  }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_TOKEN: "1" } });
    const client = crypto.randomUUID();
    expect(answered((await post(fetcher, { form: { client_id: client } })).status)).toBe(true);
    expect((await post(fetcher, { path: "/oauth2/token/", form: { client_id: client } })).status).toBe(429);
    const revoke = await post(fetcher, { path: "/oauth2/revoke", form: { client_id: client, token: "t" } });
    expect(revoke.status).toBe(401); // the endpoint's own answer to a made-up client
    expect(revoke.headers.get("ratelimit-policy")).toBe('"revoke";q=1;w=60');
    const limited = await post(fetcher, { path: "/oauth2/revoke", form: { client_id: client, token: "t" } });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: string }).error).toBe("slow_down");
  });

  it("only POST is limited; metadata, JWKS and GETs carry no quota", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_TOKEN: "1", RATE_LIMIT_INTROSPECT: "1" } });
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) {
      for (const path of ["/oauth2/token", "/oauth2/jwks", "/oauth2/.well-known/openid-configuration"]) {
        const res = await fetcher(new Request(`${ORIGIN}${path}`, { headers: { "cf-connecting-ip": ip } }));
        expect(res.status, path).not.toBe(429);
        expect(res.headers.get("ratelimit-policy"), path).toBeNull();
      }
    }
  });
});

describe("POST /oauth2/introspect", () => {
  it("is keyed by the client when one is named, else by IP, with RATE_LIMIT_INTROSPECT", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_INTROSPECT: "2", RATE_LIMIT_TOKEN: "1" } });
    const ip = uniqueIp();
    const path = "/oauth2/introspect";
    // DocSpace's APIs call without credentials (AS §7): the IP's bucket.
    expect(await statuses(3, () => post(fetcher, { path, ip, form: { token: "x" } }))).toEqual([200, 200, 429]);
    // A client's own bucket, by Basic or by form, regardless of the IP's.
    const client = crypto.randomUUID();
    const byClient = await statuses(3, () => post(fetcher, { path, ip, headers: { authorization: basic(client) } }));
    // No form: the endpoint's own 400, until the client's quota is spent.
    expect(byClient).toEqual([400, 400, 429]);
    const limited = await post(fetcher, { path, ip, form: { client_id: client, token: "x" } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("ratelimit-policy")).toBe('"introspect";q=2;w=60');
    expect(limited.headers.get("retry-after")).toBeTruthy();
    expect(((await limited.json()) as { error: string }).error).toBe("slow_down");
  });
});

describe("the form body still reaches the route", () => {
  /**
   * The limiter alone (as app.ts mounts it, after the request context) with a tiny echo route on a
   * limited path: what a handler that reads the body after the limiter sees. The real introspection
   * route now serves that path in the app, so the echo gets an app of its own.
   */
  function echoApp(envOverrides: Partial<Env> = {}) {
    const app = createRouter();
    app.use("*", requestContext(Date.now));
    app.use("/oauth2/*", oauthRateLimit);
    app.post("/oauth2/introspect", async (c) => {
      const form = await c.req.parseBody({ all: true });
      const text = await c.req.text();
      // formData() too: what Hono's form validator and a handler reading fields one by one use.
      const fields = [...(await c.req.formData()).keys()];
      if (fields.length !== Object.keys(form).length) throw new Error("formData() disagrees with parseBody()");
      return c.json({ form, text });
    });
    app.onError((error, c) => {
      if (error instanceof HttpProblem && isOAuthJsonPath(c.req.path)) {
        return oauthErrorResponse(oauthErrorFromProblem(error.init));
      }
      throw error;
    });
    const testEnv = { ...env, ...envOverrides } as Env;
    return async (request: Request) => {
      const ctx = createExecutionContext();
      const response = await app.fetch(request, testEnv, ctx);
      await waitOnExecutionContext(ctx);
      return response;
    };
  }

  it("a keyed form POST arrives intact (parseBody and text), and the quota headers are added", async ({ expect }) => {
    // A quota of one per client: the middleware must have read client_id from the body to key on it.
    const fetcher = echoApp({ RATE_LIMIT_INTROSPECT: "1" });
    const client = crypto.randomUUID();
    const form = {
      grant_type: "authorization_code",
      code: "a b+c/=",
      client_id: client,
      redirect_uri: "https://a.example/cb?x=1",
    };
    const path = "/oauth2/introspect";
    const res = await post(fetcher, { path, form });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toBe('"introspect";q=1;w=60');
    expect(await res.json()).toEqual({ form, text: new URLSearchParams(form).toString() });
    const other = { ...form, client_id: crypto.randomUUID() };
    const second = await post(fetcher, { path, form: other });
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ form: other, text: new URLSearchParams(other).toString() });
    expect((await post(fetcher, { path, form })).status).toBe(429);
  });

  it("the token endpoint reads the form the limiter keyed on", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_TOKEN: "1" } as Partial<Env> });
    const form = {
      grant_type: "refresh_token",
      refresh_token: "x",
      client_id: crypto.randomUUID(),
      client_secret: "s",
    };
    // The route saw client_id and client_secret (a 401 for a made-up client, not a 400 for a missing grant_type).
    const res = await post(fetcher, { form });
    expect(res.status).toBe(401);
    expect(res.headers.get("ratelimit-policy")).toBe('"token";q=1;w=60');
    expect((await post(fetcher, { form })).status).toBe(429);
  });

  it("a Basic-authenticated POST and a non-form body arrive intact too", async ({ expect }) => {
    const fetcher = echoApp();
    const withBasic = await post(fetcher, {
      path: "/oauth2/introspect",
      headers: { authorization: basic(crypto.randomUUID()) },
      form: { token: "abc", token_type_hint: "access_token" },
    });
    expect(await withBasic.json()).toEqual({
      form: { token: "abc", token_type_hint: "access_token" },
      text: "token=abc&token_type_hint=access_token",
    });
    const multipart = new FormData();
    multipart.set("client_id", crypto.randomUUID());
    multipart.set("scope", "files:read");
    const res = await fetcher(new Request(`${ORIGIN}/oauth2/introspect`, { method: "POST", body: multipart }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { form: unknown }).form).toEqual({
      client_id: multipart.get("client_id"),
      scope: "files:read",
    });
  });
});

describe("when the limiter is unreachable", () => {
  const offline = () =>
    appFetcher({
      env: {
        RATE_LIMITER: unreachableDurableObjects(
          env.RATE_LIMITER as unknown as DurableObjectNamespace,
        ) as unknown as Env["RATE_LIMITER"],
      },
    });

  it("token issuance and revocation fail closed: 503 temporarily_unavailable, Retry-After 1, logged", async ({
    expect,
  }) => {
    const log = vi.spyOn(console, "log");
    const fetcher = offline();
    for (const path of ["/oauth2/token", "/oauth2/revoke"]) {
      const res = await post(fetcher, { path, form: { client_id: crypto.randomUUID() } });
      expect(res.status, path).toBe(503);
      expect(res.headers.get("retry-after"), path).toBe("1");
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      expect(res.headers.get("ratelimit-policy"), path).toMatch(/^"(token|revoke)";q=\d+;w=60$/);
      expect(((await res.json()) as { error: string }).error, path).toBe("temporarily_unavailable");
    }
    const decisions = log.mock.calls
      .map(([line]) => (typeof line === "string" && line.startsWith("{") ? JSON.parse(line) : undefined))
      .filter((entry) => entry?.msg === "rate limiter unavailable");
    expect(decisions.map((entry) => [entry.policy, entry.decision])).toEqual([
      ["token", "fail_closed"],
      ["revoke", "fail_closed"],
    ]);
  });

  it("introspection fails open: the request goes on, without a RateLimit header", async ({ expect }) => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const res = await post(offline(), { path: "/oauth2/introspect", form: { token: "x" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toMatch(/^"introspect";q=\d+;w=60$/);
    expect(res.headers.get("ratelimit")).toBeNull();
  });
});

describe("the authorize bucket (takeAuthorizeQuota, for the authorize handler)", () => {
  const user = () => ({ tenantId: 1000 + Math.floor(Math.random() * 1e6), userId: crypto.randomUUID() });

  it("admits RATE_LIMIT_GET per window, then refuses with Retry-After and the quota headers", async ({ expect }) => {
    const testEnv = { ...env, RATE_LIMIT_GET: "2" } as Env;
    const caller = user();
    const first = await takeAuthorizeQuota(testEnv, caller);
    expect(first).toEqual({
      allowed: true,
      headers: {
        "ratelimit-policy": '"authorize";q=2;w=60',
        ratelimit: expect.stringMatching(/^"authorize";r=1;t=\d+$/),
      },
    });
    expect((await takeAuthorizeQuota(testEnv, caller)).allowed).toBe(true);
    const refused = await takeAuthorizeQuota(testEnv, caller);
    expect(refused).toMatchObject({ allowed: false, reason: "quota_exceeded" });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.headers).toMatchObject({
      "ratelimit-policy": '"authorize";q=2;w=60',
      ratelimit: expect.stringMatching(/^"authorize";r=0;t=\d+$/),
      "retry-after": String(refused.retryAfterSeconds),
    });
  });

  it("keys a signed-in user apart from their IP and from other users", async ({ expect }) => {
    const testEnv = { ...env, RATE_LIMIT_GET: "1" } as Env;
    const caller = user();
    const ip = uniqueIp();
    expect(authorizeRateLimitKey(caller)).toBe(`user:${caller.tenantId}:${caller.userId}`);
    expect(authorizeRateLimitKey({ ip })).toBe(`ip:${ip}`);
    expect((await takeAuthorizeQuota(testEnv, caller)).allowed).toBe(true);
    expect((await takeAuthorizeQuota(testEnv, caller)).allowed).toBe(false);
    expect((await takeAuthorizeQuota(testEnv, { ip })).allowed).toBe(true);
    expect((await takeAuthorizeQuota(testEnv, { ip })).allowed).toBe(false);
    expect((await takeAuthorizeQuota(testEnv, user())).allowed).toBe(true);
  });

  it("does not share a bucket with the same user's API requests", async ({ expect }) => {
    const testEnv = { ...env, RATE_LIMIT_GET: "1" } as Env;
    const caller = user();
    const stub = env.RATE_LIMITER.getByName(authorizeRateLimitKey(caller));
    await stub.consume("get", { limit: 1, windowMs: 60_000 });
    expect((await takeAuthorizeQuota(testEnv, caller)).allowed).toBe(true);
  });

  it("refuses, logged, when the limiter is unreachable (an authorize request writes)", async ({ expect }) => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const testEnv = {
      ...env,
      RATE_LIMITER: unreachableDurableObjects(env.RATE_LIMITER as unknown as DurableObjectNamespace),
    } as unknown as Env;
    const outcome = await takeAuthorizeQuota(testEnv, { ip: uniqueIp() }, "authorize-outage-1");
    expect(outcome).toEqual({
      allowed: false,
      reason: "limiter_unavailable",
      retryAfterSeconds: 1,
      headers: { "ratelimit-policy": expect.stringMatching(/^"authorize";q=\d+;w=60$/), "retry-after": "1" },
    });
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        level: "warn",
        msg: "rate limiter unavailable",
        request_id: "authorize-outage-1",
        policy: "authorize",
        decision: "fail_closed",
      }),
    ]);
  });
});
