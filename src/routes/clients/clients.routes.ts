import { createRoute } from "@hono/zod-openapi";
import {
  jsonRequest,
  jsonResponse,
  PROBLEM_RESPONSES,
  ProblemSchema,
  X_SIGNATURE_SECURITY,
} from "../../lib/openapi-responses";
import { requireSignature } from "../../middleware/auth";
import { jsonBody } from "../../middleware/json-body";
import {
  ChangeActivationRequestSchema,
  ClientIdParamSchema,
  ClientResponseSchema,
  ClientSecretResponseSchema,
  CreateClientRequestSchema,
  EmptyObjectSchema,
  RegenerateSecretQuerySchema,
  UpdateClientRequestSchema,
} from "../../schemas/clients";

/** Contracts of the six client-management operations (SPEC §4.1–§4.6). */

const tags = ["Client management"];
const security = X_SIGNATURE_SECURITY;
const {
  400: badRequest,
  403: forbidden,
  404: notFound,
  413: tooLarge,
  415: wrongType,
  429: limited,
  503: unavailable,
} = PROBLEM_RESPONSES;

export const createClientRoute = createRoute({
  method: "post",
  path: "/clients",
  operationId: "createClient",
  summary: "Register a new OAuth client",
  tags,
  security,
  middleware: [requireSignature, jsonBody] as const,
  request: { body: jsonRequest(CreateClientRequestSchema) },
  responses: {
    201: jsonResponse(ClientResponseSchema, "The new client, with its secret (shown only here)."),
    400: badRequest,
    403: forbidden,
    413: tooLarge,
    415: wrongType,
    429: limited,
    503: unavailable,
  },
});

export const updateClientRoute = createRoute({
  method: "put",
  path: "/clients/{clientId}",
  operationId: "updateClient",
  summary: "Update a client's name, description, logo, origins and PKCE setting",
  tags,
  security,
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
  tags,
  security,
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
  tags,
  security,
  middleware: [requireSignature] as const,
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
  tags,
  security,
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
  tags,
  security,
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
