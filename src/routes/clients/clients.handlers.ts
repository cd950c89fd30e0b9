import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import {
  changeActivation,
  createClient,
  deleteClient,
  regenerateSecret,
  revokeConsent,
  toClientResponse,
  updateClient,
} from "../../services/clients";
import { principalOf, serviceDeps } from "../../services/deps";
import type {
  changeActivationRoute,
  createClientRoute,
  deleteClientRoute,
  regenerateSecretRoute,
  revokeUserClientRoute,
  updateClientRoute,
} from "./clients.routes";

export const createClientHandler: RouteHandler<typeof createClientRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  const { client, secret } = await createClient(serviceDeps(c, principal), principal, c.req.valid("json"));
  return c.json(toClientResponse(client, secret), 201);
};

export const updateClientHandler: RouteHandler<typeof updateClientRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  await updateClient(serviceDeps(c, principal), principal, c.req.valid("param").clientId, c.req.valid("json"));
  return c.json({}, 200);
};

export const deleteClientHandler: RouteHandler<typeof deleteClientRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  await deleteClient(serviceDeps(c, principal), principal, c.req.valid("param").clientId);
  return c.json({}, 200);
};

export const regenerateSecretHandler: RouteHandler<typeof regenerateSecretRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  const { secret, previousSecretExpiresAt } = await regenerateSecret(
    serviceDeps(c, principal),
    principal,
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

export const changeActivationHandler: RouteHandler<typeof changeActivationRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  const { status, revoke_tokens } = c.req.valid("json");
  await changeActivation(serviceDeps(c, principal), principal, c.req.valid("param").clientId, status, revoke_tokens);
  return c.json({}, 200);
};

export const revokeUserClientHandler: RouteHandler<typeof revokeUserClientRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  await revokeConsent(serviceDeps(c, principal), principal, c.req.valid("param").clientId);
  return c.json({}, 200);
};
