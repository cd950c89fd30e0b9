import { eq } from "drizzle-orm";
import { findRefreshToken } from "../authorization/refresh-tokens";
import { guardD1 } from "../db/errors";
import { clients } from "../db/schema";
import { invalidClient, OAuthError } from "../lib/oauth-error";
import { unavailable } from "../lib/problem";
import { type RevocationEntry, readTokenRevocations } from "../revocation/revocations";
import { type AccessTokenClaims, verifyAccessToken } from "../tokens/access-token";
import { issuerFor } from "../tokens/issuer";
import type { ServiceDeps } from "./deps";
import {
  type AuthenticatedTokenClient,
  authenticateTokenClient,
  type ClientCredentialsInput,
} from "./oauth-client-auth";

/**
 * Introspection (RFC 7662, AS §7) and the one "is this access token active" check that introspection
 * and userinfo share. Every refusal to call a token active is the same `{"active": false}`: a
 * caller learns nothing about why. A store outage is a 503, never "inactive".
 */

/** The form of POST /oauth2/introspect and /oauth2/revoke, as validated. */
export type TokenParams = {
  token: string;
  token_type_hint?: string;
  client_id?: string;
  client_secret?: string;
};

/** Where the request came from: its origin (the issuer) and its `Authorization` header. */
export type TokenCallContext = { origin: string; authorization?: string };

/** The answer of RFC 7662 §2.2. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      exp: number;
      iat: number;
      nbf?: number;
      iss: string;
      aud?: string;
      jti?: string;
      token_type: "access_token" | "refresh_token";
      tid: number;
    };

const INACTIVE = { active: false } as const;

/**
 * The enabled client's CORS origins, or undefined for an unknown or disabled client (one D1 read,
 * every time): for refresh-token introspection (a D1 lookup by nature) and for an authenticated
 * caller's CORS, never on the access-token hot path.
 */
export async function enabledClient(
  deps: Pick<ServiceDeps, "db">,
  clientId: string,
): Promise<{ allowedOrigins: string[] } | undefined> {
  // Read each time, not cached per isolate: disabling a client must take effect at once (AS §7).
  const row = await guardD1(
    deps.db
      .select({ enabled: clients.enabled, allowedOrigins: clients.allowedOrigins })
      .from(clients)
      .where(eq(clients.clientId, clientId))
      .get(),
  );
  return row?.enabled ? { allowedOrigins: row.allowedOrigins } : undefined;
}

/** Whether `entry` revokes a token issued at `iat` (both epoch seconds, as `tokenStatus` compares them). */
const revokes = (entry: RevocationEntry | null, iat: number): boolean => entry !== null && iat <= entry.revoked_before;

/** An active access token: its claims. */
export type ActiveAccessToken = { claims: AccessTokenClaims };

/**
 * The claims of `token` when it is an active access token of this issuer (AS §7), else null: ours
 * and valid (`verifyAccessToken`), not past `exp`; and, in ONE KV bulk read and no D1 read (the hot
 * path, docs/storage.md): not revoked by the client-wide or the (client, user) entry of SPEC §9 nor
 * by an RFC 7009 revocation of its `jti`; its client not disabled (`revoked:disabled:`); for a token
 * issued from a refresh family (`sid`), that family not revoked (`revoked:family:`). A deleted client
 * is covered by its `client_deleted` entry (no token is issued after it). KV unreadable → 503.
 */
export async function activeAccessToken(
  deps: ServiceDeps,
  token: string,
  issuer: string,
): Promise<ActiveAccessToken | null> {
  const claims = await verifyAccessToken(deps, token, { issuer, now: deps.now });
  // The verifier allows 60 s of skew for resource servers; the issuer's own clock has none.
  if (!claims || claims.exp * 1000 <= deps.now) return null;
  let revocations: Awaited<ReturnType<typeof readTokenRevocations>>;
  try {
    revocations = await readTokenRevocations(deps.kv, {
      clientId: claims.client_id,
      userId: claims.sub,
      jti: claims.jti,
      familyId: claims.sid,
    });
  } catch (error) {
    throw unavailable("The revocation list could not be read.", error);
  }
  const { client, consent, jtiRevoked, clientDisabled, familyRevoked } = revocations;
  if (jtiRevoked || clientDisabled || familyRevoked || revokes(client, claims.iat) || revokes(consent, claims.iat)) {
    return null;
  }
  return { claims };
}

/** The introspection answer for an active refresh token of an enabled client, else null. */
async function activeRefreshToken(
  deps: ServiceDeps,
  token: string,
  issuer: string,
): Promise<IntrospectionResponse | null> {
  const found = await findRefreshToken(deps, token);
  if (!found?.active || !(await enabledClient(deps, found.family.clientId))) return null;
  const { family } = found;
  return {
    active: true,
    scope: family.scopes.join(" "),
    client_id: family.clientId,
    sub: family.userId,
    exp: Math.floor(found.token.expiresOn / 1000),
    iat: Math.floor(found.token.createdOn / 1000),
    iss: issuer,
    token_type: "refresh_token",
    tid: family.tenant,
  };
}

async function introspectAccessToken(
  deps: ServiceDeps,
  token: string,
  issuer: string,
): Promise<IntrospectionResponse | null> {
  const active = await activeAccessToken(deps, token, issuer);
  if (!active) return null;
  const { claims } = active;
  return {
    active: true,
    scope: claims.scope.join(" "),
    client_id: claims.client_id,
    sub: claims.sub,
    exp: claims.exp,
    iat: claims.iat,
    nbf: claims.nbf,
    iss: claims.iss,
    aud: claims.aud,
    jti: claims.jti,
    token_type: "access_token",
    tid: claims.tid,
  };
}

/**
 * The client of an introspection or revocation request, authenticated as at the token endpoint
 * (`none` for `allow_pkce` clients). A disabled client is refused like a failed authentication:
 * RFC 7009 and RFC 7662 know only `invalid_client`.
 */
export async function authenticateCaller(
  deps: ServiceDeps,
  params: TokenParams,
  context: TokenCallContext,
): Promise<AuthenticatedTokenClient> {
  const credentials: ClientCredentialsInput = {
    authorization: context.authorization,
    clientId: params.client_id,
    clientSecret: params.client_secret,
  };
  try {
    return await authenticateTokenClient(deps, credentials, { allowNone: true });
  } catch (error) {
    if (error instanceof OAuthError && error.init.error === "invalid_grant") throw invalidClient();
    throw error;
  }
}

/** Whether the request carried any client credentials (an `Authorization` header, a `client_id` or a secret). */
const sentCredentials = (params: TokenParams, context: TokenCallContext): boolean =>
  Boolean(context.authorization?.trim()) || params.client_id !== undefined || params.client_secret !== undefined;

/** A refresh token is 43 base64url characters; a JWT has dots. Only a dot-free token can be a refresh token. */
const mayBeRefreshToken = (token: string): boolean => !token.includes(".");

/**
 * Answers an introspection request (RFC 7662, AS §7). Unauthenticated callers are accepted
 * (DocSpace's .NET APIs send none — a deliberate deviation from RFC 7662 §2.1); credentials that
 * were sent must authenticate (else 401 `invalid_client`). `token_type_hint` only orders the
 * lookups. Anything but an active token of this issuer is exactly `{"active": false}`.
 */
export async function introspectToken(
  deps: ServiceDeps,
  params: TokenParams,
  context: TokenCallContext,
  hooks: { onClientAuthenticated?: (allowedOrigins: readonly string[]) => void } = {},
): Promise<IntrospectionResponse> {
  if (sentCredentials(params, context)) {
    const { client } = await authenticateCaller(deps, params, context);
    hooks.onClientAuthenticated?.(client.allowedOrigins);
  }
  const issuer = issuerFor(context.origin);
  const { token } = params;
  const lookups = [
    () => introspectAccessToken(deps, token, issuer),
    ...(mayBeRefreshToken(token) ? [() => activeRefreshToken(deps, token, issuer)] : []),
  ];
  if (params.token_type_hint === "refresh_token") lookups.reverse();
  for (const lookup of lookups) {
    const answer = await lookup();
    if (answer) return answer;
  }
  return INACTIVE;
}
