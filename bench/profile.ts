/**
 * `npm run bench -- --profile`: a V8 CPU profile of each measured scenario, taken through workerd's
 * inspector (Miniflare's `inspectorPort`), so optimisation starts from where a request's CPU goes
 * (signature, zod, Drizzle, Hono, JSON, our own code) rather than from guesses.
 *
 * The profiled build is the bench worker without minification, where esbuild marks the start of each
 * input module with a `// path/to/module.js` comment; a sample's line number tells its module.
 * Profiles are written to bench/tmp/profiles/<scenario>.cpuprofile (open them in Chrome DevTools).
 * Profiling adds its own overhead, so a `--profile` run's throughput figures are not comparable with
 * a plain run's; only the shares within one profile are.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
export type CpuProfile = {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
};

export type ProfileSummary = {
  file: string;
  sampledMs: number;
  /** Share of sampled time by bucket (package, `src/<dir>`, runtime, idle/GC), largest first. */
  byModule: { module: string; share: number }[];
  /** The heaviest functions by self time. */
  topFunctions: { name: string; module: string; share: number }[];
};

/** One Chrome DevTools Protocol session with a worker's isolate. */
export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();

  private readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
      if (message.id === undefined) return;
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
  }

  /** Connects to the worker named `workerName` behind Miniflare's inspector proxy on `port`. */
  static async connect(port: number, workerName: string): Promise<Inspector> {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
      id: string;
      title?: string;
      webSocketDebuggerUrl: string;
    }[];
    const target = targets.find((t) => t.id.endsWith(workerName) || t.title?.includes(workerName)) ?? targets[0];
    if (!target) throw new Error(`no inspector target on port ${port}`);
    // Miniflare's inspector proxy refuses an upgrade without a local Origin (a browser-page guard).
    const socket = new WebSocket(target.webSocketDebuggerUrl, {
      headers: { origin: "http://localhost" },
    } as unknown as string[]);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error("inspector connection failed")), { once: true });
    });
    return new Inspector(socket);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, (message) =>
        message.error ? reject(new Error(`${method}: ${JSON.stringify(message.error)}`)) : resolve(message.result as T),
      );
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Starts sampling every `intervalMicros` µs. */
  async start(intervalMicros = 200): Promise<void> {
    await this.send("Profiler.enable");
    await this.send("Profiler.setSamplingInterval", { interval: intervalMicros });
    await this.send("Profiler.start");
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = await this.send<{ profile: CpuProfile }>("Profiler.stop");
    return profile;
  }

  close(): void {
    this.socket.close();
  }
}

/** Maps each line of an unminified esbuild bundle to the input module it came from. */
export function moduleLineMap(bundleFile: string): (line: number) => string {
  const starts: { line: number; module: string }[] = [];
  readFileSync(bundleFile, "utf8")
    .split("\n")
    .forEach((text, line) => {
      const marker = /^\/\/ ((?:\.\.\/)*(?:node_modules|src|bench)\/\S+)$/.exec(text);
      if (marker?.[1]) starts.push({ line, module: marker[1].replace(/^(\.\.\/)+/, "") });
    });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = "(bundle prelude)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const start = starts[mid];
      if (!start) break;
      if (start.line <= line) {
        found = start.module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/** `node_modules/zod/v4/core/schemas.js` → `zod`; `src/routes/clients/x.ts` → `src/routes`. */
function bucketOf(module: string): string {
  const inPackage = module.lastIndexOf("node_modules/");
  if (inPackage !== -1) {
    const parts = module.slice(inPackage + "node_modules/".length).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? module);
  }
  const parts = module.split("/");
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : module;
}

/** Self time by bucket and by function, for samples inside the bundle or the runtime. */
export function summariseProfile(
  profile: CpuProfile,
  bundleFile: string,
  moduleOf: (line: number) => string,
  outFile: string,
): ProfileSummary {
  const bundleName = path.basename(bundleFile);
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, { module: string; micros: number }>();
  let total = 0;
  profile.samples.forEach((sampleId, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(sampleId)?.callFrame;
    if (!frame) return;
    let module: string;
    if (frame.url.endsWith(bundleName)) module = moduleOf(frame.lineNumber);
    else if (frame.functionName.startsWith("("))
      module = frame.functionName; // (idle), (program), (garbage collector)
    else module = "(runtime: workerd built-ins)";
    const bucket = bucketOf(module);
    total += micros;
    byModule.set(bucket, (byModule.get(bucket) ?? 0) + micros);
    const name = `${frame.functionName || "(anonymous)"}@${frame.lineNumber + 1}`;
    const entry = byFunction.get(name) ?? { module, micros: 0 };
    entry.micros += micros;
    byFunction.set(name, entry);
  });
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(profile));
  const share = (micros: number) => (total === 0 ? 0 : Math.round((micros / total) * 1000) / 10);
  return {
    file: outFile,
    sampledMs: Math.round(total / 1000),
    byModule: [...byModule].sort((a, b) => b[1] - a[1]).map(([module, micros]) => ({ module, share: share(micros) })),
    topFunctions: [...byFunction]
      .sort((a, b) => b[1].micros - a[1].micros)
      .slice(0, 15)
      .map(([name, { module, micros }]) => ({ name, module, share: share(micros) })),
  };
}

/** A few lines for the console: the buckets over 2 % and the top functions over 1 %. */
export function formatSummary(summary: ProfileSummary): string {
  const modules = summary.byModule
    .filter((m) => m.share >= 2)
    .map((m) => `${m.module} ${m.share}%`)
    .join(", ");
  const functions = summary.topFunctions
    .filter((f) => f.share >= 1)
    .map((f) => `    ${f.share.toFixed(1).padStart(5)}%  ${f.name}  (${f.module})`)
    .join("\n");
  return `  profile (${summary.sampledMs} ms sampled): ${modules}\n${functions}`;
}
