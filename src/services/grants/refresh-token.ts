import { findRefreshToken, type RefreshRotation, rotateRefreshToken } from "../../authorization/refresh-tokens";
import { invalidGrant, invalidRequest, invalidScope, type OAuthError } from "../../lib/oauth-error";
import { mintAccessToken } from "../../tokens/access-token";
import { issuerFor } from "../../tokens/issuer";
import { findConsent, isOnlyOpenId } from "../consent-coverage";
import type { ServiceDeps } from "../deps";
import { revokeOneFamily } from "../family-revocation";
import type { AuthenticatedTokenClient } from "../oauth-client-auth";
import { parseScope, type TokenRequestContext, type TokenRequestParams, type TokenResponse } from "./common";

/**
 * `refresh_token` (AS §5.2). Everything that can refuse or fail runs before the one write, so that
 * a refused request or an outage never consumes the token without handing out its successor:
 * (1) a read-only lookup of the token and its family (unknown, another client's, rotated, revoked
 * or expired → straight to the rotation, which tells invalid from reuse); (2) `scope` may narrow,
 * never widen (`invalid_scope`, the token stays usable); (3) the user's consent must still exist
 * (else the family is revoked, KV then D1, `invalid_grant`); (4) the access token is signed; (5) the rotation
 * batch — exactly once; reuse of a rotated token revokes the family (KV then D1). The refresh token keeps the
 * family's scopes (RFC 6749 §6). No ID token on refresh. The client's `enabled` was checked at
 * authentication; the rotation itself re-checks that the family is live and the client's.
 */
export async function refreshTokenGrant(
  deps: ServiceDeps,
  { client }: AuthenticatedTokenClient,
  params: TokenRequestParams,
  context: TokenRequestContext,
): Promise<TokenResponse> {
  const presented = params.refresh_token;
  if (!presented) throw invalidRequest("refresh_token is required.");
  const found = await findRefreshToken(deps, presented);
  if (!found?.active || found.family.clientId !== client.clientId) {
    // The rotation answers these without issuing anything, and detects reuse of a rotated token.
    throw await refreshRefusal(deps, client.clientId, await rotateRefreshToken(deps, presented, client.clientId));
  }
  const { family } = found;
  const requested = parseScope(params.scope);
  const extra = requested.filter((s) => !family.scopes.includes(s));
  if (extra.length > 0) throw invalidScope(`scope exceeds the original grant: ${extra.slice(0, 5).join(" ")}.`);
  if (!isOnlyOpenId(family.scopes) && !(await findConsent(deps, family))) {
    await revokeOneFamily(deps, family, "consent_revoked");
    throw invalidGrant("The user's consent to this client was revoked.");
  }
  const scopes = requested.length > 0 ? requested : family.scopes;
  const access = await mintAccessToken(deps, {
    issuer: issuerFor(context.origin),
    audience: context.origin,
    subject: family.userId,
    clientId: client.clientId,
    tenantId: family.tenant,
    scopes,
    familyId: family.familyId,
    now: deps.now,
  });
  const rotation = await rotateRefreshToken(deps, presented, client.clientId);
  if (rotation.kind !== "rotated") throw await refreshRefusal(deps, client.clientId, rotation);
  return {
    access_token: access.token,
    token_type: "Bearer",
    expires_in: access.expiresIn,
    scope: scopes.join(" "),
    refresh_token: rotation.refreshToken,
  };
}

/**
 * The `invalid_grant` for a rotation that did not rotate. Reuse revokes the family first — in KV,
 * then in D1 (a KV failure is a 503 and the family stays live: nothing half done).
 */
async function refreshRefusal(deps: ServiceDeps, clientId: string, rotation: RefreshRotation): Promise<OAuthError> {
  if (rotation.kind === "reuse") {
    // Reuse is reported only for the presenting client's own tokens (`rotateRefreshToken`).
    const family = { familyId: rotation.familyId, clientId, expiresOn: rotation.familyExpiresOn };
    await revokeOneFamily(deps, family, "reuse");
    return invalidGrant("The refresh token was already used; every token of its grant has been revoked.");
  }
  return invalidGrant("The refresh token is invalid, expired, revoked or was issued to another client.");
}
