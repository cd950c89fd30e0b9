import { createRoute } from "@hono/zod-openapi";
import { jsonRequest, jsonResponse, PROBLEM_RESPONSES, TAGS, X_SIGNATURE_SECURITY } from "../../lib/openapi-responses";
import { requireSignature } from "../../middleware/auth";
import { jsonBody } from "../../middleware/json-body";
import { noStore } from "../../middleware/no-store";
import { ClientInfoPageSchema, ClientPageSchema } from "../../schemas/client-queries";
import { ClientResponseSchema, CreateClientRequestSchema, EmptyObjectSchema } from "../../schemas/clients";
import { ClientInfoPageQuerySchema, ClientPageQuerySchema } from "../../schemas/pagination";

/**
 * Contracts of the client collection: `/clients` (create, list, delete the caller's own),
 * `/clients/info` (list info) and `/clients/tenant` (delete the tenant's) — SPEC §4.1, §4.8,
 * §4.10, §4.14, §4.15. The literal paths must win over `/clients/{clientId}`: routes/index.ts
 * mounts this router first.
 */

const {
  400: badRequest,
  403: forbidden,
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
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [noStore, requireSignature, jsonBody] as const,
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

export const getClientsRoute = createRoute({
  method: "get",
  path: "/clients",
  operationId: "getClients",
  summary: "List the clients the caller manages, newest first",
  tags: TAGS.querying,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  request: { query: ClientPageQuerySchema },
  responses: {
    200: jsonResponse(ClientPageSchema, "A page; `last_*` are null when there is no next page."),
    400: badRequest,
    403: forbidden,
    429: limited,
    503: unavailable,
  },
});

const bulkUnavailable = {
  ...unavailable,
  description:
    "KV or D1 is unavailable and nothing was deleted; or, past the per-request limit, some clients were deleted (each revoked first) and the request should be repeated.",
};

export const deleteClientsRoute = createRoute({
  method: "delete",
  path: "/clients",
  operationId: "deleteClients",
  summary: "Delete every client the caller created in its tenant and revoke their tokens",
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Deleted (also when there was nothing to delete)."),
    403: forbidden,
    429: limited,
    503: bulkUnavailable,
  },
});

export const getClientsInfoRoute = createRoute({
  method: "get",
  path: "/clients/info",
  operationId: "getClientsInfo",
  summary: "List the public info of the clients the caller manages, newest first",
  tags: TAGS.querying,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  request: { query: ClientInfoPageQuerySchema },
  responses: {
    200: jsonResponse(ClientInfoPageSchema, "A page; `last_*` are null when there is no next page."),
    400: badRequest,
    403: forbidden,
    429: limited,
    503: unavailable,
  },
});

export const deleteTenantClientsRoute = createRoute({
  method: "delete",
  path: "/clients/tenant",
  operationId: "deleteTenantClients",
  summary: "Delete every client of the caller's tenant and revoke their tokens (ADMIN only)",
  tags: TAGS.management,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Deleted (also when there was nothing to delete)."),
    403: forbidden,
    429: limited,
    503: bulkUnavailable,
  },
});
