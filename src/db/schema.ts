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

/**
 * A pending authorization request (AS §4 step 7): what GET /oauth2/authorize validated, waiting
 * for the user's consent decision. Single use, at most 10 minutes; only a hash of its CSRF token
 * is stored. No foreign key to `clients`: the decision re-checks the client, and the row expires.
 */
export const authorizationRequests = sqliteTable(
  "authorization_requests",
  {
    id: text("id").primaryKey(),
    csrfHash: text("csrf_hash").notNull(),
    clientId: text("client_id").notNull(),
    tenant: integer("tenant").notNull(),
    userId: text("user_id").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    state: text("state"),
    codeChallenge: text("code_challenge"),
    nonce: text("nonce"),
    createdOn: integer("created_on").notNull(),
    expiresOn: integer("expires_on").notNull(),
    consumedOn: integer("consumed_on"),
  },
  (t) => [index("authorization_requests_expires_idx").on(t.expiresOn)],
);

/**
 * Authorization codes (AS §4 step 9), keyed by the SHA-256 of the code — never the code. Redeemed
 * exactly once by a conditional UPDATE (AS §10) that also sets `family_id`, the refresh family the
 * same batch starts; `replayed_on` records the first replay (a second redemption), which revoked it.
 */
export const authorizationCodes = sqliteTable(
  "authorization_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    clientId: text("client_id").notNull(),
    tenant: integer("tenant").notNull(),
    userId: text("user_id").notNull(),
    redirectUri: text("redirect_uri").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    codeChallenge: text("code_challenge"),
    nonce: text("nonce"),
    authTime: integer("auth_time").notNull(),
    createdOn: integer("created_on").notNull(),
    expiresOn: integer("expires_on").notNull(),
    consumedOn: integer("consumed_on"),
    replayedOn: integer("replayed_on"),
    familyId: text("family_id"),
    /** The signed-in user's name and email (the x-signature's `user_name`, `user_email`) for the ID token; null when unknown. */
    userName: text("user_name"),
    userEmail: text("user_email"),
  },
  (t) => [index("authorization_codes_expires_idx").on(t.expiresOn)],
);

/** Why a refresh family stopped: reuse of a rotated token, a replayed code, or an explicit revocation. */
export type FamilyRevocationReason =
  | "reuse"
  | "code_replay"
  | "revoked"
  | "client_deleted"
  | "consent_revoked"
  | "tokens_revoked";

/**
 * Refresh-token families (AS §5.2): one per code redemption. Every token of a family expires with
 * it (`expires_on` = the first token's expiry). Revoking the family stops all of its tokens.
 */
export const refreshFamilies = sqliteTable(
  "refresh_families",
  {
    familyId: text("family_id").primaryKey(),
    clientId: text("client_id").notNull(),
    tenant: integer("tenant").notNull(),
    userId: text("user_id").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    createdOn: integer("created_on").notNull(),
    expiresOn: integer("expires_on").notNull(),
    revokedOn: integer("revoked_on"),
    revokedReason: text("revoked_reason").$type<FamilyRevocationReason>(),
    /** The user's name and email, copied from the code (for the UserInfo endpoint); null when unknown. */
    userName: text("user_name"),
    userEmail: text("user_email"),
  },
  (t) => [
    // Management revocations: every family of a client, or of one (client, user).
    index("refresh_families_client_user_idx").on(t.clientId, t.userId),
    index("refresh_families_expires_idx").on(t.expiresOn),
  ],
);

/**
 * Refresh tokens by SHA-256 (AS §5.2). A token is rotated exactly once: `rotated_on` and
 * `replaced_by` (the successor's hash) are set by one conditional UPDATE, and the successor is
 * inserted in the same batch only if that UPDATE named it. Deleted with their family.
 */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    familyId: text("family_id")
      .notNull()
      .references(() => refreshFamilies.familyId, { onDelete: "cascade" }),
    createdOn: integer("created_on").notNull(),
    expiresOn: integer("expires_on").notNull(),
    rotatedOn: integer("rotated_on"),
    replacedBy: text("replaced_by"),
  },
  (t) => [index("refresh_tokens_family_idx").on(t.familyId)],
);

export type ClientRow = typeof clients.$inferSelect;
export type ConsentRow = typeof consents.$inferSelect;
export type ScopeRow = typeof scopes.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;
export type AuthorizationRequestRow = typeof authorizationRequests.$inferSelect;
export type AuthorizationCodeRow = typeof authorizationCodes.$inferSelect;
export type RefreshFamilyRow = typeof refreshFamilies.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
