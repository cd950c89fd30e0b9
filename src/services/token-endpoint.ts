import type { ClientRow } from "../db/schema";
import { OAuthError } from "../lib/oauth-error";
import type { ServiceDeps } from "./deps";
import { authorizationCodeGrant } from "./grants/authorization-code";
import type { TokenRequestContext, TokenRequestParams, TokenResponse } from "./grants/common";
import { personalAccessTokenGrant } from "./grants/personal-access-token";
import { refreshTokenGrant } from "./grants/refresh-token";
import { authenticateTokenClient, type ClientCredentialsInput } from "./oauth-client-auth";

/**
 * The token endpoint's rules (AS §6, §5, §10): authenticate the client, then one of three grants
 * (services/grants/: authorization-code.ts, refresh-token.ts, personal-access-token.ts).
 * Every failure is an `OAuthError` (RFC 6749 §5.2); a store outage is the store's 503 `HttpProblem`,
 * which the app renders as `temporarily_unavailable`. Handlers pass the parsed form and the
 * request's origin and principal; nothing here reads a request.
 */

export type { TokenRequestContext, TokenRequestParams, TokenResponse } from "./grants/common";

/** The grants of AS §6. */
export const GRANT_TYPES = ["authorization_code", "refresh_token", "personal_access_token"] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** Called once the client is known and authenticated (CORS reflects its `allowed_origins`). */
export type TokenEndpointHooks = { onClientAuthenticated?: (client: ClientRow) => void };

/**
 * Answers a token request (AS §6): authenticates the client (`none` for `allow_pkce` clients
 * redeeming a code with PKCE or refreshing; never for a personal access token), then runs the
 * grant. Throws `OAuthError` for every refusal.
 */
export async function exchangeToken(
  deps: ServiceDeps,
  params: TokenRequestParams,
  context: TokenRequestContext,
  hooks: TokenEndpointHooks = {},
): Promise<TokenResponse> {
  const grantType = params.grant_type;
  if (!(GRANT_TYPES as readonly string[]).includes(grantType)) {
    throw new OAuthError({
      status: 400,
      error: "unsupported_grant_type",
      description: `grant_type must be one of: ${GRANT_TYPES.join(", ")}.`,
    });
  }
  const credentials: ClientCredentialsInput = {
    authorization: context.authorization,
    clientId: params.client_id,
    clientSecret: params.client_secret,
  };
  const authenticated = await authenticateTokenClient(deps, credentials, {
    // Public PKCE clients redeem codes and refresh without a secret (AS §5.2); a PAT needs the secret.
    allowNone: grantType !== "personal_access_token",
  });
  hooks.onClientAuthenticated?.(authenticated.client);
  switch (grantType as GrantType) {
    case "authorization_code":
      return authorizationCodeGrant(deps, authenticated, params, context);
    case "refresh_token":
      return refreshTokenGrant(deps, authenticated, params, context);
    case "personal_access_token":
      return personalAccessTokenGrant(deps, authenticated, params, context);
  }
}
