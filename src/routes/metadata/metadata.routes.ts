import { createRoute } from "@hono/zod-openapi";
import { describedProblem, jsonResponse, TAGS } from "../../lib/openapi-responses";
import { AuthorizationServerMetadataSchema } from "../../schemas/metadata";

/**
 * Contracts of the authorization server's metadata (AS §1, §2): one document at four paths, public,
 * cacheable, never rate limited. One operation per path, so the OpenAPI document matches the routed
 * app exactly; the three besides DocSpace's own are documented as aliases of it.
 */

/** Every discovery path, DocSpace's own first (AS §1); each serves the same document. */
export const METADATA_PATHS = {
  openIdConfiguration: "/oauth2/.well-known/openid-configuration",
  openIdConfigurationAtRoot: "/.well-known/openid-configuration",
  authorizationServer: "/.well-known/oauth-authorization-server/oauth2",
  authorizationServerAtRoot: "/.well-known/oauth-authorization-server",
} as const;

const metadataResponse = {
  ...jsonResponse(
    AuthorizationServerMetadataSchema,
    "The metadata document; its URLs are built from the request's origin.",
  ),
  headers: {
    "Cache-Control": {
      description: "Clients may keep the document for 5 minutes.",
      required: true,
      schema: { type: "string" as const, enum: ["public, max-age=300"] },
    },
    "Access-Control-Allow-Origin": {
      description: "Any origin may read the document (browser apps discovering the server).",
      required: true,
      schema: { type: "string" as const, enum: ["*"] },
    },
  },
};

const NOT_RATE_LIMITED = "the metadata is read on every DocSpace API call and is never rate limited (AS §9)." as const;

function metadataRoute(path: string, operationId: string, summary: string, description: string) {
  return createRoute({
    method: "get",
    path,
    operationId,
    summary,
    description: `${description} Answered from memory (the scope list is re-read at most once a minute per isolate); not rate limited (AS §9).`,
    tags: TAGS.oauth,
    security: [],
    // Read by lib/openapi-responses.ts: no 429 and no quota headers are documented.
    "x-not-rate-limited": NOT_RATE_LIMITED,
    responses: {
      200: metadataResponse,
      503: describedProblem(503, "The scope list cannot be read: the database is unavailable."),
    },
  });
}

export const getOpenIdConfigurationRoute = metadataRoute(
  METADATA_PATHS.openIdConfiguration,
  "getOpenIdConfiguration",
  "The authorization server's metadata (OpenID Connect Discovery 1.0)",
  "The path DocSpace's .NET APIs read: `{issuer}/.well-known/openid-configuration`.",
);

export const getOpenIdConfigurationAtRootRoute = metadataRoute(
  METADATA_PATHS.openIdConfigurationAtRoot,
  "getOpenIdConfigurationAtRoot",
  "The authorization server's metadata (alias at the root)",
  "The same document as `GET /oauth2/.well-known/openid-configuration`, at the root path DocSpace's nginx rewrites.",
);

export const getAuthorizationServerMetadataRoute = metadataRoute(
  METADATA_PATHS.authorizationServer,
  "getAuthorizationServerMetadata",
  "The authorization server's metadata (RFC 8414)",
  "The same document as `GET /oauth2/.well-known/openid-configuration`, at the path RFC 8414 §3.1 derives from the issuer `{origin}/oauth2`.",
);

export const getAuthorizationServerMetadataAtRootRoute = metadataRoute(
  METADATA_PATHS.authorizationServerAtRoot,
  "getAuthorizationServerMetadataAtRoot",
  "The authorization server's metadata (RFC 8414 alias at the root)",
  "The same document as `GET /oauth2/.well-known/openid-configuration`, for clients that look at the root.",
);
