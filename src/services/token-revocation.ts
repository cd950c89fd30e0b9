import { findRefreshToken } from "../authorization/refresh-tokens";
import { revokeAccessTokenId } from "../revocation/protocol";
import { verifyAccessToken } from "../tokens/access-token";
import { issuerFor } from "../tokens/issuer";
import type { ServiceDeps } from "./deps";
import { revokeOneFamily } from "./family-revocation";
import { authenticateCaller, type TokenCallContext, type TokenParams } from "./token-introspection";

/**
 * Token revocation (RFC 7009, AS §8). The client authenticates as at the token endpoint; only its
 * own tokens are revoked. A token of another client, an unknown, expired or malformed one: nothing
 * happens and the answer is the same 200 (RFC 7009 §2.2), so a caller cannot probe tokens.
 */
export async function revokeToken(
  deps: ServiceDeps,
  params: TokenParams,
  context: TokenCallContext,
  hooks: { onClientAuthenticated?: (allowedOrigins: readonly string[]) => void } = {},
): Promise<void> {
  const { client } = await authenticateCaller(deps, params, context);
  hooks.onClientAuthenticated?.(client.allowedOrigins);
  const { token } = params;
  // A refresh token has no dots; an access token is a JWT. The hint is not needed to tell them apart.
  if (!token.includes(".")) {
    const found = await findRefreshToken(deps, token);
    // The family's access tokens stop with it: introspection checks their `sid` in KV (AS §5.2, §7).
    if (found && found.family.clientId === client.clientId) await revokeOneFamily(deps, found.family, "revoked");
    return;
  }
  const claims = await verifyAccessToken(deps, token, { issuer: issuerFor(context.origin), now: deps.now });
  if (claims && claims.client_id === client.clientId)
    await revokeAccessTokenId(deps.kv, claims.jti, claims.exp, deps.now);
}
