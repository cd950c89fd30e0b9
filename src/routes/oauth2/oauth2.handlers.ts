import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createDb } from "../../db/client";
import type { AppEnv } from "../../env";
import { principalOf, serviceDeps } from "../../services/deps";
import {
  authenticateClient,
  type LifecycleDeps,
  recordConsent,
  revokeClientTokens,
  toAuthenticatedClient,
  tokenStatus,
} from "../../services/token-lifecycle";
import type {
  authenticateClientRoute,
  recordConsentRoute,
  revokeClientTokensRoute,
  tokenStatusRoute,
} from "./oauth2.routes";

/** Dependencies of a service call: bindings and the request clock; no user, so no audit context. */
function lifecycleDeps(c: Context<AppEnv>): LifecycleDeps {
  return { db: createDb(c.env.DB), kv: c.env.REVOCATIONS, now: c.get("now"), pepper: c.env.CLIENT_SECRET_PEPPER };
}

export const authenticateClientHandler: RouteHandler<typeof authenticateClientRoute, AppEnv> = async (c) => {
  const { client_secret } = c.req.valid("json");
  const client = await authenticateClient(lifecycleDeps(c), c.req.valid("param").clientId, client_secret);
  return c.json(toAuthenticatedClient(client), 200);
};

export const recordConsentHandler: RouteHandler<typeof recordConsentRoute, AppEnv> = async (c) => {
  return c.json(await recordConsent(lifecycleDeps(c), c.req.valid("json")), 200);
};

export const tokenStatusHandler: RouteHandler<typeof tokenStatusRoute, AppEnv> = async (c) => {
  return c.json(await tokenStatus(lifecycleDeps(c), c.req.valid("json")), 200);
};

export const revokeClientTokensHandler: RouteHandler<typeof revokeClientTokensRoute, AppEnv> = async (c) => {
  const principal = principalOf(c);
  await revokeClientTokens(serviceDeps(c, principal), principal, c.req.valid("param").clientId);
  return c.json({}, 200);
};
