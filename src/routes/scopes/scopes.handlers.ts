import type { RouteHandler } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import type { AppEnv } from "../../env";
import { listScopes } from "../../services/client-queries";
import type { getScopesRoute } from "./scopes.routes";

export const getScopesHandler: RouteHandler<typeof getScopesRoute, AppEnv> = async (c) =>
  c.json(await listScopes(createDb(c.env.DB)), 200);
