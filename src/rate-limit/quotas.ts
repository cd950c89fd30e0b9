import type { RateLimitQuota } from "../durable-objects/rate-limit-policy";

/**
 * Every quota of the rate limiter (SPEC §10, AS §9), read from the Worker's vars per request. A
 * missing value, or anything but a positive whole number, uses the default: a typo in a var must
 * neither switch a limit off nor refuse every request.
 */

/** The API's limited methods; HEAD counts as GET. */
export const LIMITED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type LimitedMethod = (typeof LIMITED_METHODS)[number];

const DEFAULT_LIMITS: Record<LimitedMethod, number> = { GET: 200, POST: 10, PUT: 15, PATCH: 15, DELETE: 15 };

/** The var that configures each method's limit. */
const LIMIT_VARS = {
  GET: "RATE_LIMIT_GET",
  POST: "RATE_LIMIT_POST",
  PUT: "RATE_LIMIT_PUT",
  PATCH: "RATE_LIMIT_PATCH",
  DELETE: "RATE_LIMIT_DELETE",
} as const satisfies Record<LimitedMethod, keyof Env>;

/** `RATE_LIMIT_TOKEN` default: requests per window per client on `/oauth2/token` and `/oauth2/revoke` (AS §9). */
export const DEFAULT_TOKEN_LIMIT = 60;
/** `RATE_LIMIT_INTROSPECT` default: requests per window per client, else per IP, on `/oauth2/introspect` (AS §9). */
export const DEFAULT_INTROSPECT_LIMIT = 6000;

function positiveInt(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

const windowMs = (env: Env) => positiveInt(env.RATE_LIMIT_WINDOW_SECONDS, 60) * 1000;

/** The quota for a method from vars (`RATE_LIMIT_<METHOD>`, `RATE_LIMIT_WINDOW_SECONDS`), DocSpace's defaults otherwise. */
export function quotaFor(env: Env, method: LimitedMethod): RateLimitQuota {
  return { limit: positiveInt(env[LIMIT_VARS[method]], DEFAULT_LIMITS[method]), windowMs: windowMs(env) };
}

/** The quota of a service token across all methods (`RATE_LIMIT_SERVICE` per window, default 6000). */
export function serviceQuota(env: Env): RateLimitQuota {
  return { limit: positiveInt(env.RATE_LIMIT_SERVICE, 6000), windowMs: windowMs(env) };
}

/** The quota of one client on `/oauth2/token`, and separately on `/oauth2/revoke` (`RATE_LIMIT_TOKEN`, 60). */
export function tokenQuota(env: Env): RateLimitQuota {
  return { limit: positiveInt(env.RATE_LIMIT_TOKEN, DEFAULT_TOKEN_LIMIT), windowMs: windowMs(env) };
}

/** The quota of one client (or IP) on `/oauth2/introspect` (`RATE_LIMIT_INTROSPECT`, 6000). */
export function introspectQuota(env: Env): RateLimitQuota {
  return { limit: positiveInt(env.RATE_LIMIT_INTROSPECT, DEFAULT_INTROSPECT_LIMIT), windowMs: windowMs(env) };
}

/**
 * The quota of one user (or IP) on `/oauth2/authorize`. AS §11 names no var for it: a visit to the
 * authorization endpoint is a browser navigation, so it gets the GET quota (`RATE_LIMIT_GET`, 200).
 */
export function authorizeQuota(env: Env): RateLimitQuota {
  return quotaFor(env, "GET");
}
