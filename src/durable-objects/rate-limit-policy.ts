/**
 * The rate-limit decision (SPEC §10) as a pure function of stored state and an injected clock:
 * GCRA (the generic cell rate algorithm). A quota of `limit` requests per `windowMs` admits a
 * burst of up to `limit` at once and refills one slot every `windowMs / limit`. It never admits
 * more than `limit` within any window, and its whole state is one number per bucket: the
 * theoretical arrival time (TAT) of the next request.
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
