import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { exchangeToken } from "../../services/token-endpoint";
import type { tokenRoute } from "./token.routes";

const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

export const tokenHandler: RouteHandler<typeof tokenRoute, AppEnv> = async (c) => {
  const tokens = await exchangeToken(
    c.var.deps,
    c.req.valid("form"),
    { origin: new URL(c.req.url).origin, authorization: c.req.header("authorization"), principal: c.var.principal },
    { onClientAuthenticated: (client) => c.set("corsAllowedOrigins", client.allowedOrigins) },
  );
  return c.json(tokens, 200, NO_STORE);
};
