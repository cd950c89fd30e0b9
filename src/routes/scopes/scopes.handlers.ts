import type { RouteHandler } from "@hono/zod-openapi";
import { toScopeResponse } from "../../schemas/presenters";
import { listScopes } from "../../services/client-queries";
import type { getScopesRoute } from "./scopes.routes";

export const getScopesHandler: RouteHandler<typeof getScopesRoute> = async (c) =>
  c.json((await listScopes(c.var.deps.db)).map(toScopeResponse), 200);
