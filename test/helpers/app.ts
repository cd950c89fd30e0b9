import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";

/**
 * A fetcher for an app built in the test with an injected clock and/or a modified env (lower
 * rate limits, a failing binding). Bindings stay real unless the test wraps them.
 */
export function appFetcher(options: { clock?: () => number; env?: Partial<Env> } = {}) {
  const app = createApp({ clock: options.clock });
  const testEnv = { ...env, ...options.env } as Env;
  return async (request: Request): Promise<Response> => {
    const ctx = createExecutionContext();
    const response = await app.fetch(request, testEnv, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };
}

/** A controllable clock starting at `start` ms. */
export function manualClock(start = Date.UTC(2026, 10, 28, 12, 0, 0)) {
  let now = start;
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}
