import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import type { OpenApiDocument } from "../../lib/openapi-types";
import { API_BASE } from "../../lib/paths";
import { PROBLEM_TYPES } from "../../lib/problem";
import type { getDocsPageRoute, getOpenApiDocumentRoute, getProblemTypesRoute } from "./docs.routes";
import { HTML_PAGE_HEADERS, renderDocsPage, renderProblemTypesPage } from "./docs-page";

/** Handlers of the documentation routes; `documentFor` yields the whole app's OpenAPI document. */
export function docsHandlers(documentFor: () => OpenApiDocument) {
  const getOpenApiDocument: RouteHandler<typeof getOpenApiDocumentRoute, AppEnv> = (c) =>
    c.json(
      documentFor() as unknown as {
        openapi: string;
        info: { title: string; version: string };
        paths: Record<string, unknown>;
      },
      200,
    );

  const getDocsPage: RouteHandler<typeof getDocsPageRoute, AppEnv> = (c) =>
    c.html(renderDocsPage(`${API_BASE}/openapi.json`), 200, HTML_PAGE_HEADERS);

  const getProblemTypes: RouteHandler<typeof getProblemTypesRoute, AppEnv> = (c) =>
    c.html(renderProblemTypesPage(Object.values(PROBLEM_TYPES)), 200, HTML_PAGE_HEADERS);

  return { getOpenApiDocument, getDocsPage, getProblemTypes };
}
