import fc from "fast-check";
import { describe, it } from "vitest";
import { decideRateLimit, type RateLimitQuota } from "../../src/durable-objects/rate-limit-policy";

// The pure GCRA decision behind the RateLimiter Durable Object (SPEC §10), driven by an explicit
// clock: bursts, window edges, refill, and the remaining / reset / retry-after values it reports.

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const POST: RateLimitQuota = { limit: 10, windowMs: 60_000 };

/** Feeds requests through the policy like the Durable Object does: state changes only when allowed. */
function bucket(quota: RateLimitQuota, tat?: number) {
  let stored = tat;
  return {
    hit(now: number) {
      const decision = decideRateLimit(stored, now, quota);
      if (decision.allowed) stored = decision.tat;
      return decision;
    },
    get tat() {
      return stored;
    },
  };
}

describe("decideRateLimit", () => {
  it("a fresh bucket admits a burst of exactly `limit`, counting remaining down to 0", ({ expect }) => {
    const b = bucket(POST);
    const decisions = Array.from({ length: 12 }, () => b.hit(T0));
    expect(decisions.map((d) => d.allowed)).toEqual([...Array(10).fill(true), false, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0]);
  });

  it("reports reset as the seconds until the quota is whole again", ({ expect }) => {
    const b = bucket(POST);
    // One slot refills every 6 s (60 s / 10), so k requests need 6k s to be forgotten.
    expect(b.hit(T0).resetSeconds).toBe(6);
    expect(b.hit(T0).resetSeconds).toBe(12);
    for (let i = 0; i < 8; i++) b.hit(T0);
    expect(b.tat).toBe(T0 + 60_000);
    const refused = b.hit(T0);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, resetSeconds: 60, tat: T0 + 60_000 });
  });

  it("retry-after is the time until one slot refills, rounded up, and at least 1 s", ({ expect }) => {
    const b = bucket(POST);
    for (let i = 0; i < 10; i++) b.hit(T0);
    expect(b.hit(T0).retryAfterSeconds).toBe(6);
    expect(b.hit(T0 + 2_500).retryAfterSeconds).toBe(4);
    expect(b.hit(T0 + 5_999).retryAfterSeconds).toBe(1);
    expect(b.hit(T0).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it("allowed decisions carry retry-after 0", ({ expect }) => {
    expect(decideRateLimit(undefined, T0, POST).retryAfterSeconds).toBe(0);
  });

  it("refills one slot per window/limit: refused 1 ms before, admitted exactly at the edge", ({ expect }) => {
    const b = bucket(POST);
    for (let i = 0; i < 10; i++) b.hit(T0);
    expect(b.hit(T0 + 5_999).allowed).toBe(false);
    const edge = b.hit(T0 + 6_000);
    expect(edge).toMatchObject({ allowed: true, remaining: 0 });
    // That slot is used again; the next one opens 6 s later.
    expect(b.hit(T0 + 6_000).allowed).toBe(false);
    expect(b.hit(T0 + 11_999).allowed).toBe(false);
    expect(b.hit(T0 + 12_000).allowed).toBe(true);
  });

  it("after a full window of silence the bucket is fresh again", ({ expect }) => {
    const b = bucket(POST);
    for (let i = 0; i < 10; i++) b.hit(T0);
    expect(decideRateLimit(b.tat, T0 + 60_000, POST)).toEqual(decideRateLimit(undefined, T0 + 60_000, POST));
    const decisions = Array.from({ length: 11 }, () => b.hit(T0 + 60_000));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    // State far in the past behaves exactly like no state.
    expect(decideRateLimit(T0 - 3_600_000, T0, POST)).toEqual(decideRateLimit(undefined, T0, POST));
  });

  it("half a window refills half the quota", ({ expect }) => {
    const b = bucket(POST);
    for (let i = 0; i < 10; i++) b.hit(T0);
    const decisions = Array.from({ length: 6 }, () => b.hit(T0 + 30_000));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
  });

  it("limit 1: one request per window, retry-after the whole window", ({ expect }) => {
    const b = bucket({ limit: 1, windowMs: 60_000 });
    expect(b.hit(T0)).toMatchObject({ allowed: true, remaining: 0, resetSeconds: 60 });
    expect(b.hit(T0 + 1)).toMatchObject({ allowed: false, retryAfterSeconds: 60 });
    expect(b.hit(T0 + 59_999).allowed).toBe(false);
    expect(b.hit(T0 + 60_000).allowed).toBe(true);
  });

  it("a limit that does not divide the window is still exact (no float drift)", ({ expect }) => {
    const b = bucket({ limit: 7, windowMs: 60_000 });
    const burst = Array.from({ length: 8 }, () => b.hit(T0));
    expect(burst.map((d) => d.allowed)).toEqual([true, true, true, true, true, true, true, false]);
    expect(burst.map((d) => d.remaining)).toEqual([6, 5, 4, 3, 2, 1, 0, 0]);
    expect(burst[6]?.resetSeconds).toBe(60);
  });

  it("a clock that goes backwards never admits more than the burst", ({ expect }) => {
    const b = bucket(POST);
    for (let i = 0; i < 10; i++) b.hit(T0);
    expect(b.hit(T0 - 30_000).allowed).toBe(false);
  });

  it("property: `remaining` is exactly how many more requests are admitted right now", ({ expect }) => {
    expect(() =>
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 50 }),
          fc.integer({ min: 1, max: 120 }),
          fc.array(fc.integer({ min: 0, max: 90_000 }), { maxLength: 60 }),
          (limit, windowSeconds, gaps) => {
            const quota = { limit, windowMs: windowSeconds * 1000 };
            const b = bucket(quota);
            let now = T0;
            for (const gap of gaps) {
              now += gap;
              b.hit(now);
            }
            const probe = decideRateLimit(b.tat, now, quota);
            if (!probe.allowed) return probe.remaining === 0;
            const after = bucket(quota, probe.tat);
            for (let i = 0; i < probe.remaining; i++) if (!after.hit(now).allowed) return false;
            return !after.hit(now).allowed;
          },
        ),
      ),
    ).not.toThrow();
  });

  it("property: a refused request is admitted after its retry-after, and never exceeds the GCRA bound", ({
    expect,
  }) => {
    expect(() =>
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 1, max: 120 }),
          fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 120 }),
          (limit, windowSeconds, gaps) => {
            const quota = { limit, windowMs: windowSeconds * 1000 };
            const interval = quota.windowMs / limit;
            const b = bucket(quota);
            const admitted: number[] = [];
            let now = T0;
            for (const gap of gaps) {
              now += gap;
              const tatBefore = b.tat;
              const decision = b.hit(now);
              if (decision.allowed) admitted.push(now);
              else if (!decideRateLimit(tatBefore, now + decision.retryAfterSeconds * 1000, quota).allowed)
                return false;
            }
            // GCRA: at most `limit` at once, plus one per refill interval elapsed.
            for (let i = 0; i < admitted.length; i++) {
              for (let j = i; j < admitted.length; j++) {
                const span = (admitted[j] ?? 0) - (admitted[i] ?? 0);
                if (j - i + 1 > limit + Math.floor(span / interval + 1e-9)) return false;
              }
            }
            return true;
          },
        ),
      ),
    ).not.toThrow();
  });
});
