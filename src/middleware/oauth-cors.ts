import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** The one endpoint of these that also answers GET (OIDC Core §5.3). */
const USERINFO_PATH = "/oauth2/userinfo";

/**
 * CORS of the authorization server's JSON endpoints (AS §1): token, introspection, revocation and
 * userinfo. A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered 204 here,
 * before any route, for any origin: POST (GET, POST for userinfo), headers `authorization,
 * content-type`, never credentials. The actual response reflects `Origin` (with `Vary: Origin`)
 * only when the handler recorded the authenticated client's (for userinfo: the token's client's)
 * `allowed_origins` (`c.var.corsAllowedOrigins`) and they contain it — so whether a browser app may read an answer is the client's registration, and a
 * response that authenticated no client (a 401 `invalid_client`) is never readable cross-origin.
 * Never `Access-Control-Allow-Credentials`.
 */
export const oauthCors = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("origin");
  if (c.req.method === "OPTIONS") {
    const headers = new Headers({
      "access-control-allow-methods": c.req.path.startsWith(USERINFO_PATH) ? "GET, POST" : "POST",
      "access-control-allow-headers": "authorization, content-type",
      "access-control-max-age": String(PREFLIGHT_MAX_AGE_SECONDS),
      "cache-control": "no-store",
      vary: "Origin",
    });
    if (origin) headers.set("access-control-allow-origin", origin);
    return new Response(null, { status: 204, headers });
  }
  await next();
  c.res.headers.append("vary", "Origin");
  const allowed = c.get("corsAllowedOrigins");
  if (origin && allowed?.includes(origin)) c.res.headers.set("access-control-allow-origin", origin);
});
