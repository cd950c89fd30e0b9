/**
 * Turns a run into its JSON record (bench/results/<date>.json) and the generated table of
 * BENCHMARKS.md (between the `bench:results` markers; the hand-written text around it is kept).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { BundleInfo, StartupInfo } from "./build.ts";
import type { LoadOptions, LoadResult } from "./load.ts";
import type { Scenario } from "./scenarios.ts";

export type ScenarioOutcome = {
  id: string;
  label: string;
  kind: Scenario["kind"];
  compareTo?: string;
  status: "measured" | "not available" | "probe failed";
  probe?: { status: number; body: string };
  result?: LoadResult;
  /** Throughput and CPU relative to the no-op baseline of the same run. */
  vsNoop?: { rps: number; cpu: number | null };
  /** Throughput relative to `compareTo` (floor, or the endpoint without the limiter), and CPU difference. */
  vsCompare?: { rps: number; cpuDeltaMs: number | null; meanLatency: number };
};

export type Target = { name: string; goal: string; value: string; met: boolean | null };

export type BenchRecord = {
  date: string;
  command: string;
  machine: Record<string, unknown>;
  options: LoadOptions;
  bundle: BundleInfo;
  benchBundle: BundleInfo;
  startup: StartupInfo | null;
  scenarios: ScenarioOutcome[];
  scaleRatios: Record<string, number | null>;
  targets: Target[];
};

const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

const fmt = (n: number | null | undefined, digits = 2): string =>
  n === null || n === undefined || Number.isNaN(n) ? "–" : n.toFixed(digits);

/** Computes ratios against the no-op baseline and each scenario's comparison scenario. */
export function addRatios(outcomes: ScenarioOutcome[]): void {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const noop = byId.get("noop")?.result;
  for (const o of outcomes) {
    const r = o.result;
    if (!r) continue;
    if (noop) {
      o.vsNoop = {
        rps: r.rps / noop.rps,
        cpu: r.cpuMsPerRequest !== null && noop.cpuMsPerRequest ? r.cpuMsPerRequest / noop.cpuMsPerRequest : null,
      };
    }
    const other = o.compareTo ? byId.get(o.compareTo)?.result : undefined;
    if (other) {
      o.vsCompare = {
        rps: r.rps / other.rps,
        cpuDeltaMs:
          r.cpuMsPerRequest !== null && other.cpuMsPerRequest !== null
            ? r.cpuMsPerRequest - other.cpuMsPerRequest
            : null,
        meanLatency: r.latencyMs.mean / other.latencyMs.mean,
      };
    }
  }
}

/** Page latency at 100k over 1k clients (mean latency at the same concurrency), first and deep page. */
export function scaleRatios(outcomes: ScenarioOutcome[]): Record<string, number | null> {
  const mean = (id: string) => outcomes.find((o) => o.id === id)?.result?.latencyMs.mean;
  const ratio = (a: string, b: string) => {
    const x = mean(a);
    const y = mean(b);
    return x !== undefined && y !== undefined ? x / y : null;
  };
  return {
    "first page 100k/1k": ratio("scale-100k-first", "scale-1k-first"),
    "deep page 100k/1k": ratio("scale-100k-deep", "scale-1k-deep"),
    "floor first page 100k/1k": ratio("scale-100k-first.floor", "scale-1k-first.floor"),
    "floor deep page 100k/1k": ratio("scale-100k-deep.floor", "scale-1k-deep.floor"),
  };
}

/**
 * Each endpoint's goals: throughput as a share of its floor and CPU over it (issue 6 for the
 * management API, issue 15 for the authorization server). Metadata and JWKS are compared with a floor
 * that touches no storage, i.e. a no-op answered by the same worker right before them. `null`: the
 * scenario is reported without a goal.
 */
const GOALS: Record<string, { rps: number; cpuMs: number } | null> = {
  "token-status": { rps: 0.9, cpuMs: 1 },
  metadata: { rps: 0.9, cpuMs: Number.POSITIVE_INFINITY },
  jwks: { rps: 0.9, cpuMs: Number.POSITIVE_INFINITY },
  "introspect-access": { rps: 0.85, cpuMs: 0.5 },
  "introspect-revoked": { rps: 0.85, cpuMs: 0.5 },
  "token-code": { rps: 0.8, cpuMs: 1.5 },
  "token-refresh": { rps: 0.8, cpuMs: 1.5 },
  "introspect-refresh": null,
  "token-pat": null,
  "consent-page": null,
  flow: null,
};
const DEFAULT_GOAL = { rps: 0.8, cpuMs: 1 };

/** The issue's targets, checked against this run. `met: null` = not measurable in this run, or no goal. */
export function evaluateTargets(record: Omit<BenchRecord, "targets">): Target[] {
  const targets: Target[] = [];
  for (const o of record.scenarios) {
    if (o.kind !== "endpoint") continue;
    const goal = o.id in GOALS ? GOALS[o.id] : DEFAULT_GOAL;
    if (!o.vsCompare) {
      targets.push({
        name: `${o.label}: throughput vs floor`,
        goal: goal ? `≥ ${goal.rps.toFixed(2)}×` : "–",
        value: o.status,
        met: null,
      });
      continue;
    }
    targets.push({
      name: `${o.label}: throughput vs floor`,
      goal: goal ? `≥ ${goal.rps.toFixed(2)}×` : "no goal (reported)",
      value: `${fmt(o.vsCompare.rps)}×`,
      met: goal ? o.vsCompare.rps >= goal.rps : null,
    });
    const cpuGoal = goal && Number.isFinite(goal.cpuMs) ? goal.cpuMs : null;
    targets.push({
      name: `${o.label}: CPU vs floor`,
      goal: cpuGoal === null ? "no goal (reported)" : `≤ floor + ${cpuGoal} ms`,
      value: `${o.vsCompare.cpuDeltaMs === null ? "–" : `${o.vsCompare.cpuDeltaMs >= 0 ? "+" : ""}${fmt(o.vsCompare.cpuDeltaMs)} ms`}`,
      met: o.vsCompare.cpuDeltaMs === null || cpuGoal === null ? null : o.vsCompare.cpuDeltaMs <= cpuGoal,
    });
  }
  const flow = record.scenarios.find((o) => o.id === "flow")?.result;
  if (flow) {
    targets.push({
      name: "whole flow latency, p50 / p99 (three requests)",
      goal: "reported",
      value: `${fmt(flow.latencyMs.p50, 0)} / ${fmt(flow.latencyMs.p99, 0)} ms`,
      met: null,
    });
  }
  for (const o of record.scenarios.filter((s) => s.kind === "limiter")) {
    const cost = o.vsCompare ? 1 - o.vsCompare.rps : null;
    targets.push({
      name: `limiter cost on ${o.label.replace(" + limiter", "")}`,
      goal: "≤ 25% of throughput",
      value: cost === null ? o.status : `${fmt(cost * 100, 0)}%`,
      met: cost === null ? null : cost <= 0.25,
    });
  }
  for (const [name, ratio] of Object.entries(record.scaleRatios)) {
    if (name.startsWith("floor")) continue;
    targets.push({
      name: `page latency, ${name}`,
      goal: "≤ 1.5×",
      value: ratio === null ? "not available" : `${fmt(ratio)}×`,
      met: ratio === null ? null : ratio <= 1.5,
    });
  }
  targets.push({
    name: "gzipped bundle",
    goal: "≤ 200 KB",
    value: `${fmt(record.bundle.gzipBytes / 1000, 1)} KB`,
    met: record.bundle.gzipBytes <= 200_000,
  });
  targets.push({
    name: "start-up CPU (wrangler check startup)",
    goal: "≤ 20 ms",
    value: record.startup ? `${fmt(record.startup.activeMs, 1)} ms` : "not measured",
    met: record.startup ? record.startup.activeMs <= 20 : null,
  });
  const errors = record.scenarios.reduce((sum, o) => sum + (o.result?.errors ?? 0), 0);
  targets.push({ name: "non-429 errors, all scenarios", goal: "0", value: String(errors), met: errors === 0 });
  return targets;
}

/** The generated Markdown: machine, command, date, the scenario table, scale, start-up and targets. */
export function renderMarkdown(record: BenchRecord): string {
  const m = record.machine;
  const lines: string[] = [
    `Run of ${record.date} — \`${record.command}\``,
    "",
    `Machine: ${m.cpuModel} (${m.cores} cores), ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; load average at start ${m.loadAverageStart}, at end ${m.loadAverageEnd}.`,
    `Load: ${record.options.connections} connections; ${record.options.rounds ?? 1} round(s), each scenario once per round in table order (every floor right before its endpoint), ${record.options.warmupSeconds} s warm-up then ${record.options.durationSeconds} s measured per scenario per round; figures are the rounds' totals, p50/p99 the median of the rounds (autocannon, loopback, Miniflare/workerd with local D1, KV and Durable Object storage).`,
    "",
    "| scenario | req/s | × no-op | p50 ms | p99 ms | CPU ms/req | CPU × no-op | vs floor / without limiter | CPU Δ ms | errors | 429 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const o of record.scenarios) {
    const r = o.result;
    if (!r) {
      lines.push(`| ${o.label} | ${o.status}${o.probe ? ` (probe ${o.probe.status})` : ""} | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${o.label} | ${fmt(r.rps, 0)} | ${fmt(o.vsNoop?.rps)} | ${fmt(r.latencyMs.p50, 0)} | ${fmt(r.latencyMs.p99, 0)} | ${fmt(
        r.cpuMsPerRequest,
        3,
      )} | ${fmt(o.vsNoop?.cpu)} | ${o.vsCompare ? `${fmt(o.vsCompare.rps)}×` : ""} | ${
        o.vsCompare?.cpuDeltaMs === null || o.vsCompare === undefined ? "" : fmt(o.vsCompare.cpuDeltaMs, 3)
      } | ${r.errors} | ${r.rateLimited} |`,
    );
  }
  lines.push("", "Scale (mean latency at the same concurrency):", "");
  for (const [name, ratio] of Object.entries(record.scaleRatios))
    lines.push(`- ${name}: ${ratio === null ? "not available" : `${fmt(ratio)}×`}`);
  const top = record.bundle.composition
    .slice(0, 5)
    .map((c) => `${c.source} ${fmt(c.bytes / 1024, 0)} KiB`)
    .join(", ");
  lines.push(
    "",
    `Bundle (\`wrangler deploy --dry-run\`, production config): ${fmt(record.bundle.rawBytes / 1024, 1)} KiB raw, ${fmt(
      record.bundle.gzipBytes / 1024,
      1,
    )} KiB gzipped (${fmt(record.bundle.gzipBytes / 1000, 1)} KB). Largest inputs: ${top}.`,
    record.startup
      ? `Start-up CPU (\`wrangler check startup\`, active time, ${record.startup.runsMs.length} runs): median ${fmt(
          record.startup.activeMs,
          1,
        )} ms, mean ${fmt(record.startup.meanMs, 1)} ms (runs: ${record.startup.runsMs.join(", ")} ms). ` +
          `Control, a one-line worker measured between them: median ${fmt(record.startup.control.activeMs, 1)} ms, mean ${fmt(
            record.startup.control.meanMs,
            1,
          )} ms (runs: ${record.startup.control.runsMs.join(", ")} ms).`
      : "Start-up CPU: not measured in this run.",
    "",
    "| target | goal | this run | met |",
    "|---|---|---|---|",
    ...record.targets.map(
      (t) => `| ${t.name} | ${t.goal} | ${t.value} | ${t.met === null ? "n/a" : t.met ? "yes" : "no"} |`,
    ),
  );
  return lines.join("\n");
}

/** Writes the generated section into BENCHMARKS.md, creating the file or the markers if missing. */
export function updateBenchmarksMd(file: string, generated: string): void {
  const block = `${START}\n${generated}\n${END}`;
  const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\n";
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start !== -1 && end > start
      ? `${current.slice(0, start)}${block}${current.slice(end + END.length)}`
      : `${current.trimEnd()}\n\n## Latest run\n\n${block}\n`;
  writeFileSync(file, next);
}
