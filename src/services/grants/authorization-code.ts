import { redeemCode, revokeReplayedCode } from "../../authorization/codes";
import { revokeFamily } from "../../authorization/refresh-tokens";
import type { AuthorizationCodeRow, ClientRow } from "../../db/schema";
import { invalidGrant, invalidRequest } from "../../lib/oauth-error";
import { mintAccessToken } from "../../tokens/access-token";
import { mintIdToken } from "../../tokens/id-token";
import { issuerFor } from "../../tokens/issuer";
import { consentCovers, OPENID } from "../consent-coverage";
import type { ServiceDeps } from "../deps";
import { revokeFamilyThen } from "../family-revocation";
import type { AuthenticatedTokenClient } from "../oauth-client-auth";
import type { TokenRequestContext, TokenRequestParams, TokenResponse } from "./common";

/** RFC 7636 §4.1: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** The S256 transform of RFC 7636 §4.2: base64url of the verifier's SHA-256. */
async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/**
 * What is checked before the code is consumed: a missing or malformed parameter is the client's
 * mistake and must not burn the code (invalid_request). Checks that need the code's row come after.
 */
function checkCodeRequest(client: ClientRow, params: TokenRequestParams): { code: string } {
  if (!params.code) throw invalidRequest("code is required.");
  if (params.redirect_uri === undefined && client.redirectUris.length > 1) {
    // With several registered URIs the authorization request had to name one (AS §4 step 2).
    throw invalidRequest("redirect_uri is required: the client has more than one registered redirect URI.");
  }
  if (params.code_verifier !== undefined && !CODE_VERIFIER.test(params.code_verifier)) {
    throw invalidRequest("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636).");
  }
  return { code: params.code };
}

/**
 * The bindings of a consumed code (AS §6, RFC 7636, RFC 9700 §4.8). They are checked after the
 * redemption consumed it (and started its family, which the caller then revokes), and a mismatch
 * leaves it consumed: failing closed, so a wrong-verifier guess cannot be retried with another
 * verifier, and the legitimate client's later redemption is a replay (RFC 9700 §2.1.1 asks codes to
 * be single use whatever the outcome).
 */
async function checkRedeemedCode(
  row: Pick<AuthorizationCodeRow, "redirectUri" | "codeChallenge">,
  authenticated: AuthenticatedTokenClient,
  params: TokenRequestParams,
): Promise<void> {
  if (params.redirect_uri !== undefined && params.redirect_uri !== row.redirectUri) {
    throw invalidGrant("redirect_uri does not match the authorization request.");
  }
  if (row.codeChallenge === null) {
    if (authenticated.method === "none") {
      throw invalidGrant("A client without a secret must use PKCE: the code has no code_challenge.");
    }
    if (params.code_verifier !== undefined) {
      // RFC 9700 §4.8: a verifier for a code issued without a challenge is a PKCE downgrade attempt.
      throw invalidGrant("code_verifier was sent, but the authorization request had no code_challenge.");
    }
    return;
  }
  if (params.code_verifier === undefined) throw invalidGrant("code_verifier is required for this code.");
  if ((await s256(params.code_verifier)) !== row.codeChallenge) {
    throw invalidGrant("code_verifier does not match the code_challenge.");
  }
}

/**
 * `authorization_code` (AS §6, §4 step 9, §10): consume the code exactly once and start its refresh
 * family (one batch), check its bindings and the consent, mint the tokens. A replay is
 * `invalid_grant`; when its redirect URI and verifier match the code's, the family the first
 * redemption started is revoked first (KV, then D1).
 */
export async function authorizationCodeGrant(
  deps: ServiceDeps,
  authenticated: AuthenticatedTokenClient,
  params: TokenRequestParams,
  context: TokenRequestContext,
): Promise<TokenResponse> {
  const { client } = authenticated;
  const { code } = checkCodeRequest(client, params);
  const redemption = await redeemCode(deps, code, client.clientId);
  if (redemption.kind === "invalid")
    throw invalidGrant("The code is invalid, expired or was issued to another client.");
  if (redemption.kind === "replayed") {
    // Only a replay that would otherwise have been valid revokes (OAuth 2.1 §7.5.3): whoever stole a
    // public client's code without its verifier cannot make it revoke the rightful tokens.
    await checkRedeemedCode(redemption.bindings, authenticated, params);
    // The family this code started stops in KV first (introspection reads KV only), then in D1.
    const { familyId, familyExpiresOn } = redemption;
    if (familyId === null) await revokeReplayedCode(deps, redemption);
    else
      await revokeFamilyThen(deps, { familyId, clientId: client.clientId, expiresOn: familyExpiresOn }, () =>
        revokeReplayedCode(deps, redemption),
      );
    throw invalidGrant("The code was already used; the tokens issued from it have been revoked.");
  }
  const { code: row, family } = redemption;
  try {
    await checkRedeemedCode(row, authenticated, params);
    // Consent revoked (revokeUserClient) between the code and its redemption: nothing is issued.
    if (!(await consentCovers(deps, row, row.scopes))) {
      throw invalidGrant("The user's consent to this client no longer covers the code's scopes.");
    }
    const issuer = issuerFor(context.origin);
    const access = await mintAccessToken(deps, {
      issuer,
      audience: context.origin,
      subject: row.userId,
      clientId: client.clientId,
      tenantId: row.tenant,
      scopes: row.scopes,
      familyId: family.familyId,
      now: deps.now,
    });
    const response: TokenResponse = {
      access_token: access.token,
      token_type: "Bearer",
      expires_in: access.expiresIn,
      scope: row.scopes.join(" "),
      refresh_token: family.refreshToken,
    };
    if (row.scopes.includes(OPENID)) {
      response.id_token = await mintIdToken(deps, {
        issuer,
        subject: row.userId,
        clientId: client.clientId,
        nonce: row.nonce ?? undefined,
        authTime: row.authTime,
        name: row.userName ?? undefined,
        email: row.userEmail ?? undefined,
        now: deps.now,
      });
    }
    return response;
  } catch (error) {
    await abandonFamily(deps, family.familyId);
    throw error;
  }
}

/**
 * The family the redemption started, when no token reaches the client (a binding or the consent
 * failed, or signing did), is revoked, best effort: nobody holds its refresh token, and a revoked
 * family is plainly dead to introspection.
 */
async function abandonFamily(deps: ServiceDeps, familyId: string): Promise<void> {
  await revokeFamily(deps, familyId, "revoked").catch(() => undefined);
}
