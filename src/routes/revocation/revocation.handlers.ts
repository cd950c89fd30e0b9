import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { revokeToken } from "../../services/token-revocation";
import type { revokeRoute } from "./revocation.routes";

export const revokeHandler: RouteHandler<typeof revokeRoute, AppEnv> = async (c) => {
  await revokeToken(
    c.var.deps,
    c.req.valid("form"),
    { origin: new URL(c.req.url).origin, authorization: c.req.header("authorization") },
    { onClientAuthenticated: (origins) => c.set("corsAllowedOrigins", origins) },
  );
  return c.body(null, 200, { "cache-control": "no-store", pragma: "no-cache" });
};
