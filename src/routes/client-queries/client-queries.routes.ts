import { createRoute } from "@hono/zod-openapi";
import { jsonResponse, PROBLEM_RESPONSES, X_SIGNATURE_SECURITY } from "../../lib/openapi-responses";
import { requireSignature } from "../../middleware/auth";
import { ClientInfoPageSchema, ClientInfoResponseSchema, ClientPageSchema } from "../../schemas/client-queries";
import { ClientIdParamSchema, ClientResponseSchema, EmptyObjectSchema } from "../../schemas/clients";
import { ClientInfoPageQuerySchema, ClientPageQuerySchema } from "../../schemas/pagination";

/**
 * Contracts of the client reads (SPEC §4.7–§4.11) and the bulk deletes on the client collection
 * (§4.14, §4.15). Literal paths (`/clients/info`, `/clients/tenant`) are registered before the
 * `{clientId}` ones so they win.
 */

/** DocSpace's SDK files the reads under OAuth20ClientQueryingApi, the bulk deletes under management. */
const tags = ["Client querying"];
const managementTags = ["Client management"];
const security = X_SIGNATURE_SECURITY;
const { 400: badRequest, 403: forbidden, 404: notFound, 429: limited, 503: unavailable } = PROBLEM_RESPONSES;

export const getClientsInfoRoute = createRoute({
  method: "get",
  path: "/clients/info",
  operationId: "getClientsInfo",
  summary: "List the public info of the clients the caller manages, newest first",
  tags,
  security,
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

export const getClientsRoute = createRoute({
  method: "get",
  path: "/clients",
  operationId: "getClients",
  summary: "List the clients the caller manages, newest first",
  tags,
  security,
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

export const getClientRoute = createRoute({
  method: "get",
  path: "/clients/{clientId}",
  operationId: "getClient",
  summary: "Read a client (never its secret, which is stored only as a hash)",
  tags,
  security,
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

export const getClientInfoRoute = createRoute({
  method: "get",
  path: "/clients/{clientId}/info",
  operationId: "getClientInfo",
  summary: "Read the public info of a client the caller manages",
  tags,
  security,
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
  tags,
  security: [],
  request: { params: ClientIdParamSchema },
  responses: {
    200: jsonResponse(ClientInfoResponseSchema, "The client's info."),
    404: notFound,
    429: limited,
    503: unavailable,
  },
});

const bulkUnavailable = {
  ...unavailable,
  description:
    "KV or D1 is unavailable and nothing was deleted; or, past the per-request limit, some clients were deleted (each revoked first) and the request should be repeated.",
};

export const deleteTenantClientsRoute = createRoute({
  method: "delete",
  path: "/clients/tenant",
  operationId: "deleteTenantClients",
  summary: "Delete every client of the caller's tenant and revoke their tokens (ADMIN only)",
  tags: managementTags,
  security,
  middleware: [requireSignature] as const,
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Deleted (also when there was nothing to delete)."),
    403: forbidden,
    429: limited,
    503: bulkUnavailable,
  },
});

export const deleteClientsRoute = createRoute({
  method: "delete",
  path: "/clients",
  operationId: "deleteClients",
  summary: "Delete every client the caller created in its tenant and revoke their tokens",
  tags: managementTags,
  security,
  middleware: [requireSignature] as const,
  responses: {
    200: jsonResponse(EmptyObjectSchema, "Deleted (also when there was nothing to delete)."),
    403: forbidden,
    429: limited,
    503: bulkUnavailable,
  },
});
