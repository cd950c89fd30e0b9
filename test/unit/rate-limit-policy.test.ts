import fc from "fast-check";
import { describe, it } from "vitest";
import { decideRateLimit, type RateLimitQuota } from "../../src/durable-objects/rate-limit-policy";

// The pure GCRA decision behind the RateLimiter Durable Object (SPEC §10), driven by an explicit
// clock: bursts, window edges, refill, and the remaining / reset / retry-after values it reports.
// What it guarantees is a token bucket's promise, not a sliding-window counter's: a burst of `limit`,
// then one request per `window / limit`. So any span of `s` ms holds at most
// `limit + floor(s / interval)` admissions, and one rolling window up to `2 × limit − 1`, never `2 × limit`.

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

/**
 * A caller that tries every millisecond from `from` to `to` (inclusive) and, at each instant, keeps
 * sending until refused: the best case a client can get. Returns the times of its admitted requests.
 */
function greedyAdmissions(quota: RateLimitQuota, from: number, to: number): number[] {
  const b = bucket(quota);
  const admitted: number[] = [];
  for (let now = from; now <= to; now++) {
    while (b.hit(now).allowed) admitted.push(now);
  }
  return admitted;
}

/** The most admissions inside any half-open span `[t, t + length)`: a rolling window of `length` ms. */
function busiestSpan(admitted: number[], length: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < admitted.length; last++) {
    while ((admitted[last] ?? 0) - (admitted[first] ?? 0) >= length) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
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

  it("the best case: a burst of 10, then one every 6 s — 19 within 54 s, the 20th exactly 60 s after the first", ({
    expect,
  }) => {
    const admitted = greedyAdmissions(POST, T0, T0 + 60_000);
    expect(admitted.slice(0, 10)).toEqual(Array(10).fill(T0));
    expect(admitted.slice(10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => T0 + k * 6_000));
    const firstWindow = admitted.filter((t) => t < T0 + 60_000);
    expect(firstWindow).toHaveLength(2 * POST.limit - 1);
    expect(firstWindow.at(-1)).toBe(T0 + 54_000);
    // Not "at most 10 per minute": a rolling minute holds 19, and never 20.
    expect(busiestSpan(admitted, 60_000)).toBe(19);
  });

  const QUOTAS: [string, RateLimitQuota][] = [
    ["1 per 60 s", { limit: 1, windowMs: 60_000 }],
    ["2 per 30 s", { limit: 2, windowMs: 30_000 }],
    ["7 per 60 s", { limit: 7, windowMs: 60_000 }],
    ["10 per 60 s", POST],
    ["15 per 60 s", { limit: 15, windowMs: 60_000 }],
    ["200 per 60 s", { limit: 200, windowMs: 60_000 }],
  ];

  it.for(QUOTAS)(
    "%s: the busiest rolling window of a greedy caller holds exactly 2×limit−1",
    ([_name, quota], { expect }) => {
      const admitted = greedyAdmissions(quota, T0, T0 + 3 * quota.windowMs);
      expect(busiestSpan(admitted, quota.windowMs)).toBe(2 * quota.limit - 1);
    },
  );

  it.for(QUOTAS)(
    "%s: over a span s a greedy caller gets exactly limit + floor(s / interval), so limit per window sustained",
    ([_name, quota], { expect }) => {
      const interval = quota.windowMs / quota.limit;
      const admitted = greedyAdmissions(quota, T0, T0 + 10 * quota.windowMs);
      for (const span of [quota.windowMs - 1, quota.windowMs, 5 * quota.windowMs + 1, 10 * quota.windowMs]) {
        const within = admitted.filter((t) => t <= T0 + span).length;
        expect(within, `span ${span} ms`).toBe(quota.limit + Math.floor(span / interval + 1e-9));
      }
      // The sustained rate: after the first burst, `limit` per window.
      expect(admitted.filter((t) => t > T0 + 5 * quota.windowMs && t <= T0 + 6 * quota.windowMs)).toHaveLength(
        quota.limit,
      );
    },
  );

  it("property: no rolling window ever holds 2×limit admissions, whatever the schedule", ({ expect }) => {
    expect(() =>
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 1, max: 120 }),
          // Mostly bursts and short gaps, so schedules press against the bound.
          fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 0, max: 130_000 })), {
            minLength: 1,
            maxLength: 300,
          }),
          (limit, windowSeconds, gaps) => {
            const quota = { limit, windowMs: windowSeconds * 1000 };
            const b = bucket(quota);
            const admitted: number[] = [];
            let now = T0;
            for (const gap of gaps) {
              now += gap;
              if (b.hit(now).allowed) admitted.push(now);
            }
            return busiestSpan(admitted, quota.windowMs) <= 2 * limit - 1;
          },
        ),
      ),
    ).not.toThrow();
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

  it("property: a refused request is admitted after its retry-after, and no span of s ms holds more than limit + floor(s / interval)", ({
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
