import { familyUserClaims } from "../authorization/refresh-tokens";
import { OAuthError } from "../lib/oauth-error";
import { issuerFor } from "../tokens/issuer";
import type { ServiceDeps } from "./deps";
import { activeAccessToken, enabledClient } from "./token-introspection";

/**
 * The UserInfo endpoint (OIDC Core §5.3): the claims of the access token's user — `sub`, and `name`
 * and `email` as the x-signature carried them when the user consented (stored with the code, then
 * its refresh family; the access token carries no personal data). A personal access token has no
 * family, so its answer is `sub` alone. Errors follow RFC 6750 §3.
 */

/** The RFC 6750 §2.1 credentials syntax (b64token). */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

const REALM = 'realm="oauth2"';

/** 401: no Bearer token at all — a challenge without an error code (RFC 6750 §3.1). */
const missingToken = () =>
  new OAuthError({
    status: 401,
    error: "invalid_request",
    description: "A Bearer access token is required.",
    headers: { "www-authenticate": `Bearer ${REALM}` },
  });

/** 401 `invalid_token`: malformed, expired, revoked, foreign — one answer for all. */
const invalidToken = () =>
  new OAuthError({
    status: 401,
    error: "invalid_token",
    description: "The access token is invalid, expired or revoked.",
    headers: { "www-authenticate": `Bearer ${REALM}, error="invalid_token"` },
  });

/** 403 `insufficient_scope`: the token lacks `openid`. */
const insufficientScope = () =>
  new OAuthError({
    status: 403,
    error: "insufficient_scope",
    description: "The access token lacks the openid scope.",
    headers: { "www-authenticate": `Bearer ${REALM}, error="insufficient_scope", scope="openid"` },
  });

/** What the UserInfo endpoint answers, and the token's client's origins (for CORS). */
export type UserInfo = { claims: { sub: string; name?: string; email?: string }; allowedOrigins: readonly string[] };

/**
 * The user of the Bearer token in `authorization` when it is active by introspection's rule
 * (`activeAccessToken`) and carries `openid`; otherwise the RFC 6750 error.
 */
export async function userInfo(
  deps: ServiceDeps,
  context: { origin: string; authorization?: string },
): Promise<UserInfo> {
  const authorization = context.authorization?.trim();
  if (!authorization) throw missingToken();
  const token = BEARER.exec(authorization)?.[1];
  if (!token) throw invalidToken();
  const active = await activeAccessToken(deps, token, issuerFor(context.origin));
  if (!active) throw invalidToken();
  if (!active.claims.scope.includes("openid")) throw insufficientScope();
  // CORS needs the client's `allowed_origins` and the answer the user's name and email: D1 reads, only
  // for an active token (introspection's hot path reads none). A client D1 no longer has enabled
  // answers as the token being inactive.
  const { sid } = active.claims;
  const [client, user] = await Promise.all([
    enabledClient(deps, active.claims.client_id),
    sid === undefined ? undefined : familyUserClaims(deps, sid),
  ]);
  if (!client) throw invalidToken();
  const claims: UserInfo["claims"] = { sub: active.claims.sub };
  if (user?.name) claims.name = user.name;
  if (user?.email) claims.email = user.email;
  return { claims, allowedOrigins: client.allowedOrigins };
}
