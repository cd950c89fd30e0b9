import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/**
 * CORS preflight for the authorization server's public documents, the metadata and the JWKS
 * (AS §1): any origin may read them, so an `OPTIONS` request answers 204 with
 * `Access-Control-Allow-Origin: *` and the methods that read. Never
 * `Access-Control-Allow-Credentials` (AS §1): these documents are the same for everybody, and a
 * credentialed request would not be allowed a wildcard origin anyway. The GET responses carry their
 * own `Access-Control-Allow-Origin: *` (their handlers). Anything but `OPTIONS` passes through.
 */
export const publicCorsPreflight = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method !== "OPTIONS") return next();
  return c.body(null, 204, {
    allow: "GET, HEAD, OPTIONS",
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD, OPTIONS",
    // A wildcard covers every request header but `Authorization`, which these documents never need.
    "access-control-allow-headers": "*",
    "access-control-max-age": "86400",
  });
});
