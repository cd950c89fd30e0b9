import { createRoute } from "@hono/zod-openapi";
import { jsonResponse, PROBLEM_RESPONSES, TAGS, X_SIGNATURE_SECURITY } from "../../lib/openapi-responses";
import { requireSignature } from "../../middleware/auth";
import { ConsentPageSchema } from "../../schemas/client-queries";
import { ConsentPageQuerySchema } from "../../schemas/pagination";

/** Contract of getConsents (SPEC §4.12): the caller's consents, any signed role. */

const { 400: badRequest, 403: forbidden, 429: limited, 503: unavailable } = PROBLEM_RESPONSES;

export const getConsentsRoute = createRoute({
  method: "get",
  path: "/clients/consents",
  operationId: "getConsents",
  summary: "List the caller's consents, most recently modified first, each with its client's info",
  tags: TAGS.querying,
  security: X_SIGNATURE_SECURITY,
  middleware: [requireSignature] as const,
  request: { query: ConsentPageQuerySchema },
  responses: {
    200: jsonResponse(ConsentPageSchema, "A page; `last_modified_on` is null when there is no next page."),
    400: badRequest,
    403: forbidden,
    429: limited,
    503: unavailable,
  },
});
