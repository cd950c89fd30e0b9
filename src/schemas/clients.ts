import { z } from "@hono/zod-openapi";
import { isoDate } from "./common";
import { descriptionProblems, nameProblems } from "./text-rules";
import { httpUrlProblem, MAX_URL_LENGTH, normaliseOrigin, redirectUriProblem } from "./url-rules";
import { addRuleIssue, logoProblem, MAX_LIST_ITEMS, uniqueInOrder } from "./validation";

/** Wire formats of SPEC §4.16 and the request rules of SPEC §6. JSON field names are exact. */

const nameField = z
  .string()
  .superRefine((value, ctx) => {
    for (const problem of nameProblems(value)) addRuleIssue(ctx, problem.code, problem.message);
  })
  .transform((value) => value.trim())
  .openapi({
    example: "Reporting dashboard",
    description:
      "3–256 characters after trimming, at least 3 of them visible; no control characters (Unicode Cc) and no bidi controls (U+202A–U+202E, U+2066–U+2069).",
  });

const descriptionField = z
  .string()
  .superRefine((value, ctx) => {
    for (const problem of descriptionProblems(value)) addRuleIssue(ctx, problem.code, problem.message);
  })
  .nullable()
  .optional()
  .openapi({
    example: "Reads rooms and files for the weekly report.",
    description: "At most 255 characters; no control characters except newline and tab, no bidi controls.",
  });

const logoField = z
  .string()
  .superRefine((value, ctx) => {
    const problem = logoProblem(value);
    if (problem) addRuleIssue(ctx, problem.code, `logo ${problem.message}`);
  })
  .nullable()
  .optional()
  .openapi({ example: "data:image/png;base64,iVBORw0KGgo=" });

/** SPEC §5 reserves `ErrorName` for length/size: an over-long URL is that, any other URL problem is `ErrorWrongURL`. */
const urlCode = (value: string) => (value.length > MAX_URL_LENGTH ? "ErrorName" : "ErrorWrongURL");

const httpUrlField = (label: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      const problem = httpUrlProblem(value);
      if (problem) addRuleIssue(ctx, urlCode(value), `${label} ${problem}`);
    })
    .nullable()
    .optional();

/** A non-empty set of at most 12 strings, each checked by `itemProblem`, duplicates collapsed. */
const urlSetField = (label: string, normalise: (value: string) => { value: string } | { problem: string }) =>
  z.array(z.string()).transform((values, ctx) => {
    const out: string[] = [];
    values.forEach((value, index) => {
      const result = normalise(value);
      if ("problem" in result) addRuleIssue(ctx, urlCode(value), `${label}[${index}] ${result.problem}`, [index]);
      else out.push(result.value);
    });
    const unique = uniqueInOrder(out);
    if (values.length === 0) addRuleIssue(ctx, "EmptyFieldError", `${label} must contain at least one item`);
    else if (unique.length > MAX_LIST_ITEMS)
      addRuleIssue(ctx, "ErrorName", `${label} may contain at most ${MAX_LIST_ITEMS} items`);
    return unique;
  });

const redirectUrisField = urlSetField("redirect_uris", (value) => {
  const problem = redirectUriProblem(value);
  return problem ? { problem } : { value };
}).openapi({
  example: ["https://app.example.com/oauth/callback"],
  description:
    "1–12 absolute URIs, stored as sent: https, http on a loopback host, or a private-use scheme (com.example.app:/cb, claude://cb); no fragment, wildcard or user info, and written exactly as a URL parser serialises it.",
});

const allowedOriginsField = urlSetField("allowed_origins", (value) => {
  const result = normaliseOrigin(value);
  return "problem" in result ? result : { value: result.origin };
}).openapi({
  example: ["https://app.example.com"],
  description:
    "1–12 origins, scheme://host[:port]: https, http on a loopback host, or a private-use scheme (claude://host). Stored lower-cased without a trailing slash; no wildcard.",
});

const scopesField = z
  .array(z.string())
  .transform((values, ctx) => {
    if (values.length === 0) addRuleIssue(ctx, "EmptyFieldError", "scopes must contain at least one scope");
    return uniqueInOrder(values.map((s) => s.trim()));
  })
  .openapi({ example: ["files:read", "openid"] });

export const CreateClientRequestSchema = z
  .object({
    name: nameField,
    description: descriptionField,
    logo: logoField,
    website_url: httpUrlField("website_url").openapi({ example: "https://example.com" }),
    terms_url: httpUrlField("terms_url").openapi({ example: "https://example.com/terms" }),
    policy_url: httpUrlField("policy_url").openapi({ example: "https://example.com/privacy" }),
    logout_redirect_uri: httpUrlField("logout_redirect_uri").openapi({ example: "https://app.example.com/logout" }),
    redirect_uris: redirectUrisField,
    allowed_origins: allowedOriginsField,
    scopes: scopesField,
    allow_pkce: z.boolean().optional().openapi({ example: true }),
    is_public: z.boolean().optional().openapi({ description: "Accepted and ignored: clients are always public." }),
  })
  .openapi("CreateClientRequest");

export const UpdateClientRequestSchema = z
  .object({
    name: nameField,
    description: descriptionField,
    logo: logoField,
    allowed_origins: allowedOriginsField,
    allow_pkce: z.boolean().optional().openapi({ description: "Omitted means false, as in DocSpace." }),
    is_public: z.boolean().optional().openapi({ description: "Accepted and ignored." }),
  })
  .openapi("UpdateClientRequest");

export const ChangeActivationRequestSchema = z
  .object({
    status: z.boolean().openapi({ example: false }),
    revoke_tokens: z.boolean().optional().openapi({
      example: true,
      description:
        "Also revoke every token issued to the client so far. Omitted or false keeps DocSpace's contract: existing tokens stay valid until they expire.",
    }),
  })
  .openapi("ChangeActivationRequest");

/** Seven days: the longest grace period a rotation may give the previous secret. */
export const MAX_GRACE_PERIOD_SECONDS = 604_800;

/** `grace_period` of regenerateSecret: whole seconds, 0–604800 (seven days), default 0. */
export const RegenerateSecretQuerySchema = z.object({
  grace_period: z
    .string()
    .superRefine((value, ctx) => {
      if (!/^\d{1,7}$/.test(value)) addRuleIssue(ctx, "ErrorPattern", "grace_period must be a whole number of seconds");
      else if (Number(value) > MAX_GRACE_PERIOD_SECONDS)
        addRuleIssue(ctx, "ErrorName", `grace_period must be between 0 and ${MAX_GRACE_PERIOD_SECONDS} seconds`);
    })
    .transform(Number)
    .optional()
    .openapi({
      param: { name: "grace_period", in: "query" },
      example: "86400",
      description:
        "Seconds the previous secret keeps authenticating (0–604800, default 0 = immediate invalidation, as DocSpace). At most five previous secrets may be live at once.",
    }),
});

export const ClientResponseSchema = z
  .object({
    client_id: z.string().openapi({ example: "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a" }),
    client_secret: z.string().optional().openapi({ description: "Only in the createClient response." }),
    name: z.string(),
    description: z.string().nullable(),
    tenant: z.number().int(),
    scopes: z.array(z.string()),
    enabled: z.boolean(),
    website_url: z.string().nullable(),
    terms_url: z.string().nullable(),
    policy_url: z.string().nullable(),
    logo: z.string().nullable(),
    authentication_methods: z.array(z.string()).openapi({ example: ["client_secret_post", "none"] }),
    redirect_uris: z.array(z.string()),
    allowed_origins: z.array(z.string()),
    logout_redirect_uris: z.array(z.string()),
    created_on: isoDate,
    created_by: z.string(),
    modified_on: isoDate,
    modified_by: z.string(),
    is_public: z.boolean(),
    allow_pkce: z.boolean(),
  })
  .openapi("ClientResponse");

export const ClientSecretResponseSchema = z
  .object({
    client_secret: z.string().openapi({ example: "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" }),
    previous_secret_expires_at: z.string().optional().openapi({
      example: "2026-11-29T12:00:00.000Z",
      format: "date-time",
      description: "Only with grace_period > 0: when the previous secret stops authenticating.",
    }),
  })
  .openapi("ClientSecretResponse");

export const EmptyObjectSchema = z.object({}).openapi("EmptyObject");

export const ClientIdParamSchema = z.object({
  clientId: z
    .string()
    .uuid()
    .openapi({ param: { name: "clientId", in: "path" }, example: "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a" }),
});

export type CreateClientInput = z.output<typeof CreateClientRequestSchema>;
export type UpdateClientInput = z.output<typeof UpdateClientRequestSchema>;
export type ClientResponse = z.output<typeof ClientResponseSchema>;
