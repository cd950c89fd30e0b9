import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { toClientInfoResponse, toClientResponse } from "../../schemas/presenters";
import { getManageableClient, getPublicClient } from "../../services/client-queries";
import {
  changeActivation,
  deleteClient,
  revokeClientTokens,
  revokeConsent,
  updateClient,
} from "../../services/clients";
import { regenerateSecret } from "../../services/secret-rotation";
import type {
  changeActivationRoute,
  deleteClientRoute,
  getClientInfoRoute,
  getClientRoute,
  getPublicClientInfoRoute,
  regenerateSecretRoute,
  revokeClientTokensRoute,
  revokeUserClientRoute,
  updateClientRoute,
} from "./clients-by-id.routes";

export const getClientHandler: RouteHandler<typeof getClientRoute> = async (c) =>
  c.json(
    toClientResponse(await getManageableClient(c.var.deps.db, c.var.principal, c.req.valid("param").clientId)),
    200,
  );

export const updateClientHandler: RouteHandler<typeof updateClientRoute> = async (c) => {
  await updateClient(c.var.deps, c.var.principal, c.req.valid("param").clientId, c.req.valid("json"));
  return c.json({}, 200);
};

export const deleteClientHandler: RouteHandler<typeof deleteClientRoute> = async (c) => {
  await deleteClient(c.var.deps, c.var.principal, c.req.valid("param").clientId);
  return c.json({}, 200);
};

export const regenerateSecretHandler: RouteHandler<typeof regenerateSecretRoute> = async (c) => {
  const { secret, previousSecretExpiresAt } = await regenerateSecret(
    c.var.deps,
    c.var.principal,
    c.req.valid("param").clientId,
    c.req.valid("query").grace_period ?? 0,
  );
  return c.json(
    previousSecretExpiresAt === null
      ? { client_secret: secret }
      : { client_secret: secret, previous_secret_expires_at: new Date(previousSecretExpiresAt).toISOString() },
    200,
  );
};

export const changeActivationHandler: RouteHandler<typeof changeActivationRoute> = async (c) => {
  const { status, revoke_tokens } = c.req.valid("json");
  await changeActivation(c.var.deps, c.var.principal, c.req.valid("param").clientId, status, revoke_tokens);
  return c.json({}, 200);
};

export const revokeUserClientHandler: RouteHandler<typeof revokeUserClientRoute> = async (c) => {
  await revokeConsent(c.var.deps, c.var.principal, c.req.valid("param").clientId);
  return c.json({}, 200);
};

export const revokeClientTokensHandler: RouteHandler<typeof revokeClientTokensRoute> = async (c) => {
  await revokeClientTokens(c.var.deps, c.var.principal, c.req.valid("param").clientId);
  return c.json({}, 200);
};

export const getClientInfoHandler: RouteHandler<typeof getClientInfoRoute> = async (c) =>
  c.json(
    toClientInfoResponse(await getManageableClient(c.var.deps.db, c.var.principal, c.req.valid("param").clientId)),
    200,
  );

/** No signature required (the consent screen shows it before sign-in): the route has no auth middleware. */
export const getPublicClientInfoHandler: RouteHandler<typeof getPublicClientInfoRoute, AppEnv> = async (c) =>
  c.json(toClientInfoResponse(await getPublicClient(c.var.deps.db, c.req.valid("param").clientId)), 200);
