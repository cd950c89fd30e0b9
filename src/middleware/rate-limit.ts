import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { enforceQuota } from "../rate-limit/limiter";
import { LIMITED_METHODS, type LimitedMethod, quotaFor, serviceQuota } from "../rate-limit/quotas";

/** Paths keyed by client IP even when signed (SPEC §10: public info). */
const IP_KEYED_PATH = /\/clients\/[^/]+\/public\/info\/?$/;

/**
 * Token status is not limited for a verified service token: resource servers call it on every
 * request, and one limiter object per service token would cap the whole fleet's throughput and
 * add a round trip (and, with writes failing closed, a limiter outage would refuse every check).
 * The route only reads KV. Requests without a valid service token are limited by IP as usual.
 */
const UNLIMITED_SERVICE_PATH = /\/oauth2\/tokens\/status\/?$/;

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

  const headers = await enforceQuota(
    c.env.RATE_LIMITER,
    { key, policy, quota },
    {
      outage: limitedMethod === "GET" ? "open" : "closed",
      requestId: c.get("requestId"),
      what: `${limitedMethod} requests`,
    },
  );
  await next();
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
});
