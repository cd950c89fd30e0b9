import type { Principal } from "../../auth/principal";
import { invalidGrant, invalidScope, OAuthError } from "../../lib/oauth-error";
import { mintAccessToken } from "../../tokens/access-token";
import { issuerFor } from "../../tokens/issuer";
import type { ServiceDeps } from "../deps";
import type { AuthenticatedTokenClient } from "../oauth-client-auth";
import { parseScope, type TokenRequestContext, type TokenRequestParams, type TokenResponse } from "./common";

/** Whether the signature was minted for this origin's tenant (AS §2); a malformed `tenant_url` is not. */
function signedForOrigin(principal: Principal | undefined, origin: string): principal is Principal {
  if (!principal) return false;
  try {
    return new URL(principal.tenantUrl).origin === origin;
  } catch {
    return false;
  }
}

/**
 * `personal_access_token` (AS §6, DocSpace's developer token): a client authenticated by its secret
 * and the signed-in user (x-signature minted for this origin) get an access token for `scope` —
 * a subset of the client's, all of them when empty (as at authorize) — without consent, refresh
 * token or ID token. No valid signature is `invalid_grant` (the signature is the grant); a guest
 * is `access_denied` (400, as every token-endpoint error but client authentication).
 */
export async function personalAccessTokenGrant(
  deps: ServiceDeps,
  { client }: AuthenticatedTokenClient,
  params: TokenRequestParams,
  context: TokenRequestContext,
): Promise<TokenResponse> {
  const principal = context.principal;
  if (!signedForOrigin(principal, context.origin)) {
    throw invalidGrant("A valid x-signature of a user of this DocSpace is required.");
  }
  if (principal.role === "GUEST") {
    throw new OAuthError({
      status: 400,
      error: "access_denied",
      description: "Guests cannot get personal access tokens.",
    });
  }
  const requested = parseScope(params.scope);
  const allowed = new Set(client.scopes);
  const extra = requested.filter((s) => !allowed.has(s));
  if (extra.length > 0) throw invalidScope(`scope not registered for the client: ${extra.slice(0, 5).join(" ")}.`);
  const scopes = requested.length > 0 ? requested : client.scopes;
  const access = await mintAccessToken(deps, {
    issuer: issuerFor(context.origin),
    audience: context.origin,
    subject: principal.userId,
    clientId: client.clientId,
    tenantId: principal.tenantId,
    scopes,
    now: deps.now,
  });
  return { access_token: access.token, token_type: "Bearer", expires_in: access.expiresIn, scope: scopes.join(" ") };
}
