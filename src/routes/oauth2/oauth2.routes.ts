import { createRoute } from "@hono/zod-openapi";
import {
  describedProblem,
  jsonRequest,
  jsonResponse,
  PROBLEM_RESPONSES,
  SERVICE_SECURITY,
  TAGS,
} from "../../lib/openapi-responses";
import { jsonBody } from "../../middleware/json-body";
import { requireServiceToken } from "../../middleware/service-auth";
import {
  AuthenticateClientRequestSchema,
  AuthenticatedClientSchema,
  ConsentRecordSchema,
  OAuth2ClientIdParamSchema,
  RecordConsentRequestSchema,
  TokenStatusRequestSchema,
  TokenStatusResponseSchema,
} from "../../schemas/oauth2";

/**
 * Contracts of the authorization server's calls under /oauth2 (docs/token-lifecycle.md),
 * authenticated by a service token only.
 */

const {
  400: badRequest,
  404: notFound,
  413: tooLarge,
  415: wrongType,
  429: limited,
  503: unavailable,
} = PROBLEM_RESPONSES;

const noServiceToken = describedProblem(
  401,
  "Missing or invalid service token, or an x-signature sent to a service route; carries `WWW-Authenticate: Bearer`.",
);

export const authenticateClientRoute = createRoute({
  method: "post",
  path: "/oauth2/clients/{clientId}/authenticate",
  operationId: "authenticateClient",
  summary: "Check a client's secret (current, or previous within its grace period)",
  tags: TAGS.service,
  security: SERVICE_SECURITY,
  middleware: [requireServiceToken, jsonBody] as const,
  request: { params: OAuth2ClientIdParamSchema, body: jsonRequest(AuthenticateClientRequestSchema) },
  responses: {
    200: jsonResponse(AuthenticatedClientSchema, "The secret is right; what the authorization server needs."),
    400: badRequest,
    401: describedProblem(
      401,
      "Service token missing or invalid (with `WWW-Authenticate: Bearer`), or `invalid_client`: unknown client or wrong secret (type `#invalid-client`, same answer for both).",
    ),
    403: describedProblem(403, "The secret is right but the client is disabled."),
    413: tooLarge,
    415: wrongType,
    429: limited,
    503: unavailable,
  },
});

export const recordConsentRoute = createRoute({
  method: "put",
  path: "/oauth2/consents",
  operationId: "recordConsent",
  summary: "Record or replace a user's consent to a client",
  tags: TAGS.service,
  security: SERVICE_SECURITY,
  middleware: [requireServiceToken, jsonBody] as const,
  request: { body: jsonRequest(RecordConsentRequestSchema) },
  responses: {
    200: jsonResponse(ConsentRecordSchema, "The consent as recorded."),
    400: describedProblem(400, "Failed validation, or scopes the client was not granted (`ErrorInvalidScope`)."),
    401: noServiceToken,
    403: describedProblem(403, "The client is disabled."),
    404: notFound,
    413: tooLarge,
    415: wrongType,
    429: limited,
    503: unavailable,
  },
});

export const tokenStatusRoute = createRoute({
  method: "post",
  path: "/oauth2/tokens/status",
  operationId: "getTokenStatus",
  summary: "Whether a token (client, user, issued_at) is still valid",
  description:
    "Answered from the KV revocation lists; cheap enough to call on every request of a resource server. Not rate limited for a valid service token.",
  tags: TAGS.service,
  security: SERVICE_SECURITY,
  // Read by lib/openapi-responses.ts: the rate-limit headers are then documented as optional.
  "x-rate-limit-exempt": "requests with a valid service token are not rate limited.",
  middleware: [requireServiceToken, jsonBody] as const,
  request: { body: jsonRequest(TokenStatusRequestSchema) },
  responses: {
    200: jsonResponse(TokenStatusResponseSchema, "`active`, or why not."),
    400: badRequest,
    401: noServiceToken,
    413: tooLarge,
    415: wrongType,
    429: limited,
    503: describedProblem(503, "The revocation list (KV) or the database could not be read; no guess is made."),
  },
});
