import { createMiddleware } from "hono/factory";
import { authorizationSettings } from "../authorization/settings";
import { createDb } from "../db/client";
import type { AppEnv } from "../env";
import { signingKeySettings } from "../keys/settings";
import { revocationTtlConflict, revocationTtlSeconds } from "../revocation/revocations";

/**
 * Puts the request's service dependencies on the context once (`c.var.deps`): the Drizzle handle,
 * the revocation KV, the request clock, the secret pepper, the revocation TTL, the signing-key settings,
 * the authorization store's lifetimes and where the request came from. Handlers pass `c.var.deps` to services and never build a dependency themselves.
 */
export const provideDependencies = createMiddleware<AppEnv>(async (c, next) => {
  const signingKeys = signingKeySettings(c.env);
  const authorization = authorizationSettings(c.env);
  // Revocation entries outlive every token they revoke (AS §11), whatever MAX_TOKEN_TTL_SECONDS says.
  const longestTokenSeconds = Math.max(authorization.refreshTokenTtlMs, signingKeys.accessTokenTtlMs) / 1000;
  warnOnRevocationTtlConflict(c.env.MAX_TOKEN_TTL_SECONDS, longestTokenSeconds);
  c.set("deps", {
    db: createDb(c.env.DB),
    kv: c.env.REVOCATIONS,
    revocationLedgers: c.env.REVOCATION_LEDGER,
    now: c.get("now"),
    pepper: c.env.CLIENT_SECRET_PEPPER,
    revocationTtlSeconds: revocationTtlSeconds(c.env.MAX_TOKEN_TTL_SECONDS, longestTokenSeconds),
    signingKeys,
    authorization,
    request: {
      requestId: c.get("requestId"),
      ip: c.req.header("cf-connecting-ip") ?? null,
      userAgent: c.req.header("user-agent")?.slice(0, 512) ?? null,
    },
  });
  await next();
});

/** The configurations already reported by this isolate: a misconfiguration is logged once, not per request. */
const reportedConflicts = new Set<string>();

/** Logs (once per isolate and configuration) that `MAX_TOKEN_TTL_SECONDS` was raised to the longest token lifetime. */
function warnOnRevocationTtlConflict(configured: string | undefined, longestTokenSeconds: number): void {
  const conflict = revocationTtlConflict(configured, longestTokenSeconds);
  const id = `${configured}:${longestTokenSeconds}`;
  if (!conflict || reportedConflicts.has(id)) return;
  reportedConflicts.add(id);
  console.log(
    JSON.stringify({
      level: "warn",
      msg: "MAX_TOKEN_TTL_SECONDS is shorter than the longest token lifetime; revocation entries use the longer",
      ...conflict,
    }),
  );
}
