import { z } from "@hono/zod-openapi";

/**
 * Wire formats of POST /oauth2/token (AS §6, RFC 6749 §4.1.3, §5.1, §5.2). The form is checked
 * for duplicates and size before this schema runs (middleware/oauth-form.ts); which parameters a
 * grant requires is the grant's rule (services/token-endpoint.ts), so every field but
 * `grant_type` is optional here.
 */

/** Longest value of any parameter: codes and tokens are 43 characters, scopes a few hundred. */
const MAX_PARAMETER_LENGTH = 2048;

const param = (description: string, example?: string) =>
  z
    .string()
    .max(MAX_PARAMETER_LENGTH)
    .optional()
    .openapi(example === undefined ? { description } : { description, example });

export const TokenRequestSchema = z
  .object({
    grant_type: z.string().min(1).max(64).openapi({
      description: "`authorization_code`, `refresh_token` or `personal_access_token`.",
      example: "personal_access_token",
    }),
    code: param("authorization_code: the code from the authorization response."),
    redirect_uri: param(
      "authorization_code: the redirect URI of the authorization request; required when the client has more than one.",
    ),
    code_verifier: param("authorization_code: the PKCE verifier (RFC 7636), required iff the request had a challenge."),
    refresh_token: param("refresh_token: the refresh token to rotate."),
    scope: param(
      "refresh_token: a narrower set of the grant's scopes; personal_access_token: a subset of the client's (empty: all).",
      "files:read",
    ),
    client_id: param("client_secret_post and none: the client id.", "0b6a9d3c-5a2f-4f61-9d55-2f1c0a7e8b41"),
    client_secret: param("client_secret_post: the client secret.", "3f0c2a9b-7d41-4e8a-b6c5-1d2e3f4a5b6c"),
  })
  .openapi("TokenRequest", {
    description:
      "application/x-www-form-urlencoded; each parameter at most once (RFC 6749 §3.2). Client authentication: HTTP Basic (client_secret_basic), or client_id + client_secret in the form (client_secret_post), or client_id alone for PKCE clients (none, authorization_code only).",
  });

export type TokenRequest = z.infer<typeof TokenRequestSchema>;

const EXAMPLE_TOKEN_RESPONSE = {
  access_token: "eyJhbGciOiJFUzI1NiIsImtpZCI6IkFoRmFENDVRIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
  token_type: "Bearer",
  expires_in: 3600,
  scope: "files:read openid",
  refresh_token: "Q2h2b1ZqbG9hWl9yR0l6b3RJY0N4a0Z0c0dJbmN0M0l1",
  id_token: "eyJhbGciOiJSUzI1NiIsImtpZCI6IlpMSE9pQVhrIiwidHlwIjoiSldUIn0.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
} as const;

export const TokenResponseSchema = z
  .object({
    access_token: z.string().openapi({ description: "An RFC 9068 JWT (AS §5.1)." }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().positive().openapi({ description: "Seconds until the access token expires." }),
    scope: z.string().openapi({ description: "The granted scopes, space-delimited." }),
    refresh_token: z
      .string()
      .optional()
      .openapi({ description: "authorization_code and refresh_token grants; rotated on every use (AS §5.2)." }),
    id_token: z.string().optional().openapi({ description: "With scope `openid`, for authorization_code (AS §5.4)." }),
  })
  .openapi("TokenResponse", { example: EXAMPLE_TOKEN_RESPONSE });

export const OAuthErrorSchema = z
  .object({
    error: z.string().openapi({ example: "invalid_grant" }),
    error_description: z.string().openapi({ example: "The code is invalid, expired or was issued to another client." }),
  })
  .openapi("OAuthError", { description: "RFC 6749 §5.2 error response." });
