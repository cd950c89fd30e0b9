/**
 * The whole authorization-code flow as one unit of load (issue 15): a fresh user signs in (an
 * x-signature cookie), GET /oauth2/authorize shows the consent page, the user allows (POST with the
 * page's request id and CSRF token), the client redeems the code at POST /oauth2/token. A new user
 * per flow, so every flow really asks for consent. Measured as flows per second at fixed
 * concurrency, with each flow's latency (all three requests) and workerd's CPU per flow.
 *
 * The floor flow makes the same storage calls through the bench worker's floor routes
 * (flow-authorize, flow-decide, redeem), one request each, with no auth, rendering or signing.
 */
import { randomUUID } from "node:crypto";
import type { LoadOptions, LoadResult, MeasureHooks } from "./load.ts";
import { processCpuTicks } from "./load.ts";
import { BENCH_OAUTH } from "./seed.ts";

/** Mints an x-signature for a user of tenant 1 whose `tenant_url` is the bench origin. */
export type SignUser = (userId: string) => Promise<string>;

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const LIMITER_OFF = { "x-bench-limiter": "off" };

class FlowError extends Error {}

async function expectStatus(response: Response, status: number, step: string): Promise<void> {
  if (response.status !== status) {
    throw new FlowError(`${step}: ${response.status} ${(await response.text()).slice(0, 200)}`);
  }
}

/** One flow through the gateway: consent page, decision, redemption. Throws on any unexpected answer. */
async function gatewayFlow(baseUrl: string, sign: SignUser): Promise<void> {
  const { clientId, redirectUri, challenge, verifier, secret } = BENCH_OAUTH;
  const cookie = `x-signature=${await sign(randomUUID())}`;
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: "files:read rooms:read",
    state: "bench-flow",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  const page = await fetch(`${baseUrl}/oauth2/authorize?${query}`, {
    headers: { cookie, ...LIMITER_OFF },
    redirect: "manual",
  });
  await expectStatus(page, 200, "consent page");
  const html = await page.text();
  const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1];
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  if (!requestId || !csrfToken) throw new FlowError("consent page without its form");

  const decision = await fetch(`${baseUrl}/oauth2/authorize`, {
    method: "POST",
    headers: { ...FORM, cookie, origin: baseUrl, "sec-fetch-site": "same-origin", ...LIMITER_OFF },
    body: new URLSearchParams({ request_id: requestId, csrf_token: csrfToken, decision: "allow" }).toString(),
    redirect: "manual",
  });
  await expectStatus(decision, 302, "decision");
  await decision.arrayBuffer();
  const code = new URL(decision.headers.get("location") ?? "http://x/").searchParams.get("code");
  if (!code) throw new FlowError(`decision without a code: ${decision.headers.get("location")}`);

  const token = await fetch(`${baseUrl}/oauth2/token`, {
    method: "POST",
    headers: { ...FORM, ...LIMITER_OFF },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: clientId,
      client_secret: secret,
    }).toString(),
  });
  await expectStatus(token, 200, "token");
  await token.arrayBuffer();
}

/** The same storage calls, through the floor routes. */
async function floorFlow(baseUrl: string): Promise<void> {
  const who = `id=${BENCH_OAUTH.clientId}&tenant=1&user=${randomUUID()}`;
  const start = await fetch(`${baseUrl}/__bench/floor/flow-authorize?${who}`);
  await expectStatus(start, 200, "floor authorize");
  const { request_id: requestId } = (await start.json()) as { request_id: string };
  const decide = await fetch(`${baseUrl}/__bench/floor/flow-decide?${who}`, {
    method: "POST",
    headers: FORM,
    body: new URLSearchParams({ request_id: requestId }).toString(),
  });
  await expectStatus(decide, 200, "floor decide");
  const { code } = (await decide.json()) as { code: string };
  const redeem = await fetch(`${baseUrl}/__bench/floor/redeem?${who}`, {
    method: "POST",
    headers: FORM,
    body: new URLSearchParams({ code }).toString(),
  });
  await expectStatus(redeem, 200, "floor redeem");
  await redeem.arrayBuffer();
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);

/** Runs flows on `connections` concurrent loops for `seconds`; latencies in ms, errors counted (first few kept). */
async function driveFlows(
  flow: () => Promise<void>,
  connections: number,
  seconds: number,
): Promise<{ latencies: number[]; errors: number; seconds: number; firstErrors: string[] }> {
  const latencies: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await flow();
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors++;
          if (firstErrors.length < 3) firstErrors.push(String(error));
        }
      }
    }),
  );
  return { latencies, errors, seconds: (performance.now() - started) / 1000, firstErrors };
}

/** One probe flow: undefined when it went through, else why not. */
export async function probeFlow(
  baseUrl: string,
  kind: "endpoint" | "floor",
  sign: SignUser,
): Promise<string | undefined> {
  try {
    await (kind === "endpoint" ? gatewayFlow(baseUrl, sign) : floorFlow(baseUrl));
    return undefined;
  } catch (error) {
    return String(error);
  }
}

/** Warm-up, then a measured run of flows; the same `LoadResult` as an autocannon scenario, one "request" per flow. */
export async function runFlows(
  baseUrl: string,
  kind: "endpoint" | "floor",
  sign: SignUser,
  options: LoadOptions,
  workerdPid: number | undefined,
  hooks?: MeasureHooks,
): Promise<LoadResult> {
  const flow = kind === "endpoint" ? () => gatewayFlow(baseUrl, sign) : () => floorFlow(baseUrl);
  if (options.warmupSeconds > 0) await driveFlows(flow, options.connections, options.warmupSeconds);
  await hooks?.before();
  const cpuBefore = workerdPid === undefined ? undefined : processCpuTicks(workerdPid);
  const run = await driveFlows(flow, options.connections, options.durationSeconds);
  const cpuAfter = workerdPid === undefined ? undefined : processCpuTicks(workerdPid);
  await hooks?.after();
  if (run.firstErrors.length > 0) process.stderr.write(`  flow errors: ${run.firstErrors.join(" | ")}\n`);
  const sorted = [...run.latencies].sort((a, b) => a - b);
  const flows = sorted.length;
  const cpuMs = cpuBefore === undefined || cpuAfter === undefined ? null : (cpuAfter - cpuBefore) * 10;
  return {
    requests: flows,
    seconds: run.seconds,
    rps: flows / run.seconds,
    latencyMs: {
      mean: flows === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / flows,
      p50: Math.round(percentile(sorted, 50)),
      p99: Math.round(percentile(sorted, 99)),
    },
    statusCounts: { "200": flows },
    errors: run.errors,
    rateLimited: 0,
    cpuMsPerRequest: cpuMs === null || flows === 0 ? null : cpuMs / flows,
  };
}
