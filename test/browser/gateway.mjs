// What the browser tests share: a throw-away gateway started as `npm start` does (local D1
// migrations, then `wrangler dev`) on free loopback ports with its own local state, so it never
// collides with a developer's `npm start` on 8092, and x-signatures minted by scripts/sign.ts.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = path.join(ROOT, "test", "artifacts");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const STARTUP_TIMEOUT_MS = 120_000;
export const run = promisify(execFile);

/** Chromium's flags for a headless run without network side channels. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A port the OS says is free on the loopback interface right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `wrangler dev` in its own process group, so stopping it also stops workerd. */
function spawnGateway(port, inspectorPort, persistTo) {
  const child = spawn(
    process.execPath,
    [
      WRANGLER,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      persistTo,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    },
  );
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  return { child, output: () => output };
}

function stopProcessGroup(gateway) {
  if (!gateway || gateway.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-gateway.child.pid, "SIGKILL");
      } catch {}
      resolve();
    }, 10_000);
    gateway.child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      // The negative pid addresses the process group this script started (wrangler and its workerd).
      process.kill(-gateway.child.pid, "SIGTERM");
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

async function waitForGateway(base, gateway) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gateway.child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${gateway.output()}`);
    try {
      const response = await fetch(`${base}/api/2.0/openapi.json`);
      if (response.ok) return await response.json();
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`wrangler dev did not answer within ${STARTUP_TIMEOUT_MS} ms:\n${gateway.output()}`);
}

/**
 * Starts a gateway with fresh local state; resolves to its base URL, its OpenAPI document, a scratch
 * folder for the browser profile, and `stop()` (idempotent) which stops it and removes the state.
 */
export async function startGateway(log, name) {
  const scratch = mkdtempSync(path.join(tmpdir(), `${name}-browser-`));
  const persistTo = path.join(scratch, "state");
  let gateway;
  const stop = async () => {
    await stopProcessGroup(gateway);
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    await run(process.execPath, ["scripts/ensure-dev-vars.mjs"], { cwd: ROOT });
    log("applying migrations to a throw-away local D1");
    await run(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
    });
    const port = await freePort();
    const inspectorPort = await freePort();
    const base = `http://127.0.0.1:${port}`;
    log(`starting wrangler dev on ${base}`);
    gateway = spawnGateway(port, inspectorPort, persistTo);
    const document = await waitForGateway(base, gateway);
    return { base, document, scratch, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** An x-signature from scripts/sign.ts (`extra` e.g. ["--cookie", "--tenant-url", base]); its stdout. */
export async function mintSignature(role, userId, tenant, extra = []) {
  const { stdout } = await run(
    process.execPath,
    ["scripts/sign.ts", `--${role}`, "--tenant", String(tenant), "--user-id", userId, ...extra],
    { cwd: ROOT },
  );
  return stdout.trim();
}
