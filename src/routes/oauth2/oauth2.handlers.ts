import type { RouteHandler } from "@hono/zod-openapi";
import { toAuthenticatedClient, toConsentRecord } from "../../schemas/presenters";
import { authenticateClient, recordConsent, tokenStatus } from "../../services/token-lifecycle";
import type { authenticateClientRoute, recordConsentRoute, tokenStatusRoute } from "./oauth2.routes";

export const authenticateClientHandler: RouteHandler<typeof authenticateClientRoute> = async (c) => {
  const { client_secret } = c.req.valid("json");
  const client = await authenticateClient(c.var.deps, c.req.valid("param").clientId, client_secret);
  return c.json(toAuthenticatedClient(client), 200);
};

export const recordConsentHandler: RouteHandler<typeof recordConsentRoute> = async (c) =>
  c.json(toConsentRecord(await recordConsent(c.var.deps, c.req.valid("json"))), 200);

export const tokenStatusHandler: RouteHandler<typeof tokenStatusRoute> = async (c) =>
  c.json(await tokenStatus(c.var.deps, c.req.valid("json")), 200);
