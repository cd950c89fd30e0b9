import { z } from "@hono/zod-openapi";

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
      .optional(),
  })
  .openapi("Problem");

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** Shared error responses, referenced by every route contract so the document lists each status. */
export const PROBLEM_RESPONSES = {
  400: problem("Malformed JSON, wrong types, or a failed validation rule (`errors[]`)."),
  403: problem("Missing, invalid or expired x-signature, or a role that may not call this operation."),
  404: problem("Unknown client, a client the caller may not see, or a malformed client id."),
  413: problem("The body is larger than 1 MiB."),
  415: problem("The body is not application/json."),
  429: problem("Rate limited; see `Retry-After`."),
  503: problem("A dependency (D1, KV or the rate limiter) is unavailable; nothing was changed."),
} as const;

/** Shorthand for a JSON success response. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
