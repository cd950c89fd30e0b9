import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/**
 * `Cache-Control: no-store` on every response of a route that hands out credentials — a new
 * `client_secret` (create, regenerate) or anything an authorization server asks about clients and
 * tokens (the service routes) — so no cache, proxy or browser keeps a copy (RFC 6749 §5.1). Set
 * after the handler, so it covers error responses too.
 */
export const noStore = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.res.headers.set("cache-control", "no-store");
});
