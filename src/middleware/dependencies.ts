import { createMiddleware } from "hono/factory";
import { authorizationSettings } from "../authorization/settings";
import { createDb } from "../db/client";
import type { AppEnv } from "../env";
import { signingKeySettings } from "../keys/settings";
import { revocationTtlSeconds } from "../revocation/revocations";

/**
 * Puts the request's service dependencies on the context once (`c.var.deps`): the Drizzle handle,
 * the revocation KV, the request clock, the secret pepper, the revocation TTL, the signing-key settings,
 * the authorization store's lifetimes and where the request came from. Handlers pass `c.var.deps` to services and never build a dependency themselves.
 */
export const provideDependencies = createMiddleware<AppEnv>(async (c, next) => {
  c.set("deps", {
    db: createDb(c.env.DB),
    kv: c.env.REVOCATIONS,
    now: c.get("now"),
    pepper: c.env.CLIENT_SECRET_PEPPER,
    revocationTtlSeconds: revocationTtlSeconds(c.env.MAX_TOKEN_TTL_SECONDS),
    signingKeys: signingKeySettings(c.env),
    authorization: authorizationSettings(c.env),
    request: {
      requestId: c.get("requestId"),
      ip: c.req.header("cf-connecting-ip") ?? null,
      userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
    },
  });
  await next();
});
