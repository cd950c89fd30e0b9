import { createRoute } from "@hono/zod-openapi";
import {
  jsonRequest,
  jsonResponse,
  PROBLEM_RESPONSES,
  ProblemSchema,
  TAGS,
  X_SIGNATURE_SECURITY,
} from "../../lib/openapi-responses";
import { requireSignature } from "../../middleware/auth";
import { jsonBody } from "../../middleware/json-body";
import { noStore } from "../../middleware/no-store";
import { ClientInfoResponseSchema } from "../../schemas/client-queries";
import {
  ChangeActivationRequestSchema,
  ClientIdParamSchema,
  ClientResponseSchema,
  ClientSecretResponseSchema,
  EmptyObjectSchema,
  RegenerateSecretQuerySchema,
  UpdateClientRequestSchema,
} from "../../schemas/clients";

/**
 * Contracts of one client, `/clients/{clientId}` and below (SPEC §4.2–§4.7, §4.9, §4.11, and
 * revoke-all-tokens). Mounted after every router with a literal segment at that position.
 */

const {
  400: badRequest,
  403: forbidden,
  404: notFound,
  413: tooLarge,
  415: wrongType,
  429: limited,
  503: unavailable,
} = PROBLEM_RESPONSES;

export const getClientRoute = createRoute({
  method: "get",
  path: "/clients/{clientId}",
  operationId: "getClient",
  summary: "Read a client (never its secret, which is stored only as a hash)",
  tags: TAGS.querying,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  request: { params: ClientIdParamSchema },
  responses: {
    200: jsonResponse(ClientResponseSchema, "The client, without `client_secret`."),
    403: forbidden,
    404: notFound,
    429: limited,
    503: unavailable,
  },
});

export const updateClientRoute = createRoute({
  method: "put",
  path: "/clients/{clientId}",
  operationId: "updateClient",
  summary: "Update a client's name, description, logo, origins and PKCE setting",
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature, jsonBody] as const,
  request: { params: ClientIdParamSchema, body: jsonRequest(UpdateClientRequestSchema) },
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Updated."),
    400: badRequest,
    403: forbidden,
    404: notFound,
    413: tooLarge,
    415: wrongType,
    429: limited,
    503: unavailable,
  },
});

export const deleteClientRoute = createRoute({
  method: "delete",
  path: "/clients/{clientId}",
  operationId: "deleteClient",
  summary: "Delete a client and revoke every token issued to it",
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  request: { params: ClientIdParamSchema },
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Deleted."),
    403: forbidden,
    404: notFound,
    429: limited,
    503: unavailable,
  },
});

export const regenerateSecretRoute = createRoute({
  method: "patch",
  path: "/clients/{clientId}/regenerate",
  operationId: "regenerateSecret",
  summary: "Issue a new client secret; the old one stops working at once, or after an optional grace period",
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [noStore, requireSignature] as const,
  request: { params: ClientIdParamSchema, query: RegenerateSecretQuerySchema },
  responses: {
    200: jsonResponse(ClientSecretResponseSchema, "The new secret (shown only here)."),
    400: badRequest,
    403: forbidden,
    404: notFound,
    409: {
      description: "grace_period > 0 while five previous secrets are still live.",
      content: { "application/problem+json": { schema: ProblemSchema } },
    },
    429: limited,
    503: unavailable,
  },
});

export const changeActivationRoute = createRoute({
  method: "patch",
  path: "/clients/{clientId}/activation",
  operationId: "changeActivation",
  summary: "Enable or disable a client",
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature, jsonBody] as const,
  request: { params: ClientIdParamSchema, body: jsonRequest(ChangeActivationRequestSchema) },
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Changed."),
    400: badRequest,
    403: forbidden,
    404: notFound,
    413: tooLarge,
    415: wrongType,
    429: limited,
    503: unavailable,
  },
});

export const revokeUserClientRoute = createRoute({
  method: "delete",
  path: "/clients/{clientId}/revoke",
  operationId: "revokeUserClient",
  summary: "Revoke the caller's consent for a client and its tokens for the caller",
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  request: { params: ClientIdParamSchema },
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Revoked (also when there was nothing to revoke)."),
    403: forbidden,
    404: notFound,
    429: limited,
    503: unavailable,
  },
});

export const revokeClientTokensRoute = createRoute({
  method: "delete",
  path: "/clients/{clientId}/tokens",
  operationId: "revokeClientTokens",
  summary: "Revoke every token issued to a client so far, keeping the client",
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  request: { params: ClientIdParamSchema },
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Revoked."),
    403: forbidden,
    404: notFound,
    429: limited,
    503: unavailable,
  },
});

export const getClientInfoRoute = createRoute({
  method: "get",
  path: "/clients/{clientId}/info",
  operationId: "getClientInfo",
  summary: "Read the public info of a client the caller manages",
  tags: TAGS.querying,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  request: { params: ClientIdParamSchema },
  responses: {
    200: jsonResponse(ClientInfoResponseSchema, "The client's info."),
    403: forbidden,
    404: notFound,
    429: limited,
    503: unavailable,
  },
});

export const getPublicClientInfoRoute = createRoute({
  method: "get",
  path: "/clients/{clientId}/public/info",
  operationId: "getPublicClientInfo",
  summary: "Read any client's public info, without a signature (for the consent screen)",
  description: "Works across tenants and for disabled clients. Rate-limited by client IP.",
  tags: TAGS.querying,
  security: [],
  request: { params: ClientIdParamSchema },
  responses: {
    200: jsonResponse(ClientInfoResponseSchema, "The client's info."),
    404: notFound,
    429: limited,
    503: unavailable,
  },
});
