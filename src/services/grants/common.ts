import type { Principal } from "../../auth/principal";

/** What the three grants of the token endpoint share (AS §6): the request's shape and scopes. */

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

/** Splits a space-delimited scope parameter; empty or only spaces → an empty list. */
export function parseScope(scope: string | undefined): string[] {
  return [...new Set((scope ?? "").split(" ").filter((s) => s.length > 0))];
}
