import { createRoute } from "@hono/zod-openapi";
import { TAGS } from "../../lib/openapi-responses";
import { oauthForm } from "../../middleware/oauth-form";
import {
  FORM_ENDPOINT_ERROR_RESPONSES,
  invalidClientResponseSpec,
  NO_STORE_HEADERS,
  oauthErrorResponseSpec as oauthError,
  PRAGMA_HEADER,
} from "../../schemas/oauth-responses";
import { RevocationRequestSchema } from "../../schemas/token-management";

/** Contract of the authorization server's revocation endpoint (AS §8, RFC 7009). */

export const REVOCATION_PATH = "/oauth2/revoke";

export const revokeRoute = createRoute({
  method: "post",
  path: REVOCATION_PATH,
  operationId: "revokeToken",
  summary: "Token revocation (RFC 7009, AS §8)",
  description:
    "Revokes one of the authenticated client's tokens: a refresh token revokes its whole grant (the family, and the access tokens issued from it); an access token is revoked by its `jti` until it expires. A token of another client, an unknown, expired or malformed one changes nothing; the answer is the same empty 200. Client authentication as at the token endpoint. Limited per client (AS §9). CORS as at the token endpoint.",
  tags: TAGS.oauth,
  security: [],
  middleware: [oauthForm] as const,
  request: {
    body: {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: RevocationRequestSchema } },
    },
  },
  responses: {
    200: {
      description: "Done, or nothing to do (RFC 7009 §2.2). No body.",
      headers: { ...NO_STORE_HEADERS, ...PRAGMA_HEADER },
    },
    400: oauthError(
      "invalid_request: token missing, a parameter repeated or malformed, not a form, two authentication methods.",
      "invalid_request",
      "token is required.",
    ),
    401: invalidClientResponseSpec(
      "unknown client, wrong secret, malformed credentials, no authentication, disabled client — one body for all.",
    ),
    ...FORM_ENDPOINT_ERROR_RESPONSES,
    503: oauthError(
      "The database or the revocation list is unavailable: the token was not revoked; retry.",
      "temporarily_unavailable",
      "The revocation could not be recorded.",
    ),
  },
});
