import { base64url, createLocalJWKSet, type JWTVerifyGetKey, jwtVerify, SignJWT } from "jose";
import type { PublicSigningJwk } from "../db/schema";
import { currentSigningKey, publishedKeys, type SigningKeyDeps, VERIFIER_SKEW_MS } from "../keys/signing-keys";

/**
 * Access tokens (AS §5.1): RFC 9068 JWTs with DocSpace's claims, so that DocSpace's .NET APIs and
 * standard libraries (oauth4webapi's `validateJwtAccessToken`) both accept them. Nothing secret is
 * in them: identifiers, scopes and times only.
 */

/** The JOSE `typ` of an access token (RFC 9068 §2.1); an ID token or any other JWT lacks it. */
export const ACCESS_TOKEN_TYP = "at+jwt";

/** Every algorithm a key of ours signs with; a token in any other (`none`, `HS256`, …) never verifies. */
const VERIFIABLE_ALGS = ["ES256", "RS256"];

/** Longest compact JWS looked at: ours are well under 2 KB (an RS256 signature is 342 characters). */
const MAX_TOKEN_LENGTH = 8192;

/** What a new access token says (times in the codebase's clock: milliseconds since the epoch). */
export type AccessTokenInput = {
  /** `issuerFor(origin)` (AS §2). */
  issuer: string;
  /** The tenant's origin: DocSpace checks it. */
  audience: string;
  /** The user's GUID. */
  subject: string;
  clientId: string;
  tenantId: number;
  /** Granted scopes; the token carries them as a JSON array (AS §5.1). */
  scopes: readonly string[];
  /**
   * The refresh family the token was issued from (a code redemption or refresh), as the `sid`
   * claim: introspection reports the token inactive once its family is revoked (AS §5.2, §7).
   * Absent for a personal access token, which has no family.
   */
  familyId?: string;
  now: number;
};

/** A signed access token and what the token response and the stores need to know of it. */
export type MintedAccessToken = {
  token: string;
  jti: string;
  /** Seconds, for the token response's `expires_in`. */
  expiresIn: number;
  /** When `exp` passes, in milliseconds since the epoch. */
  expiresAt: number;
};

/** The claims of a verified access token, exactly the ones `mintAccessToken` writes. */
export type AccessTokenClaims = {
  iss: string;
  aud: string;
  sub: string;
  client_id: string;
  /** DocSpace's name for `client_id`. */
  cid: string;
  /** DocSpace's tenant id. */
  tid: number;
  /** A JSON array, not RFC 9068's space-delimited string: DocSpace's .NET scope check needs one claim per scope. */
  scope: string[];
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  /** The refresh family it was issued from (OIDC's session id: one family is one grant's session); absent for a PAT. */
  sid?: string;
};

/** 128 random bits, base64url: unguessable and unique, the key a revocation of this one token uses (AS §8). */
function newJti(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * Signs an access token with the current key of `ACCESS_TOKEN_ALG` (ES256 unless set to RS256),
 * valid from `now` for `ACCESS_TOKEN_TTL_SECONDS`. A key-store failure is a 503 (`HttpProblem`).
 */
export async function mintAccessToken(deps: SigningKeyDeps, input: AccessTokenInput): Promise<MintedAccessToken> {
  const { signingKeys } = deps;
  const key = await currentSigningKey({ ...deps, now: input.now }, signingKeys.accessTokenAlg);
  const iat = Math.floor(input.now / 1000);
  const expiresIn = Math.floor(signingKeys.accessTokenTtlMs / 1000);
  const exp = iat + expiresIn;
  const jti = newJti();
  const token = await new SignJWT({
    client_id: input.clientId,
    cid: input.clientId,
    tid: input.tenantId,
    scope: [...new Set(input.scopes)],
    ...(input.familyId === undefined ? {} : { sid: input.familyId }),
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setSubject(input.subject)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key.privateKey);
  return { token, jti, expiresIn, expiresAt: exp * 1000 };
}

/**
 * One verifier per published key list: the key-cache hands out the same array while it is warm,
 * so the public keys are imported once per isolate and minute, not once per introspection.
 */
const verifiers = new WeakMap<PublicSigningJwk[], JWTVerifyGetKey>();

function verifierOf(keys: PublicSigningJwk[]): JWTVerifyGetKey {
  let verifier = verifiers.get(keys);
  if (!verifier) {
    verifier = createLocalJWKSet({ keys });
    verifiers.set(keys, verifier);
  }
  return verifier;
}

const isString = (value: unknown): value is string => typeof value === "string" && value.length > 0;
const isTime = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value);

/** The payload as `AccessTokenClaims` when it has exactly the shape we mint, else undefined. */
function claimsOf(payload: Record<string, unknown>): AccessTokenClaims | undefined {
  const { iss, aud, sub, client_id, cid, tid, scope, iat, nbf, exp, jti, sid } = payload;
  if (![iss, aud, sub, client_id, jti].every(isString) || cid !== client_id) return undefined;
  if (![iat, nbf, exp].every(isTime) || !isTime(tid)) return undefined;
  if (!Array.isArray(scope) || !scope.every(isString)) return undefined;
  if (sid !== undefined && !isString(sid)) return undefined;
  const claims = { iss, aud, sub, client_id, cid, tid, scope, iat, nbf, exp, jti } as AccessTokenClaims;
  if (sid !== undefined) claims.sid = sid as string;
  return claims;
}

/**
 * The claims of `token` when it is one of our access tokens and valid at `now`, else null: signed
 * by a key of our JWKS (`publishedKeys`, so a key retired and deleted no longer counts) with ES256
 * or RS256, `typ: at+jwt`, issued by `issuer`, within `exp`/`nbf` allowing 60 s of clock skew, with
 * every claim of AS §5.1. Any malformed or foreign input is null; only a key-store failure throws
 * (a 503 `HttpProblem`): "unavailable" must not read as "inactive". Revocation and client checks
 * (AS §7) are the caller's.
 */
export async function verifyAccessToken(
  deps: SigningKeyDeps,
  token: unknown,
  options: { issuer: string; now: number },
): Promise<AccessTokenClaims | null> {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
  const keys = await publishedKeys({ ...deps, now: options.now });
  try {
    const { payload } = await jwtVerify(token, verifierOf(keys), {
      algorithms: VERIFIABLE_ALGS,
      typ: ACCESS_TOKEN_TYP,
      issuer: options.issuer,
      currentDate: new Date(options.now),
      clockTolerance: VERIFIER_SKEW_MS / 1000,
      requiredClaims: ["iss", "aud", "sub", "exp", "nbf", "iat", "jti"],
    });
    return claimsOf(payload) ?? null;
  } catch {
    // Whatever jose rejects (malformed, unknown kid, bad signature, expired, …) is simply not ours.
    return null;
  }
}
