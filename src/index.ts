import type { createApp } from "./app";

type App = ReturnType<typeof createApp>;
let app: Promise<App> | undefined;

/**
 * Worker entry: the gateway app, the Cron Trigger and the Durable Object classes (rate limiter, revocation ledger).
 *
 * The app (routes, zod schemas, OpenAPI metadata) is imported and built on the first request rather
 * than at start-up: the bundler turns the dynamic import into a lazily initialised module, which keeps
 * the Worker's start-up CPU to parsing the script (BENCHMARKS.md). The first request of an isolate
 * pays that construction once.
 */
export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    app ??= import("./app")
      .then((m) => m.createApp())
      .catch((error: unknown) => {
        // A failed build is not cached: the next request tries again.
        app = undefined;
        throw error;
      });
    return (await app).fetch(request, env, ctx);
  },

  /** The Cron Trigger: signing-key rotation and the authorization-store purge (src/scheduled.ts), loaded on first use like the app. */
  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    const { runScheduled } = await import("./scheduled");
    await runScheduled(controller, env);
  },
} satisfies ExportedHandler<Env>;

export { RateLimiter } from "./durable-objects/rate-limiter";
export { RevocationLedger } from "./durable-objects/revocation-ledger";
