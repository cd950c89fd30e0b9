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
import { IntrospectionRequestSchema, IntrospectionResponseSchema } from "../../schemas/token-management";

/** Contract of the authorization server's introspection endpoint (AS §7, RFC 7662). */

export const INTROSPECTION_PATH = "/oauth2/introspect";

export const introspectRoute = createRoute({
  method: "post",
  path: INTROSPECTION_PATH,
  operationId: "introspectToken",
  summary: "Token introspection (RFC 7662, AS §7)",
  description:
    'Whether an access or refresh token is active: ours, unexpired, not revoked (client-wide, per user, by RFC 7009 or through its refresh family), its client existing and enabled. Anything else is exactly `{"active": false}`. Client authentication is optional — DocSpace\'s APIs call this without credentials (a deliberate deviation from RFC 7662 §2.1); credentials that are sent must authenticate (else 401). Limited per client, else per IP (AS §9). CORS as at the token endpoint.',
  tags: TAGS.oauth,
  security: [],
  middleware: [oauthForm] as const,
  request: {
    body: {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: IntrospectionRequestSchema } },
    },
  },
  responses: {
    200: {
      ...jsonResponse(IntrospectionResponseSchema, "The token's state."),
      headers: { ...NO_STORE_HEADERS, ...PRAGMA_HEADER },
    },
    400: oauthError(
      "invalid_request: token missing, a parameter repeated or malformed, not a form.",
      "invalid_request",
      "token is required.",
    ),
    401: invalidClientResponseSpec(
      "credentials were sent and did not authenticate (unknown client, wrong secret, disabled client).",
    ),
    ...FORM_ENDPOINT_ERROR_RESPONSES,
    503: oauthError(
      "The database, the revocation list or the signing keys are unavailable: never answered as inactive.",
      "temporarily_unavailable",
      "The revocation list could not be read.",
    ),
  },
});
