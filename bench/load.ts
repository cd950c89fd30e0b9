/**
 * Drives one scenario with autocannon (warm-up, then a fixed-duration measured run at fixed
 * concurrency) and reads the workerd process's CPU time from /proc around the measured run.
 */
import { readdirSync, readFileSync } from "node:fs";
import autocannon from "autocannon";

/** One HTTP request shape, repeated for the whole run. */
export type RequestShape = {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** When set, the requests take these paths in turn instead of `path` (which is still the probe's). */
  pathPool?: readonly string[];
  /**
   * Single-use bodies (codes, refresh tokens): each request, the probe included, takes the next one,
   * and the position carries over from run to run, so no body is ever sent twice. A run that would
   * need more than the pool holds sends the last one again, which the endpoint refuses: it shows
   * as errors, never as a silently cheaper request.
   */
  bodyPool?: BodyPool;
};

/** Bodies handed out once each, in order, across every run of a scenario. */
export class BodyPool {
  private next = 0;
  readonly bodies: readonly string[];
  constructor(bodies: readonly string[]) {
    this.bodies = bodies;
  }
  /** The next unused body (the last one again once the pool is spent). */
  take(): string {
    const body = this.bodies[Math.min(this.next, this.bodies.length - 1)] ?? "";
    this.next++;
    return body;
  }
  /** How many bodies were asked for beyond the pool's size. */
  get overdrawn(): number {
    return Math.max(0, this.next - this.bodies.length);
  }
  get used(): number {
    return this.next;
  }
}

export type LoadOptions = { connections: number; durationSeconds: number; warmupSeconds: number; rounds: number };

/** What one measured run produced. Latencies in milliseconds; CPU in milliseconds per request. */
export type LoadResult = {
  requests: number;
  seconds: number;
  rps: number;
  latencyMs: { mean: number; p50: number; p99: number };
  statusCounts: Record<string, number>;
  /** Non-2xx answers other than 429, plus connection errors and timeouts. */
  errors: number;
  rateLimited: number;
  cpuMsPerRequest: number | null;
  /** Requests per second of each measured round, when the scenario ran in several (see `combineRounds`). */
  roundsRps?: number[];
};

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
export function processCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces; the fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** The pid of the `workerd` child of this Node process (Miniflare spawns it), or undefined. */
export function findWorkerdPid(parentPid: number = process.pid): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parentPid && comm.startsWith("workerd")) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

/** An autocannon `setupRequest` that hands out the pool's paths round-robin and each single-use body once. */
function setupOf(shape: RequestShape) {
  let next = 0;
  const paths = shape.pathPool;
  const bodies = shape.bodyPool;
  return <R extends { path?: string; body?: string | Buffer }>(request: R): R => {
    if (paths) request.path = paths[next++ % paths.length];
    if (bodies) request.body = bodies.take();
    return request;
  };
}

function fire(baseUrl: string, shape: RequestShape, connections: number, seconds: number) {
  return autocannon({
    url: `${baseUrl}${shape.path}`,
    method: shape.method,
    headers: shape.headers,
    body: shape.body,
    ...(shape.pathPool || shape.bodyPool ? { requests: [{ setupRequest: setupOf(shape) }] } : {}),
    connections,
    duration: seconds,
    timeout: 10,
  });
}

/** Sends one request and returns its status and body (the availability probe and sanity check). */
export async function probe(baseUrl: string, shape: RequestShape): Promise<{ status: number; body: string }> {
  const response = await fetch(`${baseUrl}${shape.path}`, {
    method: shape.method,
    headers: shape.headers,
    body: shape.bodyPool ? shape.bodyPool.take() : shape.body,
  });
  return { status: response.status, body: (await response.text()).slice(0, 400) };
}

/** Called right before and right after the measured part (the `--profile` run starts and stops V8's profiler). */
export type MeasureHooks = { before(): Promise<void>; after(): Promise<void> };

/** Warms up, then measures for a fixed duration; CPU is sampled only around the measured part. */
export async function runLoad(
  baseUrl: string,
  shape: RequestShape,
  options: LoadOptions,
  workerdPid: number | undefined,
  hooks?: MeasureHooks,
): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await fire(baseUrl, shape, options.connections, options.warmupSeconds);
  await hooks?.before();
  const cpuBefore = workerdPid === undefined ? undefined : processCpuTicks(workerdPid);
  const result = await fire(baseUrl, shape, options.connections, options.durationSeconds);
  const cpuAfter = workerdPid === undefined ? undefined : processCpuTicks(workerdPid);
  await hooks?.after();

  const statusCounts: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats)) statusCounts[code] = stat.count;
  const requests = Object.values(statusCounts).reduce((a, b) => a + b, 0);
  const rateLimited = statusCounts["429"] ?? 0;
  const non2xxOther = Object.entries(statusCounts)
    .filter(([code]) => !code.startsWith("2") && code !== "429")
    .reduce((sum, [, n]) => sum + n, 0);
  const cpuMs =
    cpuBefore === undefined || cpuAfter === undefined ? null : ((cpuAfter - cpuBefore) * 1000) / CLOCK_TICKS_PER_SECOND;
  return {
    requests,
    seconds: result.duration,
    rps: requests / result.duration,
    latencyMs: { mean: result.latency.mean, p50: result.latency.p50, p99: result.latency.p99 },
    statusCounts,
    errors: non2xxOther + result.errors, // autocannon counts timeouts among errors
    rateLimited,
    cpuMsPerRequest: cpuMs === null || requests === 0 ? null : cpuMs / requests,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/**
 * One result from the rounds of a scenario. Rounds interleave every scenario (floor, endpoint,
 * floor, endpoint, …), so a drift of the machine during the run (a WAL checkpoint, another process)
 * lands on both sides of a comparison instead of on whichever ran at that moment. Totals (requests,
 * time, CPU, status counts) add up; p50 and p99 are the median of the rounds' values.
 */
export function combineRounds(rounds: LoadResult[]): LoadResult {
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const statusCounts: Record<string, number> = {};
  for (const r of rounds)
    for (const [code, n] of Object.entries(r.statusCounts)) statusCounts[code] = (statusCounts[code] ?? 0) + n;
  const cpu = rounds.every((r) => r.cpuMsPerRequest !== null)
    ? rounds.reduce((ms, r) => ms + (r.cpuMsPerRequest ?? 0) * r.requests, 0)
    : null;
  return {
    requests,
    seconds,
    rps: seconds === 0 ? 0 : requests / seconds,
    latencyMs: {
      mean: requests === 0 ? 0 : rounds.reduce((ms, r) => ms + r.latencyMs.mean * r.requests, 0) / requests,
      p50: median(rounds.map((r) => r.latencyMs.p50)),
      p99: median(rounds.map((r) => r.latencyMs.p99)),
    },
    statusCounts,
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    rateLimited: rounds.reduce((n, r) => n + r.rateLimited, 0),
    cpuMsPerRequest: cpu === null || requests === 0 ? null : cpu / requests,
    roundsRps: rounds.map((r) => Math.round(r.rps)),
  };
}
