import { z } from "@hono/zod-openapi";
import { GUID_PATTERN } from "../lib/ids";
import { addRuleIssue, uniqueInOrder } from "./validation";

/** Wire formats of the authorization server's routes (/api/2.0/oauth2/*, docs/token-lifecycle.md). */

/** Far enough for any real token (year 9999), small enough to stay an exact integer everywhere. */
const MAX_EPOCH_SECONDS = 253_402_300_799;

const guidField = (label: string, example: string) =>
  z
    .string()
    .superRefine((value, ctx) => {
      if (value.trim() === "") addRuleIssue(ctx, "EmptyFieldError", `${label} is required`);
      else if (!GUID_PATTERN.test(value)) addRuleIssue(ctx, "ErrorPattern", `${label} must be a GUID`);
    })
    // Ids are compared and used in KV keys in lower case, as the x-signature's user_id is.
    .transform((value) => value.toLowerCase())
    .openapi({ example, format: "uuid" });

const clientIdField = guidField("client_id", "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a");
const userIdField = guidField("user_id", "66faa6e4-f133-11ea-b126-00ffeec8b4ef");

/**
 * Any path segment, of any length: on /authenticate a malformed id is just another unknown client
 * and must get the same 401 `invalid_client` (never a 404 that tells the two apart, which a length
 * limit here would), so the service checks it. The URL's own size limit bounds it.
 */
export const OAuth2ClientIdParamSchema = z.object({
  clientId: z
    .string()
    .openapi({ param: { name: "clientId", in: "path" }, example: "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a" }),
});

export const AuthenticateClientRequestSchema = z
  .object({
    client_secret: z
      .string()
      .max(512)
      .openapi({ example: "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", description: "The current or a previous secret." }),
  })
  .openapi("AuthenticateClientRequest");

export const AuthenticatedClientSchema = z
  .object({
    client_id: z.string().openapi({ example: "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a" }),
    tenant: z.number().int().openapi({ example: 1 }),
    scopes: z.array(z.string()).openapi({ example: ["files:read", "openid"] }),
    redirect_uris: z.array(z.string()).openapi({ example: ["https://app.example.com/oauth/callback"] }),
    allowed_origins: z.array(z.string()).openapi({ example: ["https://app.example.com"] }),
    logout_redirect_uris: z.array(z.string()),
    authentication_methods: z.array(z.string()).openapi({ example: ["client_secret_post"] }),
    allow_pkce: z.boolean(),
    enabled: z.boolean().openapi({ description: "Always true here: a disabled client gets 403." }),
  })
  .openapi("AuthenticatedClient");

const scopeListField = z
  .array(z.string())
  .transform((values, ctx) => {
    const unique = uniqueInOrder(values.map((s) => s.trim()).filter((s) => s !== ""));
    if (unique.length === 0) addRuleIssue(ctx, "EmptyFieldError", "scopes must contain at least one scope");
    return unique;
  })
  .openapi({ example: ["files:read", "openid"] });

export const RecordConsentRequestSchema = z
  .object({
    client_id: clientIdField,
    user_id: userIdField,
    tenant_id: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).openapi({ example: 1 }),
    scopes: scopeListField,
  })
  .openapi("RecordConsentRequest");

export const ConsentRecordSchema = z
  .object({
    client_id: z.string().openapi({ example: "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a" }),
    user_id: z.string().openapi({ example: "66faa6e4-f133-11ea-b126-00ffeec8b4ef" }),
    tenant_id: z.number().int().openapi({ example: 1 }),
    scopes: z.array(z.string()).openapi({ example: ["files:read", "openid"] }),
    modified_at: z.string().openapi({ example: "2026-11-28T12:00:00.000Z", format: "date-time" }),
  })
  .openapi("ConsentRecord");

export const TokenStatusRequestSchema = z
  .object({
    client_id: clientIdField,
    user_id: userIdField,
    issued_at: z
      .number()
      .int()
      .min(0)
      .max(MAX_EPOCH_SECONDS)
      .openapi({ example: 1_795_000_000, description: "The token's `iat`, in epoch seconds." }),
  })
  .openapi("TokenStatusRequest");

export const TOKEN_INACTIVE_REASONS = [
  "client_deleted",
  "tokens_revoked",
  "consent_revoked",
  "unknown_client",
] as const;
export type TokenInactiveReason = (typeof TOKEN_INACTIVE_REASONS)[number];

export const TokenStatusResponseSchema = z
  .object({
    active: z.boolean().openapi({ description: "false when the token is revoked or its client is unknown." }),
    reason: z.enum(TOKEN_INACTIVE_REASONS).optional().openapi({ description: "Only when `active` is false." }),
  })
  .openapi("TokenStatusResponse");

export type RecordConsentInput = z.output<typeof RecordConsentRequestSchema>;
export type TokenStatusInput = z.output<typeof TokenStatusRequestSchema>;
export type TokenStatus = z.output<typeof TokenStatusResponseSchema>;
export type AuthenticatedClient = z.output<typeof AuthenticatedClientSchema>;
export type ConsentRecord = z.output<typeof ConsentRecordSchema>;
