import { createRoute } from "@hono/zod-openapi";
import { jsonResponse, PROBLEM_RESPONSES, TAGS, X_SIGNATURE_SECURITY } from "../../lib/openapi-responses";
import { requireSignature } from "../../middleware/auth";
import { ScopeListSchema } from "../../schemas/client-queries";

/** Contract of getScopes (SPEC §4.13): any signed role. */

const { 403: forbidden, 429: limited, 503: unavailable } = PROBLEM_RESPONSES;

export const getScopesRoute = createRoute({
  method: "get",
  path: "/scopes",
  operationId: "getScopes",
  summary: "List the OAuth scopes a client may request, `openid` first, then by name",
  tags: TAGS.scopes,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  responses: {
    200: jsonResponse(ScopeListSchema, "Every scope in the scopes table."),
    403: forbidden,
    429: limited,
    503: unavailable,
  },
});
