import { createMiddleware } from "hono/factory";
import type { RateLimitDecision, RateLimitQuota } from "../durable-objects/rate-limit-policy";
import type { AppEnv } from "../env";
import { HttpProblem, PROBLEM_TYPES, unavailable } from "../lib/problem";

const LIMITED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type LimitedMethod = (typeof LIMITED_METHODS)[number];

const DEFAULT_LIMITS: Record<LimitedMethod, number> = { GET: 200, POST: 10, PUT: 15, PATCH: 15, DELETE: 15 };

/** The var that configures each method's limit. */
const LIMIT_VARS = {
  GET: "RATE_LIMIT_GET",
  POST: "RATE_LIMIT_POST",
  PUT: "RATE_LIMIT_PUT",
  PATCH: "RATE_LIMIT_PATCH",
  DELETE: "RATE_LIMIT_DELETE",
} as const satisfies Record<LimitedMethod, keyof Env>;

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** The quota for a method from vars (`RATE_LIMIT_<METHOD>`, `RATE_LIMIT_WINDOW_SECONDS`), DocSpace's defaults otherwise. */
export function quotaFor(env: Env, method: LimitedMethod): RateLimitQuota {
  return {
    limit: positiveInt(env[LIMIT_VARS[method]], DEFAULT_LIMITS[method]),
    windowMs: positiveInt(env.RATE_LIMIT_WINDOW_SECONDS, 60) * 1000,
  };
}

/** `RateLimit-Policy` and `RateLimit` (IETF httpapi draft, structured fields). */
function rateLimitHeaders(policy: string, quota: RateLimitQuota, decision: RateLimitDecision | undefined) {
  const headers: Record<string, string> = {
    "ratelimit-policy": `"${policy}";q=${quota.limit};w=${quota.windowMs / 1000}`,
  };
  if (decision) headers.ratelimit = `"${policy}";r=${decision.remaining};t=${decision.resetSeconds}`;
  return headers;
}

/** Paths keyed by client IP even when signed (SPEC §10: public info). */
const IP_KEYED_PATH = /\/clients\/[^/]+\/public\/info\/?$/;

/**
 * Token status is not limited for a verified service token: resource servers call it on every
 * request, and one limiter object per service token would cap the whole fleet's throughput and
 * add a round trip (and, with writes failing closed, a limiter outage would refuse every check).
 * The route only reads KV. Requests without a valid service token are limited by IP as usual.
 */
const UNLIMITED_SERVICE_PATH = /\/oauth2\/tokens\/status\/?$/;

/** The quota of a service token across all methods (`RATE_LIMIT_SERVICE` per window, default 6000). */
export function serviceQuota(env: Env): RateLimitQuota {
  return {
    limit: positiveInt(env.RATE_LIMIT_SERVICE, 6000),
    windowMs: positiveInt(env.RATE_LIMIT_WINDOW_SECONDS, 60) * 1000,
  };
}

/**
 * Exact per-caller, per-method limits held by the `RateLimiter` Durable Object (SPEC §10).
 * Key: the verified service token (one "service" bucket for all methods), else the verified user
 * (per tenant), else the client IP.
 *
 * If the limiter cannot be reached, reads fail open (they change nothing, and refusing them
 * would turn a limiter outage into a full outage) and writes fail closed with 503, so that no
 * write is ever admitted beyond its quota. Both cases are logged.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const method = c.req.method === "HEAD" ? "GET" : c.req.method;
  if (!(LIMITED_METHODS as readonly string[]).includes(method)) return next();
  const limitedMethod = method as LimitedMethod;
  const service = c.get("service");
  if (service !== undefined && UNLIMITED_SERVICE_PATH.test(c.req.path)) return next();
  const quota = service !== undefined ? serviceQuota(c.env) : quotaFor(c.env, limitedMethod);
  const policy = service !== undefined ? "service" : limitedMethod.toLowerCase();
  const principal = c.get("principal");
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  const key =
    service !== undefined
      ? `service:${service}`
      : principal && !IP_KEYED_PATH.test(c.req.path)
        ? `user:${principal.tenantId}:${principal.userId}`
        : `ip:${ip}`;

  let decision: RateLimitDecision | undefined;
  try {
    decision = await c.env.RATE_LIMITER.getByName(key).consume(policy, quota);
  } catch (error) {
    console.log(
      JSON.stringify({
        level: "warn",
        msg: "rate limiter unavailable",
        request_id: c.get("requestId"),
        decision: limitedMethod === "GET" ? "fail_open" : "fail_closed",
        error: error instanceof Error ? error.name : "unknown",
      }),
    );
    if (limitedMethod !== "GET") {
      throw new HttpProblem({
        ...unavailable("The rate limiter is unavailable; write requests are refused until it recovers.").init,
        headers: { ...rateLimitHeaders(policy, quota, undefined), "retry-after": "1" },
      });
    }
  }

  const headers = rateLimitHeaders(policy, quota, decision);
  if (decision && !decision.allowed) {
    throw new HttpProblem({
      status: 429,
      type: PROBLEM_TYPES.quotaExceeded,
      detail: `Rate limit of ${quota.limit} ${limitedMethod} requests per ${quota.windowMs / 1000} s exceeded.`,
      headers: { ...headers, "retry-after": String(decision.retryAfterSeconds) },
    });
  }
  await next();
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
});
