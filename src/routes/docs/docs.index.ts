import type { OpenApiDocument } from "../../lib/openapi-types";
import { createRouter } from "../../lib/router";
import { docsHandlers } from "./docs.handlers";
import * as routes from "./docs.routes";

/**
 * The published contract and its pages: GET /openapi.json, /docs (Swagger UI) and
 * /docs/problems. `documentFor` is called per request and returns the document of the app this
 * router is mounted in, so routes mounted after this router still appear.
 */
export function createDocsRouter(documentFor: () => OpenApiDocument) {
  const handlers = docsHandlers(documentFor);
  return createRouter()
    .openapi(routes.getOpenApiDocumentRoute, handlers.getOpenApiDocument)
    .openapi(routes.getDocsPageRoute, handlers.getDocsPage)
    .openapi(routes.getProblemTypesRoute, handlers.getProblemTypes);
}
