import { z } from "@hono/zod-openapi";
import { ClientResponseSchema } from "./clients";
import { isoDate } from "./common";

/** Wire formats of the read side (SPEC §4.16): client info, pages, consents and scopes. */

export const ClientInfoResponseSchema = z
  .object({
    client_id: z.string().openapi({ example: "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a" }),
    name: z.string().openapi({ example: "Reporting dashboard" }),
    description: z.string().nullable(),
    scopes: z.array(z.string()).openapi({ example: ["files:read", "openid"] }),
    website_url: z.string().nullable(),
    terms_url: z.string().nullable(),
    policy_url: z.string().nullable(),
    logo: z.string().nullable(),
    authentication_methods: z.array(z.string()).openapi({ example: ["client_secret_post"] }),
    is_public: z.boolean(),
    created_on: isoDate,
    created_by: z.string(),
    modified_on: isoDate,
    modified_by: z.string(),
  })
  .openapi("ClientInfoResponse");

const cursorFields = {
  limit: z.number().int().openapi({ example: 30 }),
  last_client_id: z
    .string()
    .nullable()
    .openapi({ description: "The last item's id; null when there is no next page." }),
  last_created_on: isoDate
    .nullable()
    .openapi({ description: "The last item's created_on; null when there is no next page." }),
};

export const ClientPageSchema = z
  .object({ data: z.array(ClientResponseSchema), ...cursorFields })
  .openapi("ClientPageResponse");

export const ClientInfoPageSchema = z
  .object({ data: z.array(ClientInfoResponseSchema), ...cursorFields })
  .openapi("ClientInfoPageResponse");

export const ConsentResponseSchema = z
  .object({
    registered_client_id: z.string().openapi({ example: "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a" }),
    scopes: z.string().openapi({ example: "files:read openid", description: "Space-separated, as DocSpace sends it." }),
    modified_at: isoDate,
    client: ClientInfoResponseSchema.nullable().openapi({ description: "null when the client no longer exists." }),
  })
  .openapi("ConsentResponse");

export const ConsentPageSchema = z
  .object({
    data: z.array(ConsentResponseSchema),
    limit: z.number().int().openapi({ example: 30 }),
    last_modified_on: isoDate
      .nullable()
      .openapi({ description: "The last item's modified_at; null when there is no next page." }),
    last_client_id: z.string().nullable().openapi({
      description:
        "The last item's client id, the tie-breaker for `last_client_id` (an addition to DocSpace's page); null when there is no next page.",
    }),
  })
  .openapi("ConsentPageResponse");

export const ScopeResponseSchema = z
  .object({
    name: z.string().openapi({ example: "files:read" }),
    group: z.string().openapi({ example: "files" }),
    type: z.string().openapi({ example: "read" }),
  })
  .openapi("ScopeResponse");

export const ScopeListSchema = z.array(ScopeResponseSchema).openapi("ScopeListResponse");

export type ClientInfoResponse = z.output<typeof ClientInfoResponseSchema>;
export type ClientPage = z.output<typeof ClientPageSchema>;
export type ClientInfoPage = z.output<typeof ClientInfoPageSchema>;
export type ConsentResponse = z.output<typeof ConsentResponseSchema>;
export type ConsentPage = z.output<typeof ConsentPageSchema>;
export type ScopeResponse = z.output<typeof ScopeResponseSchema>;
