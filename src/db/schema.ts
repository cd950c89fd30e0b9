import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The single source of truth for D1 (SPEC §8). Times are integer milliseconds since the epoch
 * so that keyset cursors compare exactly; the API renders them as ISO-8601.
 *
 * Redirect URIs, allowed origins and scopes are JSON array columns rather than child tables:
 * each list holds at most 12 items, is always read with its client, is never queried by element,
 * and (except origins) is fixed after creation — one row per client keeps every write a single
 * statement and every read a single index lookup.
 */
export const clients = sqliteTable(
  "clients",
  {
    clientId: text("client_id").primaryKey(),
    tenant: integer("tenant").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    logo: text("logo"),
    websiteUrl: text("website_url"),
    termsUrl: text("terms_url"),
    policyUrl: text("policy_url"),
    logoutRedirectUri: text("logout_redirect_uri"),
    redirectUris: text("redirect_uris", { mode: "json" }).$type<string[]>().notNull(),
    allowedOrigins: text("allowed_origins", { mode: "json" }).$type<string[]>().notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    isPublic: integer("is_public", { mode: "boolean" }).notNull().default(true),
    allowPkce: integer("allow_pkce", { mode: "boolean" }).notNull().default(false),
    createdOn: integer("created_on").notNull(),
    createdBy: text("created_by").notNull(),
    modifiedOn: integer("modified_on").notNull(),
    modifiedBy: text("modified_by").notNull(),
  },
  (t) => [
    // Keyset order of SPEC §4.8 for ADMIN (whole tenant) and USER (own clients).
    index("clients_tenant_created_idx").on(t.tenant, t.createdOn, t.clientId),
    index("clients_tenant_creator_created_idx").on(t.tenant, t.createdBy, t.createdOn, t.clientId),
  ],
);

/**
 * Secret hashes (SPEC §7). Exactly one row per client has `expires_on` NULL: the current secret.
 * Rows with an expiry are previous secrets still inside a rotation grace period.
 */
export const clientSecrets = sqliteTable(
  "client_secrets",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    clientId: text("client_id")
      .notNull()
      .references(() => clients.clientId, { onDelete: "cascade" }),
    hash: text("hash").notNull(),
    createdOn: integer("created_on").notNull(),
    expiresOn: integer("expires_on"),
  },
  (t) => [
    index("client_secrets_client_idx").on(t.clientId, t.expiresOn),
    // At most one current secret per client, enforced by the database itself.
    uniqueIndex("client_secrets_current_idx").on(t.clientId).where(sql`${t.expiresOn} IS NULL`),
  ],
);

/** The scopes a client may request; seeded by a migration with DocSpace's nine scopes. */
export const scopes = sqliteTable("scopes", {
  name: text("name").primaryKey(),
  group: text("group").notNull(),
  type: text("type").notNull(),
});

/** A user's consent to a client, per tenant. `scopes` is space-separated, as DocSpace returns it. */
export const consents = sqliteTable(
  "consents",
  {
    tenant: integer("tenant").notNull(),
    userId: text("user_id").notNull(),
    clientId: text("client_id")
      .notNull()
      .references(() => clients.clientId, { onDelete: "cascade" }),
    scopes: text("scopes").notNull(),
    modifiedOn: integer("modified_on").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenant, t.userId, t.clientId] }),
    index("consents_user_modified_idx").on(t.tenant, t.userId, t.modifiedOn, t.clientId),
    index("consents_client_idx").on(t.clientId),
  ],
);

/**
 * Audit trail with DocSpace's message codes (9901 create … 9907 revoke). No foreign key:
 * events outlive the client they describe.
 */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenant: integer("tenant").notNull(),
    userId: text("user_id").notNull(),
    clientId: text("client_id"),
    action: integer("action").notNull(),
    occurredOn: integer("occurred_on").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id").notNull(),
  },
  (t) => [index("audit_events_tenant_idx").on(t.tenant, t.occurredOn), index("audit_events_client_idx").on(t.clientId)],
);

/** The JWS algorithms the authorization server signs with (AS §5.3): one key pair of each. */
export type SigningAlg = "ES256" | "RS256";

/** A public JWK as published in the JWKS (RFC 7517), with its `kid`, `alg` and `use`. */
export type PublicSigningJwk = { kid: string; alg: SigningAlg; use: "sig"; kty: string } & Record<string, unknown>;

/**
 * The authorization server's signing keys (AS §5.3; lifecycle in docs/storage.md). `kid` is the
 * RFC 7638 thumbprint of the public key. The private JWK is stored only AES-GCM-encrypted under
 * the `SIGNING_KEY_ENCRYPTION_KEY` secret (src/keys/key-crypto.ts).
 *
 * `slot` numbers an algorithm's keys 0, 1, 2, …: whoever adds a key writes the newest slot + 1
 * with `ON CONFLICT DO NOTHING`, so isolates racing to create the same key agree on one row —
 * the unique index, not a lock, decides.
 */
export const signingKeys = sqliteTable(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    alg: text("alg").$type<SigningAlg>().notNull(),
    slot: integer("slot").notNull(),
    publicJwk: text("public_jwk", { mode: "json" }).$type<PublicSigningJwk>().notNull(),
    encryptedPrivateJwk: text("encrypted_private_jwk").notNull(),
    createdAt: integer("created_at").notNull(),
    /** When it may start signing; until then it is only published. */
    notBefore: integer("not_before").notNull(),
    /** NULL while no successor exists; then when it leaves the JWKS and may be deleted. */
    retireAt: integer("retire_at"),
  },
  (t) => [uniqueIndex("signing_keys_alg_slot_idx").on(t.alg, t.slot)],
);

export type ClientRow = typeof clients.$inferSelect;
export type ConsentRow = typeof consents.$inferSelect;
export type ScopeRow = typeof scopes.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;
