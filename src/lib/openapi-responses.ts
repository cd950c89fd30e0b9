import { z } from "@hono/zod-openapi";
import type { HeaderObject, OpenApiDocument, ResponseObject } from "./openapi-types";
import { HTTP_METHODS } from "./openapi-types";
import { PROBLEM_TYPES } from "./problem";

/** The RFC 9457 problem body every error response carries (SPEC §5). */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "/api/2.0/docs/problems#validation-failed" }),
    title: z.string().openapi({ example: "Bad Request" }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().openapi({ example: "The request body failed validation." }),
    instance: z.string().openapi({ example: "/api/2.0/clients" }),
    request_id: z.string().openapi({ example: "9b0f6c1e-3a52-4c2f-8d7e-5a1f0c9d2b11" }),
    errors: z
      .array(
        z.object({
          field: z.string().openapi({ example: "redirect_uris" }),
          code: z.string().openapi({ example: "ErrorWrongURL" }),
          message: z.string(),
        }),
      )
      .optional()
      .openapi({ description: "Validation failures only: one entry per field and DocSpace code." }),
  })
  .openapi("Problem", {
    description: "RFC 9457 problem details. `type` resolves against /api/2.0/docs/problems.",
  });

type ProblemExample = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  request_id: string;
  errors?: { field: string; code: string; message: string }[];
};

const EXAMPLE_REQUEST_ID = "9b0f6c1e-3a52-4c2f-8d7e-5a1f0c9d2b11";

function problemExample(
  status: number,
  title: string,
  type: string,
  detail: string,
  errors?: ProblemExample["errors"],
): ProblemExample {
  const example: ProblemExample = {
    type,
    title,
    status,
    detail,
    instance: "/api/2.0/clients",
    request_id: EXAMPLE_REQUEST_ID,
  };
  if (errors) example.errors = errors;
  return example;
}

/** One realistic problem body per status, shown as the example of every problem response. */
const PROBLEM_EXAMPLES = {
  400: problemExample(400, "Bad Request", PROBLEM_TYPES.validation, "The request body failed validation.", [
    { field: "redirect_uris", code: "ErrorWrongURL", message: "redirect_uris[0] must not contain a fragment" },
    { field: "name", code: "EmptyFieldError", message: "name is required" },
  ]),
  401: problemExample(401, "Unauthorized", PROBLEM_TYPES.unauthorized, "A valid service token is required."),
  403: problemExample(403, "Forbidden", PROBLEM_TYPES.invalidSignature, "A valid x-signature is required."),
  404: problemExample(404, "Not Found", PROBLEM_TYPES.notFound, "Client not found."),
  409: problemExample(
    409,
    "Conflict",
    "/api/2.0/docs/problems#conflict",
    "The request conflicts with the current state.",
  ),
  413: problemExample(
    413,
    "Content Too Large",
    PROBLEM_TYPES.payloadTooLarge,
    "The request body exceeds 1048576 bytes.",
  ),
  415: problemExample(
    415,
    "Unsupported Media Type",
    PROBLEM_TYPES.unsupportedMediaType,
    "The request body must be application/json.",
  ),
  429: problemExample(
    429,
    "Too Many Requests",
    PROBLEM_TYPES.quotaExceeded,
    "Rate limit of 10 POST requests per 60 s exceeded.",
  ),
  500: problemExample(
    500,
    "Internal Server Error",
    PROBLEM_TYPES.internal,
    "An unexpected error occurred. Quote the request id when reporting it.",
  ),
  503: problemExample(
    503,
    "Service Unavailable",
    PROBLEM_TYPES.unavailable,
    "The revocation list could not be written; nothing was changed.",
  ),
} as const;

/** The standard example for a status; for any other status, one built from the response's description. */
function problemExampleFor(status: number, description: string): ProblemExample {
  const known = (PROBLEM_EXAMPLES as Record<number, ProblemExample | undefined>)[status];
  if (known) return known;
  return problemExample(status, "Error", "/api/2.0/docs/problems", description);
}

const problem = (description: string, example: ProblemExample) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema, example } },
});

/** Shared error responses, referenced by every route contract so the document lists each status. */
export const PROBLEM_RESPONSES = {
  400: problem("Malformed JSON, wrong types, or a failed validation rule (`errors[]`).", PROBLEM_EXAMPLES[400]),
  401: problem("Missing or invalid service token.", PROBLEM_EXAMPLES[401]),
  403: problem(
    "Missing, invalid or expired x-signature, or a role that may not call this operation.",
    PROBLEM_EXAMPLES[403],
  ),
  404: problem("Unknown client, a client the caller may not see, or a malformed client id.", PROBLEM_EXAMPLES[404]),
  409: problem("The request conflicts with the current state of the resource.", PROBLEM_EXAMPLES[409]),
  413: problem("The body is larger than 1 MiB.", PROBLEM_EXAMPLES[413]),
  415: problem("The body is not application/json.", PROBLEM_EXAMPLES[415]),
  429: problem("Rate limited; see `Retry-After`.", PROBLEM_EXAMPLES[429]),
  500: problem("An unexpected error; quote the `request_id` when reporting it.", PROBLEM_EXAMPLES[500]),
  503: problem("A dependency (D1, KV or the rate limiter) is unavailable; nothing was changed.", PROBLEM_EXAMPLES[503]),
} as const;

/** A problem response with a route-specific description, and an example for its status. */
export const describedProblem = (status: number, description: string) =>
  problem(description, problemExampleFor(status, description));

/** The sections of the docs page that operations are filed under (DocSpace's SDK classes). */
export const TAGS = {
  management: ["Client management"],
  querying: ["Client querying"],
  scopes: ["Scope management"],
  service: ["Authorization server"],
  oauth: ["OAuth 2.1 authorization server"],
  docs: ["Documentation"],
};

/** Security of user routes: the x-signature as a cookie or a header (SPEC §3). */
export const X_SIGNATURE_SECURITY: Record<string, string[]>[] = [{ xSignatureCookie: [] }, { xSignatureHeader: [] }];
/** Security of the authorization server's routes: the service bearer token. */
export const SERVICE_SECURITY: Record<string, string[]>[] = [{ serviceBearer: [] }];

/** A required JSON request body. */
export const jsonRequest = <T>(schema: T) => ({ content: { "application/json": { schema } }, required: true });

/** Shorthand for a JSON success response; `example` overrides the one derived from the schema. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string, example?: unknown) => ({
  description,
  content: { "application/json": example === undefined ? { schema } : { schema, example } },
});

/**
 * Response headers set by global middleware on every response under /api/2.0 (SPEC §5, §10),
 * as OpenAPI header components. `RateLimit` is absent only when the limiter was unreachable
 * and a read was let through (fail open), so it is not marked required.
 */
export const RESPONSE_HEADER_COMPONENTS = {
  RequestId: {
    description: "The request's id: the caller's `x-request-id` when it is a sane token, else a new UUID.",
    required: true,
    schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
    example: EXAMPLE_REQUEST_ID,
  },
  RateLimitPolicy: {
    description:
      'The quota for this HTTP method (IETF httpapi RateLimit headers): `"<method>";q=<requests>;w=<window seconds>`.',
    required: true,
    schema: { type: "string", pattern: '^"[a-z]+";q=\\d+;w=\\d+$' },
    example: '"post";q=10;w=60',
  },
  RateLimit: {
    description: 'What is left of the quota: `"<method>";r=<remaining>;t=<seconds until reset>`.',
    required: false,
    schema: { type: "string", pattern: '^"[a-z]+";r=\\d+;t=\\d+$' },
    example: '"post";r=7;t=42',
  },
  RetryAfter: {
    description: "Seconds to wait before retrying.",
    required: true,
    schema: { type: "integer", minimum: 0 },
    example: 42,
  },
} as const;

const headerRef = (name: keyof typeof RESPONSE_HEADER_COMPONENTS) => ({ $ref: `#/components/headers/${name}` });

const problemJson = (example: ProblemExample) => ({
  "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" }, example },
});

/**
 * Adds, in one place, what global middleware gives every operation, so no route contract can
 * forget it: 429 (the rate limiter runs before every route), 500 (any bug), 503 on writes (the
 * limiter fails closed for them), and the request-id and rate-limit headers on every response,
 * with `Retry-After` on 429 and 503. A status a contract already declares is kept as written.
 * An operation marked `x-not-rate-limited` (never behind the limiter, AS §9) gets no 429 and no
 * quota headers.
 */
export function addCrossCuttingResponses(document: OpenApiDocument): void {
  document.components ??= {};
  document.components.headers = { ...document.components.headers, ...RESPONSE_HEADER_COMPONENTS };
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method];
      if (!operation) continue;
      const responses: Record<string, ResponseObject> = operation.responses;
      // Outside the limiter altogether (a contract says why in `x-not-rate-limited`): no 429, no quota headers.
      const unlimited = operation["x-not-rate-limited"] !== undefined;
      if (!unlimited) {
        responses["429"] ??= {
          description: PROBLEM_RESPONSES[429].description,
          content: problemJson(PROBLEM_EXAMPLES[429]),
        };
      }
      responses["500"] ??= {
        description: PROBLEM_RESPONSES[500].description,
        content: problemJson(PROBLEM_EXAMPLES[500]),
      };
      if (method !== "get" && method !== "head") {
        responses["503"] ??= {
          description: PROBLEM_RESPONSES[503].description,
          content: problemJson(PROBLEM_EXAMPLES[503]),
        };
      }
      for (const [status, response] of Object.entries(responses)) {
        // A contract that spells out its own problem response usually gives no example; one
        // derived from the Problem schema would show a 400 under, say, a 401.
        const problemMedia = response.content?.["application/problem+json"];
        if (problemMedia && problemMedia.example === undefined && problemMedia.examples === undefined) {
          problemMedia.example = problemExampleFor(Number(status), response.description);
        }
        const exempt = operation["x-rate-limit-exempt"];
        const headers: Record<string, HeaderObject> = { "x-request-id": headerRef("RequestId") };
        if (!unlimited) {
          // A route the limiter skips (a contract says why in `x-rate-limit-exempt`) sends no quota headers then.
          headers["RateLimit-Policy"] = exempt
            ? {
                ...RESPONSE_HEADER_COMPONENTS.RateLimitPolicy,
                schema: { ...RESPONSE_HEADER_COMPONENTS.RateLimitPolicy.schema },
                required: false,
                description: `${RESPONSE_HEADER_COMPONENTS.RateLimitPolicy.description} Absent when the limiter is skipped: ${exempt}`,
              }
            : headerRef("RateLimitPolicy");
          headers.RateLimit = headerRef("RateLimit");
        }
        if (status === "429") headers["Retry-After"] = headerRef("RetryAfter");
        // A 503 from a failed dependency carries Retry-After too, but not every 503 path sets it.
        if (status === "503") {
          const { description, schema } = RESPONSE_HEADER_COMPONENTS.RetryAfter;
          headers["Retry-After"] = { description, schema: { ...schema }, required: false };
        }
        response.headers = { ...headers, ...response.headers };
      }
    }
  }
}
