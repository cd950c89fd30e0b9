/** The part of autocannon 9's API the benchmark uses (the package ships no types). */
declare module "autocannon" {
  type Options = {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Per-request overrides; `setupRequest` may rewrite a request (its path, say) before it is sent. */
    requests?: { setupRequest?: <R extends { path?: string }>(request: R) => R }[];
    connections?: number;
    duration?: number;
    timeout?: number;
  };
  type Histogram = { mean: number; p50: number; p99: number };
  type Result = {
    duration: number;
    latency: Histogram;
    errors: number;
    timeouts: number;
    statusCodeStats: Record<string, { count: number }>;
  };
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
