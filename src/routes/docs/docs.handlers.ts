import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import type { OpenApiDocument } from "../../lib/openapi-types";
import { API_BASE } from "../../lib/paths";
import { notFound, PROBLEM_TYPES, unavailable } from "../../lib/problem";
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

/**
 * A static file of the docs page, from the ASSETS binding (Swagger UI's JS and CSS, copied at
 * build time). A file that does not exist is the same problem+json 404 as any unknown path, not
 * the platform's empty one.
 */
export const serveDocsAsset = async (c: Context<AppEnv>): Promise<Response> => {
  let response: Response;
  try {
    response = await c.env.ASSETS.fetch(c.req.raw);
  } catch (error) {
    throw unavailable("The documentation's static files are unavailable.", error);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw notFound("No such file.");
  }
  // A fetched response's headers are immutable; middleware adds x-request-id and the rate-limit headers.
  return new Response(response.body, response);
};
