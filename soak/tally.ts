// What the soak's callers share: every request counted by operation and status, every error kept.

export type Tally = {
  requests: number;
  /** `"{operation} {status}"` → how many. */
  counts: Record<string, number>;
  /** Every answer the soak did not expect, but a 429 (a limit is not an error). */
  errors: string[];
  /** Operation → each request's latency in ms (a few hundred thousand numbers at most). */
  latencies: Record<string, number[]>;
};

export const newTally = (): Tally => ({ requests: 0, counts: {}, errors: [], latencies: {} });

/** Counts one answer of `operation`, which took `ms` from sending to the response's headers. */
export function countAnswer(tally: Tally, operation: string, status: number, ms: number): void {
  tally.requests += 1;
  const key = `${operation} ${status}`;
  tally.counts[key] = (tally.counts[key] ?? 0) + 1;
  tally.latencies[operation] ??= [];
  tally.latencies[operation].push(ms);
}

/** p50, p99 and max latency (ms, rounded) per operation: where the time went, and the slow paths. */
export function latencySummary(tally: Tally): Record<string, { p50: number; p99: number; max: number }> {
  const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return Object.fromEntries(
    Object.entries(tally.latencies)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([operation, values]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return [
          operation,
          { p50: Math.round(at(sorted, 0.5)), p99: Math.round(at(sorted, 0.99)), max: Math.round(at(sorted, 1)) },
        ];
      }),
  );
}

/** Requests whose operation starts with `prefix`, summed over statuses. */
export function requestsOf(tally: Tally, prefix: string): number {
  return Object.entries(tally.counts)
    .filter(([key]) => key.startsWith(prefix))
    .reduce((n, [, v]) => n + v, 0);
}
