import type { RateLimitDecision, RateLimitQuota } from "../durable-objects/rate-limit-policy";
import { HttpProblem, PROBLEM_TYPES, unavailable } from "../lib/problem";

/**
 * The one way into the `RateLimiter` Durable Object (SPEC §10, AS §9): take one unit of a bucket of
 * one caller key, and the IETF RateLimit headers that report it. The API's middleware, the
 * authorization server's middleware and the authorize handler all go through here.
 */

/** What to charge: the object (`key`, e.g. `client:<id>`), the bucket inside it (`policy`) and its quota. */
export type QuotaCharge = {
  key: string;
  /** The bucket, also the policy name in the headers (`post`, `token`, `introspect`, `authorize`…). */
  policy: string;
  quota: RateLimitQuota;
};

/**
 * What happens when the limiter cannot be reached: `open` admits the request (reads: they change
 * nothing, and refusing them would turn a limiter outage into a full outage), `closed` refuses it
 * (writes: none is ever admitted beyond its quota).
 */
export type OutagePolicy = "open" | "closed";

/** `RateLimit-Policy` and `RateLimit` (IETF httpapi draft, structured fields); no `RateLimit` without a decision. */
export function rateLimitHeaders(
  policy: string,
  quota: RateLimitQuota,
  decision: RateLimitDecision | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    "ratelimit-policy": `"${policy}";q=${quota.limit};w=${quota.windowMs / 1000}`,
  };
  if (decision) headers.ratelimit = `"${policy}";r=${decision.remaining};t=${decision.resetSeconds}`;
  return headers;
}

/**
 * Takes one unit from the charge's bucket. `undefined` when the limiter is unreachable, logged as
 * one JSON line with the request id and what the caller will do (`fail_open` / `fail_closed`).
 */
export async function takeQuota(
  limiter: Env["RATE_LIMITER"],
  charge: QuotaCharge,
  outage: OutagePolicy,
  requestId: string | undefined,
): Promise<RateLimitDecision | undefined> {
  try {
    return await limiter.getByName(charge.key).consume(charge.policy, charge.quota);
  } catch (error) {
    console.log(
      JSON.stringify({
        level: "warn",
        msg: "rate limiter unavailable",
        request_id: requestId ?? null,
        policy: charge.policy,
        decision: outage === "open" ? "fail_open" : "fail_closed",
        error: error instanceof Error ? error.name : "unknown",
      }),
    );
    return undefined;
  }
}

/**
 * Takes one unit and answers with the headers to put on the response, or throws the refusal: a 429
 * problem (with `Retry-After`) over quota, a 503 when the limiter is unreachable and `outage` is
 * `closed`. On the authorization server's JSON endpoints `app.onError` renders either as an OAuth
 * error (`slow_down`, `temporarily_unavailable`) with the same headers. `what` names the requests
 * in the 429 detail ("POST requests").
 */
export async function enforceQuota(
  limiter: Env["RATE_LIMITER"],
  charge: QuotaCharge,
  options: { outage: OutagePolicy; requestId: string | undefined; what: string },
): Promise<Record<string, string>> {
  const { policy, quota } = charge;
  const decision = await takeQuota(limiter, charge, options.outage, options.requestId);
  if (decision === undefined && options.outage === "closed") {
    throw new HttpProblem({
      ...unavailable("The rate limiter is unavailable; write requests are refused until it recovers.").init,
      headers: { ...rateLimitHeaders(policy, quota, undefined), "retry-after": "1" },
    });
  }
  const headers = rateLimitHeaders(policy, quota, decision);
  if (decision && !decision.allowed) {
    throw new HttpProblem({
      status: 429,
      type: PROBLEM_TYPES.quotaExceeded,
      detail: `Rate limit of ${quota.limit} ${options.what} per ${quota.windowMs / 1000} s exceeded.`,
      headers: { ...headers, "retry-after": String(decision.retryAfterSeconds) },
    });
  }
  return headers;
}
