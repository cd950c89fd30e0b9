import type { RouteHandler } from "@hono/zod-openapi";
import { cursorFrom } from "../../schemas/pagination";
import { toClientInfoPage, toClientPage, toClientResponse } from "../../schemas/presenters";
import { deleteOwnClients, deleteTenantClients } from "../../services/bulk-delete";
import { listClients } from "../../services/client-queries";
import { createClient } from "../../services/clients";
import type {
  createClientRoute,
  deleteClientsRoute,
  deleteTenantClientsRoute,
  getClientsInfoRoute,
  getClientsRoute,
} from "./clients.routes";

export const createClientHandler: RouteHandler<typeof createClientRoute> = async (c) => {
  const { client, secret } = await createClient(c.var.deps, c.var.principal, c.req.valid("json"));
  return c.json(toClientResponse(client, secret), 201);
};

export const getClientsHandler: RouteHandler<typeof getClientsRoute> = async (c) => {
  const query = c.req.valid("query");
  const cursor = cursorFrom(query.last_created_on, query.last_client_id);
  return c.json(toClientPage(await listClients(c.var.deps.db, c.var.principal, query.limit, cursor)), 200);
};

export const getClientsInfoHandler: RouteHandler<typeof getClientsInfoRoute> = async (c) => {
  const query = c.req.valid("query");
  const cursor = cursorFrom(query.last_created_on, query.last_client_id);
  return c.json(toClientInfoPage(await listClients(c.var.deps.db, c.var.principal, query.limit, cursor)), 200);
};

export const deleteClientsHandler: RouteHandler<typeof deleteClientsRoute> = async (c) => {
  await deleteOwnClients(c.var.deps, c.var.principal);
  return c.json({}, 200);
};

export const deleteTenantClientsHandler: RouteHandler<typeof deleteTenantClientsRoute> = async (c) => {
  await deleteTenantClients(c.var.deps, c.var.principal);
  return c.json({}, 200);
};
