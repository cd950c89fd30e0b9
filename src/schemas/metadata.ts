import { z } from "@hono/zod-openapi";

/**
 * Wire format of the authorization server's metadata (AS §2): RFC 8414 and OpenID Connect Discovery
 * 1.0 in one document, and its presenter. Every endpoint lives under the issuer, `{origin}/oauth2`.
 */

/** Claims our access tokens, ID tokens and introspection answers carry (AS §5.1, §5.4, §7). */
export const CLAIMS_SUPPORTED = [
  "sub",
  "iss",
  "aud",
  "exp",
  "iat",
  "nbf",
  "jti",
  "auth_time",
  "nonce",
  "azp",
  "name",
  "email",
  "client_id",
  "cid",
  "tid",
  "scope",
  "sid",
];

/** Client authentication at the token, introspection and revocation endpoints (AS §6, §7, §8). */
const CLIENT_AUTH_METHODS = ["client_secret_post", "client_secret_basic", "none"] as const;

const EXAMPLE_ISSUER = "https://docspace.example.com/oauth2";
const EXAMPLE_SCOPES = [
  "openid",
  "accounts.self:read",
  "accounts.self:write",
  "accounts:read",
  "accounts:write",
  "files:read",
  "files:write",
  "rooms:read",
  "rooms:write",
];

const url = (description: string) => z.url().openapi({ description });
const list = <T extends z.ZodType>(item: T, description: string) => z.array(item).openapi({ description });

const MetadataShape = z.object({
  issuer: url("`{origin}/oauth2`: the `iss` of every token and authorization response (AS §2)."),
  authorization_endpoint: url("Start of the authorization-code flow (AS §4)."),
  token_endpoint: url("Grants `authorization_code`, `refresh_token`, `personal_access_token` (AS §6)."),
  jwks_uri: url("The public signing keys (AS §5.3)."),
  introspection_endpoint: url("RFC 7662 (AS §7)."),
  revocation_endpoint: url("RFC 7009 (AS §8)."),
  userinfo_endpoint: url("OIDC Core §5.3."),
  scopes_supported: list(z.string(), "Every scope of GET /api/2.0/scopes; `openid` always."),
  response_types_supported: list(z.literal("code"), "The authorization-code flow only."),
  response_modes_supported: list(z.literal("query"), "Codes and errors come back in the query."),
  grant_types_supported: list(
    z.enum(["authorization_code", "refresh_token", "personal_access_token"]),
    "`personal_access_token` is DocSpace's developer token (AS §6).",
  ),
  code_challenge_methods_supported: list(z.literal("S256"), "PKCE with S256 only (RFC 7636)."),
  token_endpoint_auth_methods_supported: list(z.enum(CLIENT_AUTH_METHODS), "Client authentication (AS §6)."),
  introspection_endpoint_auth_methods_supported: list(
    z.enum(CLIENT_AUTH_METHODS),
    "As at the token endpoint; DocSpace's APIs call without credentials (AS §7).",
  ),
  revocation_endpoint_auth_methods_supported: list(z.enum(CLIENT_AUTH_METHODS), "As at the token endpoint."),
  subject_types_supported: list(z.literal("public"), "`sub` is the DocSpace user id."),
  id_token_signing_alg_values_supported: list(
    z.enum(["RS256", "ES256"]),
    "ID tokens are RS256; access tokens ES256 or RS256.",
  ),
  authorization_response_iss_parameter_supported: z
    .literal(true)
    .openapi({ description: "Every authorization response carries `iss` (RFC 9207)." }),
  claims_supported: list(z.string(), "Claims of access tokens, ID tokens and introspection answers."),
});

export type AuthorizationServerMetadata = z.infer<typeof MetadataShape>;

/** The document for an issuer (`{origin}/oauth2`) and the scopes it supports. */
export function toAuthorizationServerMetadata(facts: {
  issuer: string;
  scopes: string[];
}): AuthorizationServerMetadata {
  const { issuer } = facts;
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    userinfo_endpoint: `${issuer}/userinfo`,
    scopes_supported: [...facts.scopes],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token", "personal_access_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256", "ES256"],
    authorization_response_iss_parameter_supported: true,
    claims_supported: [...CLAIMS_SUPPORTED],
  };
}

export const AuthorizationServerMetadataSchema = MetadataShape.openapi("AuthorizationServerMetadata", {
  description:
    "The authorization server's metadata (RFC 8414, OpenID Connect Discovery 1.0): the same document at every discovery path.",
  example: toAuthorizationServerMetadata({ issuer: EXAMPLE_ISSUER, scopes: EXAMPLE_SCOPES }),
});
