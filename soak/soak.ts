// Bounded soak test (issues 7 and 15): `npm run soak` (not part of `npm test`).
//
// Starts the gateway with `wrangler dev` on a free loopback port with a throwaway persistence
// directory (migrations applied, rate limits raised with --var), drives a mixed workload for a
// fixed time from several concurrent callers, samples workerd's RSS from /proc, checks at the end
// that every client still alive is readable and that every refresh family the OAuth mix started
// introspects as its model says (soak/oauth-mix.ts), then stops everything it started.
//
// Each step of a caller is an OAuth step (flows, refreshes, introspections, revocations) with
// probability SOAK_OAUTH_SHARE (default 0.8; 0 is the management-only soak of issue 7), else a
// management step.
//
//   SOAK_SECONDS=180 SOAK_CONCURRENCY=8 [SOAK_OAUTH_SHARE=0.8] [SOAK_RUNTIME=miniflare] npm run soak
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { buildWorker } from "../bench/build.ts";
import { Inspector } from "../bench/profile.ts";
import { applyMigrations } from "../bench/seed.ts";
import { readDevVar } from "../scripts/dev-vars.ts";
import { deriveSignatureKeyBytes } from "../src/auth/machine-key.ts";
import { type Caller, sign } from "./caller.ts";
import { checkFamilies, type FamilyLedger, oauthCaller } from "./oauth-mix.ts";
import { countAnswer, latencySummary, newTally, requestsOf } from "./tally.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 180);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 8);
/** The share of steps that are OAuth traffic (soak/oauth-mix.ts); the rest is the management mix. */
const OAUTH_SHARE = Math.min(1, Math.max(0, Number(process.env.SOAK_OAUTH_SHARE ?? 0.8)));
/**
 * `wrangler` (default): the gateway as `npm start` runs it. `miniflare`: the deployed bundle under
 * Miniflare's API, which separates the gateway's memory from what wrangler dev's proxy and
 * inspector keep per request (BENCHMARKS.md, Soak).
 */
const RUNTIME = process.env.SOAK_RUNTIME === "miniflare" ? "miniflare" : "wrangler";
/** Hard cap on requests, so the loop ends even if the clock misbehaves. */
const MAX_REQUESTS = Number(process.env.SOAK_MAX_REQUESTS ?? 500_000);
const ROOT = path.resolve(import.meta.dirname, "..");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Every process whose parent chain leads to `root`. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  for (const pid of parents.keys()) {
    let p: number | undefined = pid;
    for (let hops = 0; p && p > 1 && hops < 50; hops++) {
      p = parents.get(p);
      if (p === root) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

/** Resident memory (KiB) of the workerd processes under `root`: all of it, and its anonymous part (heap, not mapped files). */
function workerdMemoryKiB(root: number): { rss: number; anon: number } {
  const total = { rss: 0, anon: 0 };
  for (const pid of descendants(root)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd")) continue;
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      total.rss += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
      total.anon += Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    } catch {
      // Gone.
    }
  }
  return total;
}

const workerdRssKiB = (root: number): number => workerdMemoryKiB(root).rss;

/** Growth over the second half of the samples, in percent: what "stable" is judged on once warm. */
function secondHalfChangePercent(samples: number[]): number | null {
  const mid = samples[Math.floor(samples.length / 2)];
  const last = samples[samples.length - 1];
  return mid && last !== undefined && samples.length >= 4 ? Math.round(((last - mid) / mid) * 1000) / 10 : null;
}

const BODY = {
  name: "Soak client",
  description: "Made by the soak test",
  redirect_uris: ["https://soak.example/cb"],
  allowed_origins: ["https://soak.example"],
  scopes: ["files:read", "openid"],
};

type Gateway = {
  /** The process whose workerd descendants are measured. */
  rssRoot: number;
  /** The gateway isolate's V8 heap in MiB (used, after a full GC when `collect`), where an inspector is available. */
  heapMiB?: (collect?: boolean) => Promise<number>;
  /** The last few KiB of the runtime's stderr, for a start-up failure. */
  errors: () => string;
  stop: () => Promise<void>;
};

/** Every quota out of the way: per method, per service token, per client on token/revoke, per IP on introspect. */
const RAISED_LIMITS = Object.fromEntries(
  ["GET", "POST", "PUT", "PATCH", "DELETE", "SERVICE", "TOKEN", "INTROSPECT"].map((m) => [
    `RATE_LIMIT_${m}`,
    "1000000",
  ]),
);

/** `npm start`'s way: `wrangler dev` (with its dev proxy and inspector), migrations applied first. */
async function startWithWranglerDev(port: number, persist: string): Promise<Gateway> {
  const inspectorPort = await freePort();
  const wrangler = path.join(ROOT, "node_modules", ".bin", "wrangler");
  const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], {
    cwd: ROOT,
    env: { ...process.env, CI: "1" },
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr}`);

  const vars = Object.entries(RAISED_LIMITS).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const server = spawn(
    wrangler,
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)]
      .concat(["--persist-to", persist, "--show-interactive-dev-session=false", "--log-level", "warn"])
      .concat(vars),
    { cwd: ROOT, env: { ...process.env, CI: "1" }, detached: true, stdio: ["ignore", "ignore", "pipe"] },
  );
  let serverErrors = "";
  server.stderr?.on("data", (chunk: Buffer) => {
    serverErrors = (serverErrors + chunk.toString()).slice(-4000);
  });
  return {
    rssRoot: server.pid ?? 0,
    errors: () => serverErrors,
    stop: async () => {
      if (server.pid && server.exitCode === null) {
        try {
          process.kill(-server.pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
    },
  };
}

/**
 * The deployed bundle (`wrangler deploy --dry-run`) under Miniflare's API, with no dev proxy: the
 * gateway's own memory, without what `wrangler dev` keeps per request. One inspector session reads the
 * gateway isolate's heap.
 */
async function startWithMiniflare(port: number, persist: string): Promise<Gateway> {
  // Inside the project (bench/tmp is git-ignored): a bundle written outside it failed to start in workerd.
  const outDir = path.join(ROOT, "bench", "tmp", "soak");
  mkdirSync(outDir, { recursive: true });
  const bundle = buildWorker(ROOT, "wrangler.toml", outDir);
  const { modulesRules: _rules, ...workerOptions } = unstable_getMiniflareWorkerOptions(
    path.join(ROOT, "wrangler.toml"),
  ).workerOptions as Record<string, unknown> & { bindings?: Record<string, unknown> };
  const inspectorPort = await freePort();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      // The gateway isolate's heap is read through workerd's inspector (the app's own memory, apart
      // from the runtime's and the local storage's).
      inspectorPort,
      resourcePersistencePath: path.join(persist, "state"),
      handleStructuredLogs: () => {},
      workers: [
        {
          ...workerOptions,
          // The config's own name: its Durable Object bindings refer to the worker by it.
          name: "docspace-oauth-gateway",
          modules: true,
          unsafeInspectorProxy: true,
          scriptPath: path.resolve(ROOT, bundle.file),
          bindings: {
            ...workerOptions.bindings,
            ...RAISED_LIMITS,
            DOCSPACE_MACHINE_KEY: readDevVar("DOCSPACE_MACHINE_KEY"),
            CLIENT_SECRET_PEPPER: readDevVar("CLIENT_SECRET_PEPPER"),
            SERVICE_TOKENS: readDevVar("SERVICE_TOKENS"),
            SIGNING_KEY_ENCRYPTION_KEY: readDevVar("SIGNING_KEY_ENCRYPTION_KEY"),
          },
        },
      ],
    }),
  );
  await mf.ready;
  await applyMigrations(await mf.getD1Database("DB"), path.join(ROOT, "migrations"));
  const inspector = await Inspector.connect(inspectorPort, "docspace-oauth-gateway");
  return {
    rssRoot: process.pid,
    heapMiB: async (collect = false) => {
      if (collect) await inspector.send("HeapProfiler.collectGarbage");
      const { usedSize } = await inspector.send<{ usedSize: number }>("Runtime.getHeapUsage");
      return Math.round((usedSize / 2 ** 20) * 10) / 10;
    },
    errors: () => "",
    stop: async () => {
      inspector.close();
      await mf.dispose();
    },
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const port = await freePort();
  const persist = mkdtempSync(path.join(tmpdir(), "gateway-soak-"));
  console.log(
    `soak: ${SECONDS}s, ${CONCURRENCY} callers, OAuth share ${OAUTH_SHARE}, ${RUNTIME}, port ${port}, state in ${persist}`,
  );
  const gateway =
    RUNTIME === "miniflare" ? await startWithMiniflare(port, persist) : await startWithWranglerDev(port, persist);
  const stop = () => {
    void gateway.stop();
  };
  // Whatever happens, nothing outlives the soak.
  const hardStop = setTimeout(
    () => {
      console.error("soak: hard time limit reached");
      stop();
      process.exit(2);
    },
    (SECONDS + 240) * 1000,
  );
  hardStop.unref();
  process.on("SIGINT", () => {
    stop();
    process.exit(130);
  });

  try {
    const origin = `http://127.0.0.1:${port}`;
    const base = `${origin}/api/2.0`;
    const key = deriveSignatureKeyBytes(readDevVar("DOCSPACE_MACHINE_KEY"));
    const probe = await sign(key, { userId: crypto.randomUUID(), tenantId: 1, role: "ADMIN" });
    const readyBy = Date.now() + 90_000;
    for (;;) {
      try {
        const r = await fetch(`${base}/scopes`, { headers: { "x-signature": probe } });
        if (r.status === 200) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > readyBy) throw new Error(`gateway did not start: ${gateway.errors()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    // Warm up so the first RSS sample is of a running worker, not of an idle one.
    for (let i = 0; i < 20; i++) await fetch(`${base}/scopes`, { headers: { "x-signature": probe } });
    const rssStart = workerdRssKiB(gateway.rssRoot);
    const rssSamples = [rssStart];
    const heapStart = await gateway.heapMiB?.(true);
    const heapSamples: number[] = heapStart === undefined ? [] : [heapStart];

    const tally = newTally();
    const { counts, errors } = tally;
    const ledger: FamilyLedger = [];
    const deadline = Date.now() + SECONDS * 1000;
    const live = new Map<string, Caller>();

    const sampler = setInterval(() => {
      rssSamples.push(workerdRssKiB(gateway.rssRoot));
      void gateway.heapMiB?.().then((mib) => heapSamples.push(mib));
    }, 10_000);

    async function worker(index: number): Promise<void> {
      const caller: Caller = {
        userId: crypto.randomUUID(),
        tenantId: 1000 + index,
        role: index % 2 ? "USER" : "ADMIN",
      };
      let signature = await sign(key, caller);
      let signedAt = Date.now();
      const mine: string[] = [];
      const oauth = oauthCaller({ origin, key, tally, ledger, index });
      const send = async (op: string, method: string, p: string, body?: unknown): Promise<Response | undefined> => {
        const sent = performance.now();
        const response = await fetch(`${base}${p}`, {
          method,
          headers: { "x-signature": signature, ...(body ? { "content-type": "application/json" } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        countAnswer(tally, op, response.status, performance.now() - sent);
        if (response.status >= 400 && response.status !== 429) {
          errors.push(`${op} ${method} ${p} → ${response.status} ${(await response.text()).slice(0, 200)}`);
          return undefined;
        }
        return response;
      };
      while (Date.now() < deadline && tally.requests < MAX_REQUESTS) {
        if (Date.now() - signedAt > 240_000) {
          signature = await sign(key, caller);
          signedAt = Date.now();
        }
        if (Math.random() < OAUTH_SHARE) {
          await oauth.step();
          continue;
        }
        const roll = Math.random();
        const target = mine[Math.floor(Math.random() * mine.length)];
        if (mine.length < 3 || roll < 0.15) {
          const r = await send("create", "POST", "/clients", BODY);
          if (r?.status === 201) {
            const id = ((await r.json()) as { client_id: string }).client_id;
            mine.push(id);
            live.set(id, caller);
          }
        } else if (roll < 0.4) {
          await (await send("get", "GET", `/clients/${target}`))?.arrayBuffer();
        } else if (roll < 0.5) {
          await (await send("list", "GET", "/clients?limit=20"))?.arrayBuffer();
        } else if (roll < 0.55) {
          await (await send("info", "GET", `/clients/${target}/info`))?.arrayBuffer();
        } else if (roll < 0.6) {
          await (await send("public-info", "GET", `/clients/${target}/public/info`))?.arrayBuffer();
        } else if (roll < 0.75) {
          await (
            await send("update", "PUT", `/clients/${target}`, {
              name: `Soak ${tally.requests}`,
              allowed_origins: ["https://soak.example"],
            })
          )?.arrayBuffer();
        } else if (roll < 0.83) {
          await (
            await send("activation", "PATCH", `/clients/${target}/activation`, { status: Math.random() < 0.5 })
          )?.arrayBuffer();
        } else if (roll < 0.88) {
          await (await send("regenerate", "PATCH", `/clients/${target}/regenerate`))?.arrayBuffer();
        } else if (roll < 0.93) {
          await (await send("revoke", "DELETE", `/clients/${target}/revoke`))?.arrayBuffer();
        } else if (roll < 0.96) {
          await (await send("scopes", "GET", "/scopes"))?.arrayBuffer();
        } else if (target) {
          const r = await send("delete", "DELETE", `/clients/${target}`);
          await r?.arrayBuffer();
          if (r?.status === 200) {
            mine.splice(mine.indexOf(target), 1);
            live.delete(target);
          }
        }
      }
    }

    await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => worker(i)));
    clearInterval(sampler);
    const { rss: rssEnd, anon: rssAnonEnd } = workerdMemoryKiB(gateway.rssRoot);
    rssSamples.push(rssEnd);
    const heapEnd = await gateway.heapMiB?.(true);

    // Every client still alive must be readable by its owner.
    let unreadable = 0;
    for (const [id, caller] of live) {
      const r = await fetch(`${base}/clients/${id}`, { headers: { "x-signature": await sign(key, caller) } });
      const body = r.status === 200 ? ((await r.json()) as { client_id?: string }) : undefined;
      if (body?.client_id !== id) unreadable += 1;
    }
    // Every refresh family the OAuth mix started introspects as its model says.
    const families = await checkFamilies(origin, ledger);

    const elapsed = (Date.now() - started) / 1000;
    const { requests } = tally;
    const summary = {
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      oauth_share: OAUTH_SHARE,
      requests,
      requests_per_second: Math.round(requests / SECONDS),
      requests_by_kind: {
        management: requests - requestsOf(tally, "oauth:"),
        oauth_introspect: requestsOf(tally, "oauth:introspect"),
        oauth_other: requestsOf(tally, "oauth:") - requestsOf(tally, "oauth:introspect"),
      },
      non_429_errors: errors.length,
      rate_limited: Object.entries(counts)
        .filter(([k]) => k.endsWith(" 429"))
        .reduce((n, [, v]) => n + v, 0),
      clients_alive_at_end: live.size,
      clients_unreadable_at_end: unreadable,
      refresh_families: {
        started: families.families,
        live_at_end: families.live,
        revoked_by: families.revoked,
        end_introspections_as_expected: families.answers_as_expected,
        end_introspections_wrong: families.wrong_answers.length,
      },
      workerd_rss_kib: {
        start: rssStart,
        end: rssEnd,
        max: Math.max(...rssSamples),
        anonymous_at_end: rssAnonEnd,
        second_half_change_percent: secondHalfChangePercent(rssSamples),
        every_10s: rssSamples,
      },
      // Miniflare only: the gateway isolate's live V8 heap, after a full GC at start and end.
      ...(heapStart === undefined
        ? {}
        : {
            isolate_heap_mib: {
              start_after_gc: heapStart,
              end_after_gc: heapEnd,
              max: Math.max(...heapSamples),
              every_10s: heapSamples,
            },
          }),
      by_operation_and_status: counts,
      latency_ms_by_operation: latencySummary(tally),
      wall_seconds: Math.round(elapsed),
    };
    console.log(JSON.stringify(summary, null, 2));
    if (errors.length > 0) console.error(`first errors:\n${errors.slice(0, 10).join("\n")}`);
    if (families.wrong_answers.length > 0) {
      console.error(`first wrong end-of-run introspections:\n${families.wrong_answers.slice(0, 10).join("\n")}`);
    }
    process.exitCode = errors.length === 0 && unreadable === 0 && families.wrong_answers.length === 0 ? 0 : 1;
  } finally {
    await gateway.stop();
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(persist, { recursive: true, force: true });
  }
}

await main();
