/**
 * The rate-limit decision (SPEC §10) as a pure function of stored state and an injected clock:
 * GCRA (the generic cell rate algorithm), i.e. a token bucket that holds `limit` tokens and
 * refills one every `interval = windowMs / limit` — the behaviour of DocSpace's Bucket4j greedy
 * refill. What it guarantees:
 * - burst: at most `limit` requests at one instant (a full bucket);
 * - sustained rate: admissions that lie within `s` ms of each other, first to last, number at most
 *   `limit + floor(s / interval)`, so `limit` per window in the long run;
 * - rolling window: it is not a sliding-window counter; a span shorter than `windowMs` can hold up
 *   to `2 × limit − 1` admissions (a full burst, then one refill per interval), never `2 × limit`.
 * Exactness under concurrency is the caller's part: the RateLimiter object runs each decision and
 * its write inside one RPC call. The whole state is one number per bucket: the theoretical
 * arrival time (TAT) of the next request.
 */

export type RateLimitQuota = { limit: number; windowMs: number };

export type RateLimitDecision = {
  allowed: boolean;
  /** State to store when allowed (unchanged when refused). */
  tat: number;
  /** Requests still admissible right now after this one. */
  remaining: number;
  /** Seconds until the quota is whole again. */
  resetSeconds: number;
  /** Seconds until the next request would be admitted (0 when allowed). */
  retryAfterSeconds: number;
};

/** Decides one request against a bucket whose stored TAT is `storedTat` (undefined = fresh). */
export function decideRateLimit(storedTat: number | undefined, now: number, quota: RateLimitQuota): RateLimitDecision {
  const interval = quota.windowMs / quota.limit;
  const tat = Math.max(storedTat ?? now, now);
  const nextTat = tat + interval;
  const allowed = nextTat - now <= quota.windowMs;
  const effectiveTat = allowed ? nextTat : tat;
  const remaining = Math.max(0, Math.floor((quota.windowMs - (effectiveTat - now)) / interval + 1e-9));
  return {
    allowed,
    tat: effectiveTat,
    remaining,
    resetSeconds: Math.ceil((effectiveTat - now) / 1000),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((nextTat - quota.windowMs - now) / 1000)),
  };
}
