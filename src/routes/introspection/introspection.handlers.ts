import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { introspectToken } from "../../services/token-introspection";
import type { introspectRoute } from "./introspection.routes";

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

export const introspectHandler: RouteHandler<typeof introspectRoute, AppEnv> = async (c) => {
  const answer = await introspectToken(
    c.var.deps,
    c.req.valid("form"),
    { origin: new URL(c.req.url).origin, authorization: c.req.header("authorization") },
    { onClientAuthenticated: (origins) => c.set("corsAllowedOrigins", origins) },
  );
  return c.json(answer, 200, NO_STORE);
};
