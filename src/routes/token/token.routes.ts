import { createRoute } from "@hono/zod-openapi";
import { jsonResponse, TAGS } from "../../lib/openapi-responses";
import { oauthForm } from "../../middleware/oauth-form";
import {
  FORM_ENDPOINT_ERROR_RESPONSES,
  invalidClientResponseSpec,
  NO_STORE_HEADERS,
  oauthErrorResponseSpec as oauthError,
  PRAGMA_HEADER,
} from "../../schemas/oauth-responses";
import { TokenRequestSchema, TokenResponseSchema } from "../../schemas/token";

/** Contract of the authorization server's token endpoint (AS §6, RFC 6749 §3.2). */

export const TOKEN_PATH = "/oauth2/token";

export const tokenRoute = createRoute({
  method: "post",
  path: TOKEN_PATH,
  operationId: "token",
  summary: "Token endpoint: authorization_code, refresh_token, personal_access_token (AS §6)",
  description:
    "Exchanges a code (with PKCE), rotates a refresh token (reuse revokes the grant) or issues a personal access token to a signed-in user (x-signature cookie or header, minted for this host). Client authentication: client_secret_basic, client_secret_post, or none for PKCE clients. Errors are RFC 6749 §5.2 JSON. CORS: a preflight is answered for any origin; a response reflects `Origin` only when it is one of the authenticated client's `allowed_origins`.",
  tags: TAGS.oauth,
  security: [],
  middleware: [oauthForm] as const,
  request: {
    body: {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: TokenRequestSchema } },
    },
  },
  responses: {
    200: { ...jsonResponse(TokenResponseSchema, "The tokens."), headers: { ...NO_STORE_HEADERS, ...PRAGMA_HEADER } },
    400: oauthError(
      "invalid_request (missing, repeated or malformed parameter, not a form), invalid_grant (code or refresh token invalid, expired, used, PKCE or redirect_uri mismatch, consent revoked, client disabled, no valid x-signature), invalid_scope, unsupported_grant_type, access_denied (a guest asking for a personal access token).",
      "invalid_grant",
      "The code is invalid, expired or was issued to another client.",
    ),
    401: invalidClientResponseSpec(
      "unknown client, wrong secret, malformed credentials, or no authentication — one body for all.",
    ),
    ...FORM_ENDPOINT_ERROR_RESPONSES,
    503: oauthError(
      "The database or the signing keys are unavailable; no token was issued from a half-written state.",
      "temporarily_unavailable",
      "The authorization store is unavailable.",
    ),
  },
});
