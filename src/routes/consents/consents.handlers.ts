import type { RouteHandler } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import type { AppEnv } from "../../env";
import { cursorFrom } from "../../schemas/pagination";
import { listConsents } from "../../services/client-queries";
import { principalOf } from "../../services/deps";
import type { getConsentsRoute } from "./consents.routes";

export const getConsentsHandler: RouteHandler<typeof getConsentsRoute, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  const cursor = cursorFrom(query.last_modified_on, query.last_client_id);
  return c.json(await listConsents(createDb(c.env.DB), principalOf(c), query.limit, cursor), 200);
};
