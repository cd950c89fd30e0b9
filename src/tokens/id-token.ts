import { SignJWT } from "jose";
import { currentSigningKey, type SigningKeyDeps } from "../keys/signing-keys";

/**
 * OIDC ID tokens (AS §5.4, OIDC Core §2), issued with scope `openid`. Always RS256, OIDC's default
 * algorithm, so that a relying party (openid-client, oauth4webapi) that was told nothing about our
 * algorithms validates them unchanged.
 */

/** What a new ID token says (times in milliseconds since the epoch, like the codebase's clock). */
export type IdTokenInput = {
  issuer: string;
  /** The user's GUID, the same `sub` as the access token's. */
  subject: string;
  /** The audience and authorized party. */
  clientId: string;
  /** Echoed when the authorization request sent one. */
  nonce?: string;
  /** When the user authenticated: the x-signature's issue time. */
  authTime: number;
  /** From the x-signature's `user_name` and `user_email`; left out when unknown. */
  name?: string;
  email?: string;
  now: number;
};

/** The `typ` of an ID token: plain JWT, so it is never taken for an access token (`at+jwt`). */
const ID_TOKEN_TYP = "JWT";

/** Signs an ID token with the current RS256 key, valid for `ACCESS_TOKEN_TTL_SECONDS` (a 503 when the keys are unavailable). */
export async function mintIdToken(deps: SigningKeyDeps, input: IdTokenInput): Promise<string> {
  const key = await currentSigningKey({ ...deps, now: input.now }, "RS256");
  const iat = Math.floor(input.now / 1000);
  const claims: Record<string, string | number> = {
    azp: input.clientId,
    auth_time: Math.floor(input.authTime / 1000),
  };
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  if (input.name) claims.name = input.name;
  if (input.email) claims.email = input.email;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ID_TOKEN_TYP })
    .setIssuer(input.issuer)
    .setSubject(input.subject)
    .setAudience(input.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.floor(deps.signingKeys.accessTokenTtlMs / 1000))
    .sign(key.privateKey);
}
