import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../env";

/**
 * One JSON log line per request: method, matched route (not the raw path), status, duration,
 * request id, tenant and user. Never headers, bodies, secrets or signatures.
 */
export const accessLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const principal = c.get("principal");
  console.log(
    JSON.stringify({
      level: c.res.status >= 500 ? "error" : "info",
      msg: "request",
      method: c.req.method,
      route: servedRoute(c),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      request_id: c.get("requestId"),
      tenant: principal?.tenantId ?? null,
      user: principal?.userId ?? null,
      auth_failure: c.get("authFailure") ?? null,
    }),
  );
});

/**
 * The route that serves (or, when refused by middleware, would have served) the request: the first
 * endpoint route among the matched ones, in match order — so `GET /clients/info` is logged as
 * `/clients/info`, not as the `/clients/:clientId` route that also matches it. Middleware is
 * registered for every method ("ALL") and is skipped. `unmatched` when no endpoint matched
 * (404, 405).
 */
function servedRoute(c: Parameters<typeof matchedRoutes>[0]): string {
  try {
    return matchedRoutes(c).find((route) => route.method !== "ALL")?.path ?? "unmatched";
  } catch {
    return "unmatched";
  }
}
