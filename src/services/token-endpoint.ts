import { and, eq } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import { redeemCode, startFamily } from "../authorization/codes";
import {
  findRefreshToken,
  type RefreshRotation,
  revokeFamily,
  rotateRefreshToken,
} from "../authorization/refresh-tokens";
import { guardD1 } from "../db/errors";
import { type AuthorizationCodeRow, type ClientRow, consents } from "../db/schema";
import { invalidGrant, invalidRequest, invalidScope, OAuthError } from "../lib/oauth-error";
import { mintAccessToken } from "../tokens/access-token";
import { mintIdToken } from "../tokens/id-token";
import { issuerFor } from "../tokens/issuer";
import type { ServiceDeps } from "./deps";
import {
  type AuthenticatedTokenClient,
  authenticateTokenClient,
  type ClientCredentialsInput,
} from "./oauth-client-auth";

/**
 * The token endpoint's rules (AS §6, §5, §10): authenticate the client, then one of three grants.
 * Every failure is an `OAuthError` (RFC 6749 §5.2); a store outage is the store's 503 `HttpProblem`,
 * which the app renders as `temporarily_unavailable`. Handlers pass the parsed form and the
 * request's origin and principal; nothing here reads a request.
 */

/** The grants of AS §6. */
export const GRANT_TYPES = ["authorization_code", "refresh_token", "personal_access_token"] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** The form parameters of a token request (already checked for duplicates and types). */
export type TokenRequestParams = {
  grant_type: string;
  code?: string;
  redirect_uri?: string;
  code_verifier?: string;
  refresh_token?: string;
  scope?: string;
  client_id?: string;
  client_secret?: string;
};

/** What of the HTTP request the grants need besides the form. */
export type TokenRequestContext = {
  /** The request's origin: the issuer is `{origin}/oauth2` and the access token's `aud` (AS §2). */
  origin: string;
  /** The raw `Authorization` header (client_secret_basic). */
  authorization?: string;
  /**
   * The signed-in user (x-signature), for `personal_access_token`; only counted when its
   * `tenant_url` has the request's origin (AS §2).
   */
  principal?: Principal;
};

/** The successful token response (RFC 6749 §5.1, AS §6). */
export type TokenResponse = {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  /** Space-delimited. */
  scope: string;
  refresh_token?: string;
  id_token?: string;
};

/** Called once the client is known and authenticated (CORS reflects its `allowed_origins`). */
export type TokenEndpointHooks = { onClientAuthenticated?: (client: ClientRow) => void };

/** RFC 7636 §4.1: 43–128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** The only scope that needs no stored consent (AS §4 step 5). */
const OPENID = "openid";

/** Splits a space-delimited scope parameter; empty or only spaces → an empty list. */
function parseScope(scope: string | undefined): string[] {
  return [...new Set((scope ?? "").split(" ").filter((s) => s.length > 0))];
}

const isOnlyOpenId = (scopes: readonly string[]) => scopes.length === 1 && scopes[0] === OPENID;

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** The consent of (tenant, user, client), or undefined. */
async function findConsent(deps: ServiceDeps, owner: { tenant: number; userId: string; clientId: string }) {
  return guardD1(
    deps.db
      .select({ scopes: consents.scopes })
      .from(consents)
      .where(
        and(
          eq(consents.tenant, owner.tenant),
          eq(consents.userId, owner.userId),
          eq(consents.clientId, owner.clientId),
        ),
      )
      .get(),
  );
}

/** Whether the user's stored consent still covers `scopes` (an `openid`-only grant needs none, AS §4 step 5). */
async function consentCovers(
  deps: ServiceDeps,
  owner: { tenant: number; userId: string; clientId: string },
  scopes: readonly string[],
): Promise<boolean> {
  if (isOnlyOpenId(scopes)) return true;
  const consent = await findConsent(deps, owner);
  if (!consent) return false;
  const granted = new Set(consent.scopes.split(" "));
  return scopes.every((s) => granted.has(s));
}

/**
 * Answers a token request (AS §6): authenticates the client (`none` for `allow_pkce` clients
 * redeeming a code with PKCE or refreshing; never for a personal access token), then runs the grant. Throws `OAuthError` for every refusal.
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
 * conditional UPDATE consumed it, and a mismatch leaves it consumed: failing closed, so a
 * wrong-verifier guess cannot be retried with another verifier, and the legitimate client's later
 * redemption is a replay (RFC 9700 §2.1.1 asks codes to be single use whatever the outcome).
 */
async function checkRedeemedCode(
  row: AuthorizationCodeRow,
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
 * `authorization_code` (AS §6, §4 step 9, §10): consume the code exactly once, check its bindings,
 * the client and the consent, start the refresh family, mint the tokens. A replay is `invalid_grant`
 * and the store has revoked the family the first redemption started.
 */
async function authorizationCodeGrant(
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
    throw invalidGrant("The code was already used; the tokens issued from it have been revoked.");
  }
  const row = redemption.code;
  await checkRedeemedCode(row, authenticated, params);
  // Consent revoked (revokeUserClient) between the code and its redemption: nothing is issued.
  if (!(await consentCovers(deps, row, row.scopes))) {
    throw invalidGrant("The user's consent to this client no longer covers the code's scopes.");
  }
  const family = await startFamily(deps, row);
  if (!family) throw invalidGrant("The code was already used; the tokens issued from it have been revoked.");
  const issuer = issuerFor(context.origin);
  try {
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
 * A family whose tokens never reached the client (signing failed after it started) is revoked,
 * best effort: nobody holds its refresh token, and a revoked family is plainly dead to introspection.
 */
async function abandonFamily(deps: ServiceDeps, familyId: string): Promise<void> {
  await revokeFamily(deps, familyId, "revoked").catch(() => undefined);
}

/**
 * `refresh_token` (AS §5.2). Everything that can refuse or fail runs before the one write, so that
 * a refused request or an outage never consumes the token without handing out its successor:
 * (1) a read-only lookup of the token and its family (unknown, another client's, rotated, revoked
 * or expired → straight to the rotation, which tells invalid from reuse); (2) `scope` may narrow,
 * never widen (`invalid_scope`, the token stays usable); (3) the user's consent must still exist
 * (else the family is revoked, `invalid_grant`); (4) the access token is signed; (5) the rotation
 * batch — exactly once, reuse of a rotated token revokes the family. The refresh token keeps the
 * family's scopes (RFC 6749 §6). No ID token on refresh. The client's `enabled` was checked at
 * authentication; the rotation itself re-checks that the family is live and the client's.
 */
async function refreshTokenGrant(
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
    throw refreshRefusal(await rotateRefreshToken(deps, presented, client.clientId));
  }
  const { family } = found;
  const requested = parseScope(params.scope);
  const extra = requested.filter((s) => !family.scopes.includes(s));
  if (extra.length > 0) throw invalidScope(`scope exceeds the original grant: ${extra.slice(0, 5).join(" ")}.`);
  if (!isOnlyOpenId(family.scopes) && !(await findConsent(deps, family))) {
    await revokeFamily(deps, family.familyId, "consent_revoked");
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
  if (rotation.kind !== "rotated") throw refreshRefusal(rotation);
  return {
    access_token: access.token,
    token_type: "Bearer",
    expires_in: access.expiresIn,
    scope: scopes.join(" "),
    refresh_token: rotation.refreshToken,
  };
}

/** The `invalid_grant` for a rotation that did not rotate. */
function refreshRefusal(rotation: RefreshRotation): OAuthError {
  if (rotation.kind === "reuse") {
    return invalidGrant("The refresh token was already used; every token of its grant has been revoked.");
  }
  return invalidGrant("The refresh token is invalid, expired, revoked or was issued to another client.");
}

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
async function personalAccessTokenGrant(
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
