import type { Context } from "hono";
import type { Principal } from "../auth/principal";
import { createDb } from "../db/client";
import type { AppEnv } from "../env";
import { revocationTtlSeconds } from "../revocation/revocations";
import type { ClientServiceDeps } from "./clients";

/** Builds a service's dependencies from the request: bindings, the request clock and the audit context. */
export function serviceDeps(c: Context<AppEnv>, principal: Principal): ClientServiceDeps {
  return {
    db: createDb(c.env.DB),
    kv: c.env.REVOCATIONS,
    now: c.get("now"),
    pepper: c.env.CLIENT_SECRET_PEPPER,
    revocationTtlSeconds: revocationTtlSeconds(c.env.MAX_TOKEN_TTL_SECONDS),
    audit: {
      tenant: principal.tenantId,
      userId: principal.userId,
      ip: c.req.header("cf-connecting-ip") ?? null,
      userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
      requestId: c.get("requestId"),
    },
  };
}

/** The verified caller; only call behind `requireSignature`. */
export function principalOf(c: Context<AppEnv>): Principal {
  const principal = c.get("principal");
  if (!principal) throw new Error("principalOf called on a route without requireSignature");
  return principal;
}
