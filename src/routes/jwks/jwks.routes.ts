import { createRoute } from "@hono/zod-openapi";
import { describedProblem, jsonResponse, TAGS } from "../../lib/openapi-responses";
import { JwksSchema } from "../../schemas/jwks";

/** Contract of the authorization server's JWKS (AS §1, §5.3): public, cacheable, never rate limited. */

export const JWKS_PATH = "/oauth2/jwks";

export const getJwksRoute = createRoute({
  method: "get",
  path: JWKS_PATH,
  operationId: "getJwks",
  summary: "The authorization server's public signing keys (RFC 7517)",
  description:
    "Verify access and ID tokens with the key whose `kid` matches the token header. A new key is listed at least 300 s before it signs; a retired key stays listed until every token it signed has expired. Answered from memory; not rate limited (AS §9).",
  tags: TAGS.oauth,
  security: [],
  // Read by lib/openapi-responses.ts: no 429 and no quota headers are documented.
  "x-not-rate-limited": "the JWKS is read on every DocSpace API call and is never rate limited (AS §9).",
  responses: {
    200: {
      ...jsonResponse(JwksSchema, "Every published public key."),
      headers: {
        "Cache-Control": {
          description: "Verifiers may keep the keys for 5 minutes.",
          required: true,
          schema: { type: "string", enum: ["public, max-age=300"] },
        },
        "Access-Control-Allow-Origin": {
          description: "Any origin may read the keys (browser apps verifying ID tokens).",
          required: true,
          schema: { type: "string", enum: ["*"] },
        },
      },
    },
    503: describedProblem(
      503,
      "The keys cannot be read or created: the database is unavailable, or SIGNING_KEY_ENCRYPTION_KEY is missing or malformed (logged).",
    ),
  },
});
