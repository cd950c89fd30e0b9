// `npm run bench` (issue 6): build the worker as it deploys, serve the bench build under Miniflare on a
// loopback port with local D1/KV/DO storage in a temp dir, seed it, drive every scenario with
// autocannon and write bench/results/<date>.json and the table in BENCHMARKS.md.
//   npm run bench -- [--duration S] [--warmup S] [--rounds N] [--connections N] [--only REGEX] [--startup-runs N]
//                    [--no-startup] [--no-write] [--profile]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { deriveSignatureKeyBytes } from "../src/auth/machine-key.ts";
import { signJws } from "../src/auth/sign-token.ts";
import { buildWorker, measureStartup, type StartupInfo } from "./build.ts";
import { probeFlow, runFlows } from "./flows.ts";
import { combineRounds, findWorkerdPid, type LoadResult, type MeasureHooks, probe, runLoad } from "./load.ts";
import { formatSummary, Inspector, moduleLineMap, type ProfileSummary, summariseProfile } from "./profile.ts";
import {
  addRatios,
  type BenchRecord,
  evaluateTargets,
  renderMarkdown,
  type ScenarioOutcome,
  scaleRatios,
  updateBenchmarksMd,
} from "./report.ts";
import { buildScenarios, type OAuthInputs, type Scenario } from "./scenarios.ts";
import {
  applyMigrations,
  BENCH_OAUTH,
  BENCH_PEPPER,
  BENCH_USERS,
  cursorAt,
  type OAuthSeed,
  seedBenchData,
  seedOAuthData,
  TENANT_SIZES,
} from "./seed.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const MACHINE_KEY = "1123askdasjklasbnd";
const SERVICE_TOKEN = "bench-service-token-0123456789abcdef";
/** base64url of 32 bytes: the AES key of the signing keys' private halves in D1. */
const SIGNING_KEY_ENCRYPTION_KEY = "YmVuY2gtc2lnbmluZy1rZXktZW5jcnlwdGlvbi0wMDE";
/** Loopback port of workerd's inspector in a `--profile` run. */
const INSPECTOR_PORT = 9329;

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    // Every scenario runs once per round, in order, so each floor/endpoint pair is measured `rounds` times, interleaved.
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "10" },
    only: { type: "string" },
    "startup-runs": { type: "string", default: "15" },
    "no-startup": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    // A V8 CPU profile of each measured run (bench/profile.ts); implies --no-write, since profiling slows the worker.
    profile: { type: "boolean", default: false },
  },
});
const options = {
  rounds: args.profile ? 1 : Number(args.rounds),
  durationSeconds: Number(args.duration),
  warmupSeconds: Number(args.warmup),
  connections: Number(args.connections),
};
const only = args.only ? new RegExp(args.only) : undefined;
const log = (message: string) => process.stderr.write(`${message}\n`);

/** The parts of a wrangler config that must match between the deployed and the bench build. */
type ConfigShape = {
  configPath?: string;
  compatibility_date?: string;
  compatibility_flags: string[];
  minify?: boolean;
  alias?: Record<string, string>;
  d1_databases: { binding: string; database_id?: string; migrations_dir?: string }[];
  kv_namespaces: { binding: string; id?: string }[];
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: unknown[];
  vars: Record<string, unknown>;
};

/** The bench config must carry the same bindings, migrations and module aliases as the deployed one. */
function assertSameBindings(): void {
  const read = (config: string) => unstable_readConfig({ config: path.join(ROOT, config) }) as unknown as ConfigShape;
  const prod = read("wrangler.toml");
  const bench = read("bench/wrangler.bench.toml");
  const shape = (c: ConfigShape) =>
    JSON.stringify({
      d1: c.d1_databases.map((d) => [
        d.binding,
        d.database_id,
        path.resolve(path.dirname(c.configPath ?? ""), d.migrations_dir ?? ""),
      ]),
      kv: c.kv_namespaces.map((k) => [k.binding, k.id]),
      do: c.durable_objects.bindings.map((b) => [b.name, b.class_name]),
      migrations: c.migrations,
      compatibility: [c.compatibility_date, c.compatibility_flags, c.minify],
      alias: Object.entries(c.alias ?? {}).map(([name, to]) => [
        name,
        path.resolve(path.dirname(c.configPath ?? ""), to),
      ]),
      vars: Object.keys(c.vars).sort(),
    });
  if (shape(prod) !== shape(bench)) {
    throw new Error(`bench/wrangler.bench.toml has drifted from wrangler.toml:\n${shape(prod)}\n${shape(bench)}`);
  }
}

async function sign(userId: string, tenant: number, tenantUrl = "http://127.0.0.1", admin = true): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJws(
    {
      sub: userId,
      user_id: userId,
      user_name: "Bench Admin",
      user_email: "bench@example.com",
      tenant_id: String(tenant),
      tenant_url: tenantUrl,
      is_admin: String(admin),
      is_guest: "false",
      is_public: "true",
      iat: now,
      // The longest the gateway accepts by default (MAX_SIGNATURE_TTL_SECONDS): a default run takes minutes;
      // a run over an hour (a long --duration) would see its signatures expire and its probes fail with 403.
      exp: now + 3600,
    },
    deriveSignatureKeyBytes(MACHINE_KEY),
  );
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageStart: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
  };
}

/** The payload of a compact JWS (not verified: the bench only reads its own tokens' ids). */
function jwtClaims(token: string): { jti: string; sid: string } {
  const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<
    string,
    string
  >;
  return { jti: payload.jti ?? "", sid: payload.sid ?? "" };
}

/**
 * The tokens the introspection scenarios present, obtained from the gateway itself: three setup
 * codes redeemed at POST /oauth2/token (which also creates the signing keys), one access token then
 * revoked at POST /oauth2/revoke (RFC 7009), and an x-signature minted for the bench origin.
 */
async function oauthInputs(url: string, seed: OAuthSeed): Promise<OAuthInputs> {
  const { clientId, secret, redirectUri, verifier } = BENCH_OAUTH;
  const post = async (path: string, fields: Record<string, string>) => {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...fields, client_id: clientId, client_secret: secret }).toString(),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`setup ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text || "{}") as Record<string, string>;
  };
  const redeem = (code: string | undefined) =>
    post("/oauth2/token", {
      grant_type: "authorization_code",
      code: code ?? "",
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
  const [active, revoked, refresh] = [
    await redeem(seed.setupCodes[0]),
    await redeem(seed.setupCodes[1]),
    await redeem(seed.setupCodes[2]),
  ];
  const token = (answer: Record<string, string>) => answer.access_token ?? "";
  await post("/oauth2/revoke", { token: token(revoked), token_type_hint: "access_token" });
  return {
    seed,
    originSignature: await sign(BENCH_USERS.tenant1, 1, url),
    accessToken: { token: token(active), ...jwtClaims(token(active)) },
    revokedAccessToken: { token: token(revoked), ...jwtClaims(token(revoked)) },
    refreshToken: refresh?.refresh_token ?? "",
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const info = machine();
  assertSameBindings();
  const tmp = path.join(ROOT, "bench/tmp");
  mkdirSync(tmp, { recursive: true });

  log("building the production worker and the bench worker (wrangler deploy --dry-run)…");
  const bundle = buildWorker(ROOT, "wrangler.toml", path.join(tmp, "prod"));
  const profiling = args.profile;
  const benchBundle = profiling
    ? buildWorker(ROOT, "bench/wrangler.bench.toml", path.join(tmp, "bench-profile"), false)
    : buildWorker(ROOT, "bench/wrangler.bench.toml", path.join(tmp, "bench"));
  let startup: StartupInfo | null = null;
  if (!args["no-startup"]) {
    log("measuring start-up CPU (wrangler check startup)…");
    startup = measureStartup(ROOT, "wrangler.toml", path.join(tmp, "prod"), Number(args["startup-runs"]));
  }

  const persist = mkdtempSync(path.join(os.tmpdir(), "docspace-bench-"));
  // The bundle is one ES module, so the source-module rules of the config do not apply.
  const { modulesRules: _sourceRules, ...workerOptions } = unstable_getMiniflareWorkerOptions(
    path.join(ROOT, "bench/wrangler.bench.toml"),
  ).workerOptions as Record<string, unknown> & { bindings?: Record<string, unknown> };
  // Wrangler still hands out Miniflare 4 worker options; Miniflare 5 converts them.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      ...(profiling ? { inspectorPort: INSPECTOR_PORT } : {}),
      resourcePersistencePath: persist,
      // Access logs would otherwise be printed by this process; in production they go to Workers Logs.
      handleStructuredLogs: () => {},
      workers: [
        {
          ...workerOptions,
          name: "bench",
          modules: true,
          ...(profiling ? { unsafeInspectorProxy: true } : {}),
          scriptPath: path.join(ROOT, benchBundle.file),
          bindings: {
            ...workerOptions.bindings,
            DOCSPACE_MACHINE_KEY: MACHINE_KEY,
            CLIENT_SECRET_PEPPER: BENCH_PEPPER,
            SERVICE_TOKENS: SERVICE_TOKEN,
            SIGNING_KEY_ENCRYPTION_KEY,
          },
        },
      ],
    }),
  );
  try {
    const url = (await mf.ready).toString().replace(/\/$/, "");
    const workerdPid = findWorkerdPid();
    log(`serving ${benchBundle.file} at ${url} (workerd pid ${workerdPid ?? "not found"}), storage in ${persist}`);

    const db = await mf.getD1Database("DB");
    await applyMigrations(db, path.join(ROOT, "migrations"));
    const seedStart = performance.now();
    await seedBenchData(db);
    log(
      `seeded ${Object.values(TENANT_SIZES).reduce((a, b) => a + b, 0)} clients in ${Math.round(performance.now() - seedStart)} ms`,
    );

    const oauthSeed = await seedOAuthData(db, Date.now());
    const oauth = await oauthInputs(url, oauthSeed);
    const signFlowUser = (userId: string) => sign(userId, 1, url, false);

    const scenarios = buildScenarios({
      oauth,
      signatures: {
        tenant1: await sign(BENCH_USERS.tenant1, 1),
        tenant2: await sign(BENCH_USERS.tenant2, 2),
        tenant3: await sign(BENCH_USERS.tenant3, 3),
      },
      serviceToken: SERVICE_TOKEN,
      deep: {
        tenant2: await cursorAt(db, 2, Math.floor(TENANT_SIZES[2] * 0.9)),
        tenant3: await cursorAt(db, 3, Math.floor(TENANT_SIZES[3] * 0.9)),
      },
    }).filter((s) => !only || s.id === "noop" || only.test(s.id));

    // Probe optional routes first (all are reads), so a missing route also skips its floor.
    const unavailable = new Map<string, { status: number; body: string }>();
    for (const s of scenarios.filter((x) => x.optional)) {
      const answer = await probe(url, s.request);
      if (answer.status === 404 || answer.status === 405) unavailable.set(s.id, answer);
    }

    const inspector = profiling ? await Inspector.connect(INSPECTOR_PORT, "bench") : undefined;
    const moduleOf = moduleLineMap(path.join(ROOT, benchBundle.file));
    const outcomes: ScenarioOutcome[] = [];
    const measured: Scenario[] = [];
    for (const s of scenarios) {
      const base = { id: s.id, label: s.label, kind: s.kind, compareTo: s.compareTo };
      const endpointOf = s.kind === "floor" || s.kind === "scale-floor" ? s.id.replace(/\.floor$/, "") : s.id;
      const missing = unavailable.get(s.id) ?? unavailable.get(endpointOf) ?? unavailable.get(s.compareTo ?? "");
      if (missing) {
        outcomes.push({ ...base, status: "not available", probe: missing });
        log(`- ${s.id}: not available (${missing.status})`);
        continue;
      }
      const flowFailure = s.flow ? await probeFlow(url, s.flow, signFlowUser) : undefined;
      if (flowFailure) {
        outcomes.push({ ...base, status: "probe failed", probe: { status: 0, body: flowFailure } });
        log(`- ${s.id}: probe failed ${flowFailure}`);
        continue;
      }
      const answer = await probe(url, s.request);
      if (answer.status >= 400) {
        outcomes.push({ ...base, status: "probe failed", probe: answer });
        log(`- ${s.id}: probe failed ${answer.status} ${answer.body}`);
        continue;
      }
      measured.push(s);
    }

    const rounds = new Map<string, LoadResult[]>(measured.map((s) => [s.id, []]));
    for (let round = 1; round <= options.rounds; round++) {
      if (options.rounds > 1) log(`round ${round} of ${options.rounds}`);
      for (const s of measured) {
        let profile: ProfileSummary | undefined;
        const hooks: MeasureHooks | undefined = inspector && {
          before: () => inspector.start(),
          after: async () => {
            const file = path.join(tmp, "profiles", `${s.id}.cpuprofile`);
            profile = summariseProfile(await inspector.stop(), benchBundle.file, moduleOf, file);
          },
        };
        const result = s.flow
          ? await runFlows(url, s.flow, signFlowUser, options, workerdPid, hooks)
          : await runLoad(url, s.request, options, workerdPid, hooks);
        rounds.get(s.id)?.push(result);
        log(
          `- ${s.id}: ${result.rps.toFixed(0)} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
            `cpu ${result.cpuMsPerRequest?.toFixed(3) ?? "?"} ms/req, errors ${result.errors}, 429 ${result.rateLimited}`,
        );
        if (profile) log(formatSummary(profile));
      }
    }
    for (const s of measured) {
      const pool = s.request.bodyPool;
      if (pool) log(`- ${s.id}: ${pool.used} of ${pool.bodies.length} single-use bodies taken, ${pool.overdrawn} over`);
      const result = combineRounds(rounds.get(s.id) ?? []);
      outcomes.push({ id: s.id, label: s.label, kind: s.kind, compareTo: s.compareTo, status: "measured", result });
    }
    // In scenario order, whatever was skipped.
    const order = new Map(scenarios.map((s, i) => [s.id, i]));
    outcomes.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));

    addRatios(outcomes);
    info.loadAverageEnd = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
    const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
    const partial = {
      date: startedAt.toISOString(),
      command,
      machine: info,
      options,
      bundle,
      benchBundle,
      startup,
      scenarios: outcomes,
      scaleRatios: scaleRatios(outcomes),
    };
    const record: BenchRecord = { ...partial, targets: evaluateTargets(partial) };
    const markdown = renderMarkdown(record);
    process.stdout.write(`${markdown}\n`);
    inspector?.close();
    if (!args["no-write"] && !profiling) {
      const resultsDir = path.join(ROOT, "bench/results");
      mkdirSync(resultsDir, { recursive: true });
      const file = path.join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
      writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
      updateBenchmarksMd(path.join(ROOT, "BENCHMARKS.md"), markdown);
      log(`wrote ${path.relative(ROOT, file)} and BENCHMARKS.md`);
    }
  } finally {
    await mf.dispose();
    rmSync(persist, { recursive: true, force: true });
  }
}

await main();
