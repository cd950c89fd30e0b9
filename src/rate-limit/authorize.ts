import { rateLimitHeaders, takeQuota } from "./limiter";
import { authorizeQuota } from "./quotas";

/**
 * The `/oauth2/authorize` limit (AS §9), for the authorize handler to call: one unit of the
 * `authorize` bucket of the signed-in user (`user:<tenant>:<user>`, the same object as the user's
 * API buckets) or, before sign-in, of the IP. It returns a decision instead of throwing, because the
 * handler answers a refusal its own way: a redirect with `error=temporarily_unavailable` once the
 * redirect URI is known (RFC 6749 has no rate-limit error), an error page before.
 */

/** Who is charged: the signed-in user, else the IP. */
export type AuthorizeCaller = { tenantId: number; userId: string } | { ip: string | null };

/** The limiter object of an authorize request. */
export function authorizeRateLimitKey(caller: AuthorizeCaller): string {
  return "userId" in caller ? `user:${caller.tenantId}:${caller.userId}` : `ip:${caller.ip ?? "unknown"}`;
}

export type AuthorizeRateLimit = {
  /** Whether the request may go on. */
  allowed: boolean;
  /** `quota_exceeded` (over quota) or `limiter_unavailable` (refused because the limiter is unreachable). */
  reason?: "quota_exceeded" | "limiter_unavailable";
  /** Seconds to wait, when refused. */
  retryAfterSeconds?: number;
  /** `RateLimit-Policy`, `RateLimit` (when a decision was made) and, when refused, `Retry-After`. */
  headers: Record<string, string>;
};

/**
 * Takes one unit of the caller's `authorize` bucket. A limiter outage refuses (fails closed, like
 * every write of SPEC §10: an authorize request stores a pending request or a code in D1), and is
 * logged with the request id.
 */
export async function takeAuthorizeQuota(
  env: Env,
  caller: AuthorizeCaller,
  requestId?: string,
): Promise<AuthorizeRateLimit> {
  const quota = authorizeQuota(env);
  const policy = "authorize";
  const decision = await takeQuota(
    env.RATE_LIMITER,
    { key: authorizeRateLimitKey(caller), policy, quota },
    "closed",
    requestId,
  );
  const headers = rateLimitHeaders(policy, quota, decision);
  if (decision === undefined) {
    return {
      allowed: false,
      reason: "limiter_unavailable",
      retryAfterSeconds: 1,
      headers: { ...headers, "retry-after": "1" },
    };
  }
  if (!decision.allowed) {
    const retryAfter = String(decision.retryAfterSeconds);
    return {
      allowed: false,
      reason: "quota_exceeded",
      retryAfterSeconds: decision.retryAfterSeconds,
      headers: { ...headers, "retry-after": retryAfter },
    };
  }
  return { allowed: true, headers };
}
