import type { RouteHandler } from "@hono/zod-openapi";
import { createDb } from "../../db/client";
import type { AppEnv } from "../../env";
import { cursorFrom } from "../../schemas/pagination";
import { deleteOwnClients, deleteTenantClients } from "../../services/bulk-delete";
import {
  getClient,
  getClientInfo,
  getPublicClientInfo,
  listClients,
  listClientsInfo,
} from "../../services/client-queries";
import { principalOf, serviceDeps } from "../../services/deps";
import type {
  deleteClientsRoute,
  deleteTenantClientsRoute,
  getClientInfoRoute,
  getClientRoute,
  getClientsInfoRoute,
  getClientsRoute,
  getPublicClientInfoRoute,
} from "./client-queries.routes";

export const getClientsInfoHandler: RouteHandler<typeof getClientsInfoRoute, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  const cursor = cursorFrom(query.last_created_on, query.last_client_id);
  return c.json(await listClientsInfo(createDb(c.env.DB), principalOf(c), query.limit, cursor), 200);
};

export const getClientsHandler: RouteHandler<typeof getClientsRoute, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  const cursor = cursorFrom(query.last_created_on, query.last_client_id);
  return c.json(await listClients(createDb(c.env.DB), principalOf(c), query.limit, cursor), 200);
};

export const getClientHandler: RouteHandler<typeof getClientRoute, AppEnv> = async (c) =>
  c.json(await getClient(createDb(c.env.DB), principalOf(c), c.req.valid("param").clientId), 200);

export const getClientInfoHandler: RouteHandler<typeof getClientInfoRoute, AppEnv> = async (c) =>
  c.json(await getClientInfo(createDb(c.env.DB), principalOf(c), c.req.valid("param").clientId), 200);

export const getPublicClientInfoHandler: RouteHandler<typeof getPublicClientInfoRoute, AppEnv> = async (c) =>
  c.json(await getPublicClientInfo(createDb(c.env.DB), c.req.valid("param").clientId), 200);

export const deleteClientsHandler: RouteHandler<typeof deleteClientsRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  await deleteOwnClients(serviceDeps(c, principal), principal);
  return c.json({}, 200);
};

export const deleteTenantClientsHandler: RouteHandler<typeof deleteTenantClientsRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  await deleteTenantClients(serviceDeps(c, principal), principal);
  return c.json({}, 200);
};
