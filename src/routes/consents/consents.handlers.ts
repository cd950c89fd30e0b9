import type { RouteHandler } from "@hono/zod-openapi";
import { cursorFrom } from "../../schemas/pagination";
import { toConsentPage } from "../../schemas/presenters";
import { listConsents } from "../../services/client-queries";
import type { getConsentsRoute } from "./consents.routes";

export const getConsentsHandler: RouteHandler<typeof getConsentsRoute> = async (c) => {
  const query = c.req.valid("query");
  const cursor = cursorFrom(query.last_modified_on, query.last_client_id);
  return c.json(toConsentPage(await listConsents(c.var.deps.db, c.var.principal, query.limit, cursor)), 200);
};
