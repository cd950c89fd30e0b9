/**
 * Builds the workers as they deploy (`wrangler deploy --dry-run`) and measures start-up: the
 * production bundle's size (raw and gzipped) and its start-up CPU from `wrangler check startup`.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
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
  runsMs: number[];
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

/** `wrangler deploy --dry-run --outdir <outDir>` for a config; returns the main module's size and make-up. */
export function buildWorker(root: string, config: string, outDir: string): BundleInfo {
  const metafile = path.join(outDir, "meta.json");
  wrangler(root, ["deploy", "--dry-run", "--config", config, "--outdir", outDir, "--metafile", metafile]);
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

/** Runs `wrangler check startup` on the production config `runs` times; reports the median. */
export function measureStartup(root: string, config: string, outDir: string, runs: number): StartupInfo {
  const runsMs: number[] = [];
  const profile = path.join(outDir, "startup.cpuprofile");
  for (let i = 0; i < runs; i++) {
    wrangler(root, ["check", "startup", "--config", config, "--outfile", profile]);
    runsMs.push(Math.round(activeMs(profile) * 10) / 10);
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  return {
    activeMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    runsMs,
    profile: path.relative(root, profile),
  };
}
