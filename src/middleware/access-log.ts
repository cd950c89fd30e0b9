import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
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
      route: safeRoutePath(c),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      request_id: c.get("requestId"),
      tenant: principal?.tenantId ?? null,
      user: principal?.userId ?? null,
      auth_failure: c.get("authFailure") ?? null,
    }),
  );
});

function safeRoutePath(c: Parameters<typeof routePath>[0]): string {
  try {
    return routePath(c, -1);
  } catch {
    return "unmatched";
  }
}
