import { createRoute, z } from "@hono/zod-openapi";
import { PROBLEM_RESPONSES, TAGS } from "../../lib/openapi-responses";

/** Contracts of the documentation routes: the OpenAPI document and the pages that render it. */

const html = (description: string) => ({
  description,
  content: { "text/html": { schema: z.string().openapi({ example: "<!doctype html>…" }) } },
});

export const OpenApiDocumentSchema = z
  .looseObject({
    openapi: z.string().openapi({ example: "3.1.0" }),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .openapi("OpenApiDocument", { description: "This document." });

export const getOpenApiDocumentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApiDocument",
  summary: "This API's OpenAPI 3.1 document, generated from the route contracts",
  tags: TAGS.docs,
  security: [],
  responses: {
    200: {
      description: "The OpenAPI 3.1 document.",
      content: {
        "application/json": {
          schema: OpenApiDocumentSchema,
          example: { openapi: "3.1.0", info: { title: "…", version: "0.1.0" }, paths: {} },
        },
      },
    },
    429: PROBLEM_RESPONSES[429],
  },
});

export const getDocsPageRoute = createRoute({
  method: "get",
  path: "/docs",
  operationId: "getDocsPage",
  summary: "Interactive API reference (Swagger UI, served by the gateway, no internet needed)",
  tags: TAGS.docs,
  security: [],
  responses: { 200: html("The Swagger UI page."), 429: PROBLEM_RESPONSES[429] },
});

export const getProblemTypesRoute = createRoute({
  method: "get",
  path: "/docs/problems",
  operationId: "getProblemTypes",
  summary: "What each problem `type` URI means",
  tags: TAGS.docs,
  security: [],
  responses: { 200: html("One anchored entry per problem type."), 429: PROBLEM_RESPONSES[429] },
});
