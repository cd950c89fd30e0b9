/**
 * Builds the workers as they deploy (`wrangler deploy --dry-run`) and measures start-up: the
 * production bundle's size (raw and gzipped) and its start-up CPU from `wrangler check startup`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

export type BundleInfo = {
  file: string;
  rawBytes: number;
  gzipBytes: number;
  /** Bytes in the bundle by top-level package (from esbuild's metafile), largest first. */
  composition: { source: string; bytes: number }[];
};

export type StartupInfo = {
  /** Median active (non-idle) CPU of the start-up profile, over `runs` profiles. */
  activeMs: number;
  meanMs: number;
  runsMs: number[];
  /**
   * The same measurement of a one-line worker (`return new Response("ok")`, same compatibility
   * date), interleaved with ours: what the runtime itself shows as start-up on this machine.
   */
  control: { activeMs: number; meanMs: number; runsMs: number[] };
  profile: string;
};

function wrangler(root: string, args: string[]): string {
  return execFileSync(path.join(root, "node_modules/.bin/wrangler"), args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
  });
}

function packageOf(input: string): string {
  const at = input.lastIndexOf("node_modules/");
  if (at === -1)
    return input.startsWith("src/") || input.startsWith("bench/") ? (input.split("/")[0] ?? "other") : "other";
  const parts = input.slice(at + "node_modules/".length).split("/");
  return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? "other");
}

/**
 * `wrangler deploy --dry-run --outdir <outDir>` for a config; returns the main module's size and make-up.
 * `minify: false` overrides the config (the `--profile` build, whose module comments name each sample's source).
 */
export function buildWorker(root: string, config: string, outDir: string, minify?: false): BundleInfo {
  const metafile = path.join(outDir, "meta.json");
  const args = ["deploy", "--dry-run", "--config", config, "--outdir", outDir, "--metafile", metafile];
  wrangler(root, minify === false ? [...args, "--minify=false"] : args);
  const main = readdirSync(outDir).find((f) => f.endsWith(".js"));
  if (!main) throw new Error(`no .js module in ${outDir}`);
  const file = path.join(outDir, main);
  const code = readFileSync(file);
  const meta = JSON.parse(readFileSync(metafile, "utf8")) as {
    outputs: Record<string, { inputs?: Record<string, { bytesInOutput: number }> }>;
  };
  const bySource = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs ?? {})) {
      const source = packageOf(input);
      bySource.set(source, (bySource.get(source) ?? 0) + bytesInOutput);
    }
  }
  return {
    file: path.relative(root, file),
    rawBytes: statSync(file).size,
    gzipBytes: gzipSync(code).length,
    composition: [...bySource].map(([source, bytes]) => ({ source, bytes })).sort((a, b) => b.bytes - a.bytes),
  };
}

/** Active CPU of a start-up profile: sampled time minus idle, as `wrangler check startup` reports it. */
function activeMs(profilePath: string): number {
  const profile = JSON.parse(readFileSync(profilePath, "utf8")) as {
    nodes: { id: number; callFrame: { functionName: string } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const names = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  let active = 0;
  profile.timeDeltas.forEach((delta, i) => {
    if (names.get(profile.samples[i] ?? -1) !== "(idle)") active += delta;
  });
  return active / 1000;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const tenths = (ms: number): number => Math.round(ms * 10) / 10;

/** A one-line worker beside the build output, with the production config's compatibility date. */
function writeControlWorker(root: string, config: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(path.join(root, config), "utf8"))?.[1];
  writeFileSync(path.join(dir, "index.js"), 'export default { fetch() { return new Response("ok"); } };\n');
  writeFileSync(
    path.join(dir, "wrangler.toml"),
    `name = "startup-control"\nmain = "index.js"\ncompatibility_date = "${date ?? "2026-11-01"}"\n`,
  );
  return path.join(dir, "wrangler.toml");
}

/**
 * Runs `wrangler check startup` on the production config `runs` times, each followed by a run on
 * the control worker. The profile samples roughly every 10 ms, so one run reads 0, ~15 or ~20 ms
 * for the same work; the median and mean of many runs, beside the control's, are what to compare.
 */
export function measureStartup(root: string, config: string, outDir: string, runs: number): StartupInfo {
  const runsMs: number[] = [];
  const controlMs: number[] = [];
  const profile = path.join(outDir, "startup.cpuprofile");
  const controlConfig = writeControlWorker(root, config, path.join(outDir, "startup-control"));
  const controlProfile = path.join(outDir, "startup-control", "startup.cpuprofile");
  for (let i = 0; i < runs; i++) {
    wrangler(root, ["check", "startup", "--config", config, "--outfile", profile]);
    runsMs.push(tenths(activeMs(profile)));
    wrangler(root, ["check", "startup", "--config", controlConfig, "--outfile", controlProfile]);
    controlMs.push(tenths(activeMs(controlProfile)));
  }
  return {
    activeMs: tenths(median(runsMs)),
    meanMs: tenths(mean(runsMs)),
    runsMs,
    control: { activeMs: tenths(median(controlMs)), meanMs: tenths(mean(controlMs)), runsMs: controlMs },
    profile: path.relative(root, profile),
  };
}
