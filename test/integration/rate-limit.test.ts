import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, it, vi } from "vitest";
import type { RateLimitDecision, RateLimitQuota } from "../../src/durable-objects/rate-limit-policy";
import type { RateLimiter } from "../../src/durable-objects/rate-limiter";
import { call, clientBody, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { unreachableDurableObjects } from "../helpers/faults";
import { newCaller } from "../helpers/signature";

// SPEC §10 through the worker and the real RateLimiter Durable Object: exact admission under
// concurrency, the IETF RateLimit headers on every response, 429 problem bodies, limits from
// vars, keys (user vs IP), and the documented behaviour when the limiter is unreachable.

const RATE_LIMIT = /^"(get|post|put|patch|delete)";r=(\d+);t=(\d+)$/;

/** A documentation-range address no other test uses, for IP-keyed (unsigned) requests. */
const uniqueIp = () => `2001:db8::${crypto.getRandomValues(new Uint16Array(3)).join(":")}`;

const countClients = (tenant: number) =>
  env.DB.prepare("SELECT COUNT(*) AS n FROM clients WHERE tenant = ?").bind(tenant).first<number>("n");

function rateLimitValues(res: Response) {
  const match = RATE_LIMIT.exec(res.headers.get("ratelimit") ?? "");
  return match ? { policy: match[1], remaining: Number(match[2]), reset: Number(match[3]) } : undefined;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("exact admission", () => {
  it("with a limit of N = 5, firing 3N concurrent requests admits exactly N", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_POST: "5" } });
    const caller = newCaller("USER");
    const responses = await Promise.all(
      Array.from({ length: 15 }, () => call("POST", "/clients", { caller, body: clientBody(), fetcher })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(await countClients(caller.tenantId)).toBe(5);

    // The object serialises the burst: each admitted request saw a distinct remaining count.
    const admitted = responses.filter((r) => r.status === 201).map((r) => rateLimitValues(r)?.remaining);
    expect(admitted.sort()).toEqual([0, 1, 2, 3, 4]);
    for (const res of responses) {
      expect(res.headers.get("ratelimit-policy")).toBe('"post";q=5;w=60');
      expect(rateLimitValues(res)?.policy).toBe("post");
    }
  });

  it("sequential requests count remaining down and the (N+1)th is a 429 problem", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_POST: "3" } });
    const caller = newCaller("ADMIN");
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call("POST", "/clients", { caller, body: clientBody(), fetcher });
      expect(res.status).toBe(201);
      const values = rateLimitValues(res);
      remaining.push(values?.remaining ?? -1);
      // GCRA: every admitted request holds a slot for window / limit = 20 s.
      expect(values?.reset).toBeGreaterThanOrEqual(1);
      expect(values?.reset).toBeLessThanOrEqual(60);
    }
    expect(remaining).toEqual([2, 1, 0]);

    const limited = await call("POST", "/clients", { caller, body: clientBody(), fetcher });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toBe("application/problem+json");
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(rateLimitValues(limited)).toMatchObject({ policy: "post", remaining: 0 });
    const problem = (await limited.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({
      status: 429,
      title: "Too Many Requests",
      instance: "/api/2.0/clients",
      request_id: limited.headers.get("x-request-id"),
    });
    expect(String(problem.type)).toMatch(/#quota-exceeded$/);
    expect(await countClients(caller.tenantId)).toBe(3);
  });
});

describe("RateLimit headers", () => {
  it("are on every response of the API, successes and errors alike", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const cases: [string, string, Parameters<typeof call>[2], number][] = [
      ["POST", "/clients", { caller: admin, body: clientBody() }, 201],
      [
        "PUT",
        `/clients/${client_id}`,
        { caller: admin, body: { name: "Headers", allowed_origins: ["https://a.example"] } },
        200,
      ],
      ["PATCH", `/clients/${client_id}/activation`, { caller: admin, body: { status: "yes" } }, 400],
      ["POST", "/clients", { caller: admin, rawBody: "name=x", headers: { "content-type": "text/plain" } }, 415],
      ["POST", "/clients", { body: clientBody(), headers: { "cf-connecting-ip": uniqueIp() } }, 403],
      [
        "PUT",
        `/clients/${crypto.randomUUID()}`,
        { caller: admin, body: { name: "Nobody", allowed_origins: ["https://a.example"] } },
        404,
      ],
      ["DELETE", "/no-such-route", { caller: admin }, 404],
      ["PATCH", `/clients/${client_id}/revoke`, { caller: admin }, 405],
      ["DELETE", `/clients/${client_id}/revoke`, { caller: admin }, 200],
    ];
    for (const [method, path, options, status] of cases) {
      const res = await call(method, path, options);
      expect(res.status, `${method} ${path}`).toBe(status);
      const policy = method.toLowerCase();
      expect(res.headers.get("ratelimit-policy"), `${method} ${path}`).toBe(`"${policy}";q=100000;w=60`);
      expect(rateLimitValues(res)?.policy, `${method} ${path}`).toBe(policy);
    }
  });

  it("limits and the window come from vars", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_PUT: "2", RATE_LIMIT_WINDOW_SECONDS: "30" } });
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const put = () =>
      call("PUT", `/clients/${client_id}`, {
        caller: admin,
        body: { name: "Vars", allowed_origins: ["https://a.example"] },
        fetcher,
      });
    const statuses = [(await put()).status, (await put()).status];
    const third = await put();
    expect([...statuses, third.status]).toEqual([200, 200, 429]);
    expect(third.headers.get("ratelimit-policy")).toBe('"put";q=2;w=30');
    // One slot refills every 30 s / 2 = 15 s.
    expect(Number(third.headers.get("retry-after"))).toBeLessThanOrEqual(15);
  });

  it("invalid limit vars fall back to DocSpace's defaults", async ({ expect }) => {
    const fetcher = appFetcher({
      env: { RATE_LIMIT_POST: "lots", RATE_LIMIT_DELETE: "-3", RATE_LIMIT_WINDOW_SECONDS: "0" },
    });
    const caller = newCaller("USER");
    const post = await call("POST", "/clients", { caller, body: clientBody(), fetcher });
    expect(post.headers.get("ratelimit-policy")).toBe('"post";q=10;w=60');
    const del = await call("DELETE", `/clients/${crypto.randomUUID()}`, { caller, fetcher });
    expect(del.headers.get("ratelimit-policy")).toBe('"delete";q=15;w=60');
  });
});

describe("keys and buckets", () => {
  it("each method has its own bucket and each user its own key", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_POST: "1" } });
    const admin = newCaller("ADMIN");
    const colleague = newCaller("ADMIN", admin.tenantId);
    expect((await call("POST", "/clients", { caller: admin, body: clientBody(), fetcher })).status).toBe(201);
    expect((await call("POST", "/clients", { caller: admin, body: clientBody(), fetcher })).status).toBe(429);
    // Another user of the same tenant, and another method of the same user, are unaffected.
    expect((await call("POST", "/clients", { caller: colleague, body: clientBody(), fetcher })).status).toBe(201);
    const { client_id } = await createClientAs(admin);
    const put = await call("PUT", `/clients/${client_id}`, {
      caller: admin,
      body: { name: "Other bucket", allowed_origins: ["https://a.example"] },
      fetcher,
    });
    expect(put.status).toBe(200);
  });

  it("unsigned and badly signed requests are keyed by client IP, signed ones by user", async ({ expect }) => {
    const fetcher = appFetcher({ env: { RATE_LIMIT_POST: "2" } });
    const ip = uniqueIp();
    const fromIp = (options: Parameters<typeof call>[2] = {}) =>
      call("POST", "/clients", { ...options, body: clientBody(), headers: { "cf-connecting-ip": ip }, fetcher });
    expect((await fromIp()).status).toBe(403);
    expect((await fromIp({ signature: "not.a.token" })).status).toBe(403);
    // The IP's quota is spent even though both requests were refused for their signature.
    expect((await fromIp()).status).toBe(429);
    const other = await call("POST", "/clients", {
      body: clientBody(),
      headers: { "cf-connecting-ip": uniqueIp() },
      fetcher,
    });
    expect(other.status).toBe(403);
    // A signed caller behind the same IP has its own quota.
    expect((await fromIp({ caller: newCaller("USER") })).status).toBe(201);
  });
});

describe("the RateLimiter Durable Object", () => {
  const stubFor = (name: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name));
  type Consume = { consume(bucket: string, quota: RateLimitQuota, now?: number): Promise<RateLimitDecision> };

  it("keeps its state in SQLite across an eviction", async ({ expect }) => {
    const stub = stubFor(`test:${crypto.randomUUID()}`);
    const limiter = stub as unknown as Consume;
    const quota = { limit: 3, windowMs: 60_000 };
    const now = Date.now();
    expect((await limiter.consume("post", quota, now)).allowed).toBe(true);
    expect((await limiter.consume("post", quota, now)).allowed).toBe(true);
    await evictDurableObject(stub);
    const third = await limiter.consume("post", quota, now);
    expect(third).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limiter.consume("post", quota, now)).allowed).toBe(false);
    // Buckets are per method inside one object.
    expect((await limiter.consume("put", quota, now)).allowed).toBe(true);
    const rows = await runInDurableObject(stub, (_instance: RateLimiter, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM buckets ORDER BY name").toArray(),
    );
    expect(rows.map((r) => r.name)).toEqual(["post", "put"]);
  });

  it("its alarm only drops buckets that have refilled completely", async ({ expect }) => {
    const stub = stubFor(`test:${crypto.randomUUID()}`);
    const limiter = stub as unknown as Consume;
    const quota = { limit: 2, windowMs: 60_000 };
    await limiter.consume("get", quota, Date.now() - 10 * 60_000);
    await limiter.consume("post", quota, Date.now());
    await runDurableObjectAlarm(stub);
    const rows = await runInDurableObject(stub, (_instance: RateLimiter, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM buckets ORDER BY name").toArray(),
    );
    expect(rows.map((r) => r.name)).toEqual(["post"]);
    // The live bucket still limits.
    expect((await limiter.consume("post", quota, Date.now())).remaining).toBe(0);
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

  it("writes fail closed with 503 and change nothing", async ({ expect }) => {
    const log = vi.spyOn(console, "log");
    const fetcher = offline();
    const admin = newCaller("ADMIN");
    const { client_id } = await createClientAs(admin);
    const before = await env.DB.prepare("SELECT * FROM clients WHERE client_id = ?").bind(client_id).first();

    const writes: [string, string, unknown][] = [
      ["POST", "/clients", clientBody()],
      ["PUT", `/clients/${client_id}`, { name: "Offline", allowed_origins: ["https://a.example"] }],
      ["PATCH", `/clients/${client_id}/activation`, { status: false }],
      ["PATCH", `/clients/${client_id}/regenerate`, undefined],
      ["DELETE", `/clients/${client_id}`, undefined],
    ];
    for (const [method, path, body] of writes) {
      const res = await call(method, path, { caller: admin, body, fetcher });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.headers.get("ratelimit-policy")).toBe(`"${method.toLowerCase()}";q=100000;w=60`);
      expect(((await res.json()) as { type: string }).type).toMatch(/#dependency-unavailable$/);
    }
    expect(await countClients(admin.tenantId)).toBe(1);
    expect(await env.DB.prepare("SELECT * FROM clients WHERE client_id = ?").bind(client_id).first()).toEqual(before);

    const decisions = log.mock.calls
      .map(([line]) => (typeof line === "string" && line.startsWith("{") ? JSON.parse(line) : undefined))
      .filter((entry) => entry?.msg === "rate limiter unavailable")
      .map((entry) => entry.decision);
    expect(decisions).toEqual(Array(writes.length).fill("fail_closed"));
  });

  it("reads fail open and are logged as such", async ({ expect }) => {
    const log = vi.spyOn(console, "log");
    const res = await call("GET", "/docs/problems", {
      headers: { "x-request-id": "offline-read-1" },
      fetcher: offline(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toBe('"get";q=100000;w=60');
    // No decision was made, so there is no RateLimit header to report.
    expect(res.headers.get("ratelimit")).toBeNull();
    const warned = log.mock.calls
      .map(([line]) => (typeof line === "string" && line.startsWith("{") ? JSON.parse(line) : undefined))
      .filter((entry) => entry?.msg === "rate limiter unavailable" && entry.request_id === "offline-read-1");
    expect(warned).toEqual([expect.objectContaining({ level: "warn", decision: "fail_open" })]);
  });
});
