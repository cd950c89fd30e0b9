import type { OpenApiDocument } from "../../lib/openapi-types";
import { createRouter } from "../../lib/router";
import { docsHandlers, serveDocsAsset } from "./docs.handlers";
import * as routes from "./docs.routes";
import { DOCS_ASSETS_ROUTE } from "./docs-page";

/**
 * The published contract and its pages: GET /openapi.json, /docs (Swagger UI) and
 * /docs/problems, plus the page's static files under /docs/assets/* (not part of the API, so not in
 * the document). `documentFor` is called per request and returns the document of the app this
 * router is mounted in, so routes mounted after this router still appear.
 */
export function createDocsRouter(documentFor: () => OpenApiDocument) {
  const handlers = docsHandlers(documentFor);
  const router = createRouter()
    .openapi(routes.getOpenApiDocumentRoute, handlers.getOpenApiDocument)
    .openapi(routes.getDocsPageRoute, handlers.getDocsPage)
    .openapi(routes.getProblemTypesRoute, handlers.getProblemTypes);
  router.get(`${DOCS_ASSETS_ROUTE}/*`, serveDocsAsset);
  return router;
}
