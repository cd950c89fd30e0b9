import { z } from "@hono/zod-openapi";

/**
 * Wire formats of POST /oauth2/introspect (RFC 7662, AS §7), POST /oauth2/revoke (RFC 7009, AS §8)
 * and GET/POST /oauth2/userinfo (OIDC Core §5.3). The form is checked for duplicates and size before
 * these schemas run (middleware/oauth-form.ts).
 */

/** Longest token looked at: an access token is under 2 KB, a refresh token 43 characters. */
const MAX_TOKEN_LENGTH = 8192;

const optional = (description: string, example?: string) =>
  z
    .string()
    .max(2048)
    .optional()
    .openapi(example === undefined ? { description } : { description, example });

const tokenForm = (name: string, description: string) =>
  z
    .object({
      token: z.string().min(1).max(MAX_TOKEN_LENGTH).openapi({
        description: "The access token (a JWT) or refresh token.",
        example: "Q2h2b1ZqbG9hWl9yR0l6b3RJY0N4a0Z0c0dJbmN0M0l1",
      }),
      token_type_hint: optional("`access_token` or `refresh_token`; only orders the lookups.", "refresh_token"),
      client_id: optional("client_secret_post and none: the client id.", "0b6a9d3c-5a2f-4f61-9d55-2f1c0a7e8b41"),
      client_secret: optional("client_secret_post: the client secret.", "3f0c2a9b-7d41-4e8a-b6c5-1d2e3f4a5b6c"),
    })
    .openapi(name, { description });

export const IntrospectionRequestSchema = tokenForm(
  "IntrospectionRequest",
  "application/x-www-form-urlencoded; each parameter at most once. Client authentication is optional (DocSpace's APIs send none); credentials that are sent must authenticate.",
);

export const RevocationRequestSchema = tokenForm(
  "RevocationRequest",
  "application/x-www-form-urlencoded; each parameter at most once. Client authentication as at the token endpoint: client_secret_basic, client_secret_post, or none for PKCE clients.",
);

export type TokenRequestForm = z.infer<typeof IntrospectionRequestSchema>;

export const IntrospectionResponseSchema = z
  .object({
    active: z.boolean().openapi({ description: "Whether the token is active; when false, the only member." }),
    scope: z.string().optional().openapi({ description: "Granted scopes, space-delimited." }),
    client_id: z.string().optional(),
    sub: z.string().optional().openapi({ description: "The user's GUID." }),
    exp: z.number().int().optional(),
    iat: z.number().int().optional(),
    nbf: z.number().int().optional().openapi({ description: "Access tokens only." }),
    iss: z.string().optional(),
    aud: z.string().optional().openapi({ description: "Access tokens only: the tenant's origin." }),
    jti: z.string().optional().openapi({ description: "Access tokens only." }),
    token_type: z.enum(["access_token", "refresh_token"]).optional(),
    tid: z.number().int().optional().openapi({ description: "DocSpace's tenant id." }),
    username: z.string().optional().openapi({ description: "The user's name, when known (not yet)." }),
  })
  .openapi("IntrospectionResponse", {
    description: 'RFC 7662 §2.2. Anything but an active token is exactly `{"active": false}`.',
    example: {
      active: true,
      scope: "files:read openid",
      client_id: "0b6a9d3c-5a2f-4f61-9d55-2f1c0a7e8b41",
      sub: "6f2c8f0e-9b7a-4d1e-8c3b-2a1f0e9d8c7b",
      exp: 1796000000,
      iat: 1795996400,
      nbf: 1795996400,
      iss: "https://docspace.example.com/oauth2",
      aud: "https://docspace.example.com",
      jti: "2Qm2Zq3yX0y7Yh8pWc1VbA",
      token_type: "access_token",
      tid: 1,
    },
  });

export const UserInfoResponseSchema = z
  .object({
    sub: z.string().openapi({ description: "The user's GUID." }),
    name: z.string().optional().openapi({
      description: "The user's name, as DocSpace signed it at consent; absent when unknown (a personal access token).",
    }),
    email: z
      .string()
      .optional()
      .openapi({ description: "The user's email, as DocSpace signed it at consent; absent when unknown." }),
  })
  .openapi("UserInfoResponse", {
    description: "OIDC Core §5.3: the user of the access token.",
    example: { sub: "6f2c8f0e-9b7a-4d1e-8c3b-2a1f0e9d8c7b", name: "Jane Doe", email: "jane@example.com" },
  });
