import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";

/**
 * A fetch into an app built by a test. `clock` is the app's injected clock, if any: `call` signs a
 * caller's x-signature at that time, as DocSpace's clock and the gateway's agree.
 */
export type AppFetcher = ((request: Request) => Promise<Response>) & { clock?: () => number };

/**
 * A fetcher for an app built in the test with an injected clock and/or a modified env (lower
 * rate limits, a failing binding, another signature policy). Bindings stay real unless the test wraps them.
 */
export function appFetcher(options: { clock?: () => number; env?: Partial<Env> } = {}): AppFetcher {
  const app = createApp({ clock: options.clock });
  const testEnv = { ...env, ...options.env } as Env;
  const fetcher = async (request: Request): Promise<Response> => {
    const ctx = createExecutionContext();
    const response = await app.fetch(request, testEnv, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };
  return Object.assign(fetcher, { clock: options.clock });
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
