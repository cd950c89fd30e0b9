/**
 * Applies the D1 migrations and seeds the benchmark's data in bulk with SQL (never through the API):
 * tenant 1 holds the clients the endpoint scenarios work on, tenants 2 and 3 hold 1,000 and 100,000
 * clients for the scale scenarios. Ids are deterministic so the scenarios can name them.
 */
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Miniflare } from "miniflare";

/** The D1 binding as Miniflare hands it to Node. */
export type BenchD1 = Awaited<ReturnType<Miniflare["getD1Database"]>>;

/** The caller that owns tenant 1's clients (ADMIN), and the admins of the scale tenants. */
export const BENCH_USERS = {
  tenant1: "b0000000-0000-4000-8000-000000000001",
  tenant2: "b0000000-0000-4000-8000-000000000002",
  tenant3: "b0000000-0000-4000-8000-000000000003",
} as const;

/** Clients per tenant. Tenant 1 has more than a page (30) so `GET /clients` returns a full page. */
export const TENANT_SIZES = { 1: 460, 2: 1_000, 3: 100_000 } as const;

/** Seeded clients share a timestamp four at a time, so keyset paging also has to break ties. */
export const SEED_EPOCH_MS = Date.UTC(2025, 0, 1);

/** The deterministic id of the n-th seeded client (1-based) of a tenant: a well-formed UUID v4. */
export function seededClientId(tenant: number, n: number): string {
  return `${tenant.toString(16).padStart(8, "0")}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

/** Tenant 1's clients with a fixed role in the scenarios (one per write scenario, so they do not interfere). */
export const BENCH_CLIENTS = {
  read: seededClientId(1, 1),
  revoke: seededClientId(1, 2),
  update: seededClientId(1, 3),
  regenerate: seededClientId(1, 4),
  updateLimited: seededClientId(1, 5),
  /** The client of the consent-page scenario: the only tenant-1 client the admin has not consented to. */
  consentPage: seededClientId(1, 7),
} as const;

/**
 * Clients that the regenerate scenarios rotate in turn. Concurrent rotations of one client are
 * refused with 409 by design (all but one lose the race, see src/services/secret-rotation.ts), so
 * hammering a single client would measure conflicts, not rotation. With 400 clients in turn, a client
 * comes round again only after ~1 s at the measured rates, far beyond any request's latency, so no two
 * requests in flight rotate the same client (a pool of 40 still let 2 in 4,449 collide).
 */
export const BENCH_REGENERATE_POOL: readonly string[] = Array.from({ length: 400 }, (_, i) =>
  seededClientId(1, 61 + i),
);

/** Runs every migration in `migrations/` in order, statement by statement (drizzle-kit's breakpoints). */
export async function applyMigrations(db: BenchD1, migrationsDir: string): Promise<number> {
  const files = readdirSync(migrationsDir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  for (const file of files) {
    const statements = readFileSync(path.join(migrationsDir, file), "utf8")
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter((s) => s.replace(/--.*$/gm, "").trim() !== "");
    await db.batch(statements.map((s) => db.prepare(s)));
  }
  return files.length;
}

/** Inserts `count` clients of one tenant, all created by `createdBy`, with one recursive-CTE statement. */
async function seedTenantClients(db: BenchD1, tenant: number, count: number, createdBy: string): Promise<void> {
  await db
    .prepare(
      `INSERT INTO clients (client_id, tenant, name, description, logo, website_url, terms_url, policy_url,
         logout_redirect_uri, redirect_uris, allowed_origins, scopes, enabled, is_public, allow_pkce,
         created_on, created_by, modified_on, modified_by)
       WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
       SELECT printf('%08x-0000-4000-8000-%012x', ?2, n), ?2, 'Bench client ' || n, 'Seeded for the benchmark',
         NULL, 'https://app.example.com', 'https://app.example.com/terms', 'https://app.example.com/privacy', NULL,
         '["https://app.example.com/oauth/callback"]', '["https://app.example.com"]',
         '["files:read","rooms:read","openid"]', 1, 1, n % 2, ?3 + (n / 4) * 1000, ?4, ?3 + (n / 4) * 1000, ?4
       FROM seq`,
    )
    .bind(count, tenant, SEED_EPOCH_MS, createdBy)
    .run();
  await db
    .prepare(
      `INSERT INTO client_secrets (client_id, hash, created_on, expires_on)
       SELECT client_id, 'hmac-sha256.v1$seeded', created_on, NULL FROM clients WHERE tenant = ?1`,
    )
    .bind(tenant)
    .run();
}

/** Seeds all tenants, secrets and tenant 1's consents (the admin consented to every tenant-1 client). */
export async function seedBenchData(db: BenchD1): Promise<void> {
  await seedTenantClients(db, 1, TENANT_SIZES[1], BENCH_USERS.tenant1);
  await seedTenantClients(db, 2, TENANT_SIZES[2], BENCH_USERS.tenant2);
  await seedTenantClients(db, 3, TENANT_SIZES[3], BENCH_USERS.tenant3);
  await db
    .prepare(
      `INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on)
       SELECT 1, ?1, client_id, 'files:read rooms:read', created_on FROM clients WHERE tenant = 1`,
    )
    .bind(BENCH_USERS.tenant1)
    .run();
}

/** The keyset cursor of the row at `offset` (0-based, newest first) of a tenant: a "deep page" starts after it. */
export async function cursorAt(
  db: BenchD1,
  tenant: number,
  offset: number,
): Promise<{ createdOn: number; clientId: string }> {
  const row = await db
    .prepare(
      "SELECT created_on, client_id FROM clients WHERE tenant = ? ORDER BY created_on DESC, client_id DESC LIMIT 1 OFFSET ?",
    )
    .bind(tenant, offset)
    .first<{ created_on: number; client_id: string }>();
  if (!row) throw new Error(`tenant ${tenant} has no row at offset ${offset}`);
  return { createdOn: row.created_on, clientId: row.client_id };
}

// ---- The authorization server's data (issue 15) ----

/** The client secrets' pepper the bench worker is started with (bench/run.ts binds it). */
export const BENCH_PEPPER = "bench-pepper-0123456789abcdef";

/**
 * The confidential client the OAuth scenarios use (tenant 1, seeded like the others, one redirect
 * URI, scopes `files:read rooms:read openid`), with a secret whose hash is the real one, so client
 * authentication at the token endpoint does its real work.
 */
export const BENCH_OAUTH = {
  clientId: seededClientId(1, 6),
  secret: "BenchSecret0123456789abcdefghijklmnop",
  redirectUri: "https://app.example.com/oauth/callback",
  /** What the codes and families grant: both covered by the admin's seeded consent; no `openid`, so no ID token. */
  scopes: ["files:read", "rooms:read"],
  /** RFC 7636 appendix B. */
  verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
  challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
} as const;

/**
 * Sizes of the single-use pools. Codes are redeemed once and refresh tokens rotate, so every
 * request needs a fresh one: a scenario runs (2 s warm-up + 5 s) × 3 rounds, and no pool may run dry
 * at the rates this machine reaches (≤ 400 req/s for the floors). A spent pool shows as errors.
 */
export const OAUTH_POOL_SIZE = {
  endpoint: 9_000,
  floor: 12_000,
  refresh: 6_000,
  refreshFloor: 8_000,
  setup: 8,
} as const;

/**
 * The clients the refresh pool is spread over: 500 of tenant 2's (read-only otherwise: the scale
 * pages list them), the same secret as `BENCH_OAUTH`, consented to by tenant 2's admin. A rotation's
 * UPDATE builds the list of the client's live families (src/authorization/refresh-tokens.ts, an
 * `IN (SELECT …)`), so its cost grows with how many a client has: with all 14,000 pooled families on
 * one client a rotation took 92 ms of CPU (5/s). ~28 per client keeps the scenario about rotation.
 */
export const BENCH_REFRESH_CLIENTS: readonly string[] = Array.from({ length: 500 }, (_, i) => seededClientId(2, 1 + i));

/** The plain values and at-rest forms the scenarios need (the floor pools hold the at-rest value itself). */
export type OAuthSeed = {
  /** Plain codes for POST /oauth2/token, each once. */
  codes: string[];
  /** Codes for the setup redemptions of bench/run.ts (the tokens the introspection scenarios present). */
  setupCodes: string[];
  /** Code hashes the redemption floor consumes directly. */
  floorCodeHashes: string[];
  /** Plain refresh tokens, one family each, with the client each was issued to. */
  refreshTokens: { token: string; clientId: string }[];
  /** Token hashes the rotation floor rotates directly, with their clients. */
  floorRefreshHashes: { token: string; clientId: string }[];
};

const base64url = (bytes: Buffer) => bytes.toString("base64url");
const sha256 = (value: string) => base64url(createHash("sha256").update(value).digest());

/** Multi-row INSERTs of literal rows (D1 binds at most 100 parameters; every value here is ours and quote-free). */
async function insertRows(db: BenchD1, table: string, columns: string, rows: string[]): Promise<void> {
  const CHUNK = 200; // D1 refuses statements over 100 KB; a code row is ~270 bytes.
  const statements = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    statements.push(db.prepare(`INSERT INTO ${table} (${columns}) VALUES ${rows.slice(i, i + CHUNK).join(",")}`));
  }
  for (let i = 0; i < statements.length; i += 20) await db.batch(statements.slice(i, i + 20));
}

/**
 * Seeds what the OAuth scenarios present: the client's real secret hash, pools of unredeemed codes
 * (bound to the admin of tenant 1, PKCE S256, valid for a day so a long run never sees one expire)
 * and of live refresh tokens (one family each, valid 30 days). Everything else (signing keys, access
 * tokens) the gateway makes itself when bench/run.ts redeems the setup codes.
 */
export async function seedOAuthData(db: BenchD1, now: number): Promise<OAuthSeed> {
  const mac = createHmac("sha256", BENCH_PEPPER).update(BENCH_OAUTH.secret).digest();
  const secretHash = `hmac-sha256.v1$${base64url(mac)}`;
  await db.batch(
    [BENCH_OAUTH.clientId, ...BENCH_REFRESH_CLIENTS].map((id) =>
      db.prepare("UPDATE client_secrets SET hash = ? WHERE client_id = ?").bind(secretHash, id),
    ),
  );
  await db.prepare("DELETE FROM consents WHERE client_id = ?").bind(BENCH_CLIENTS.consentPage).run();
  await insertRows(
    db,
    "consents",
    "tenant, user_id, client_id, scopes, modified_on",
    BENCH_REFRESH_CLIENTS.map((id) => `(2,'${BENCH_USERS.tenant2}','${id}','files:read rooms:read',${now})`),
  );
  const plain = (n: number) => Array.from({ length: n }, () => base64url(randomBytes(32)));
  const codes = plain(OAUTH_POOL_SIZE.endpoint);
  const setupCodes = plain(OAUTH_POOL_SIZE.setup);
  const floorCodeHashes = plain(OAUTH_POOL_SIZE.floor);
  const spread = (tokens: string[]) =>
    tokens.map((token, i) => ({ token, clientId: BENCH_REFRESH_CLIENTS[i % BENCH_REFRESH_CLIENTS.length] ?? "" }));
  const refreshTokens = spread(plain(OAUTH_POOL_SIZE.refresh));
  const floorRefreshHashes = spread(plain(OAUTH_POOL_SIZE.refreshFloor));
  const { clientId, redirectUri, challenge } = BENCH_OAUTH;
  const user = BENCH_USERS.tenant1;
  const scopes = JSON.stringify(BENCH_OAUTH.scopes);
  const codeRow = (hash: string) =>
    `('${hash}','${clientId}',1,'${user}','${redirectUri}','${scopes}','${challenge}',NULL,${now - 5_000},${now},${now + 86_400_000},NULL,NULL,NULL,'Bench Admin','bench@example.com')`;
  await insertRows(
    db,
    "authorization_codes",
    "code_hash, client_id, tenant, user_id, redirect_uri, scopes, code_challenge, nonce, auth_time, created_on, expires_on, consumed_on, replayed_on, family_id, user_name, user_email",
    [...codes.map(sha256), ...setupCodes.map(sha256), ...floorCodeHashes].map(codeRow),
  );
  const expires = now + 30 * 86_400_000;
  const families = [
    ...refreshTokens.map((r) => ({ hash: sha256(r.token), clientId: r.clientId })),
    ...floorRefreshHashes.map((r) => ({ hash: r.token, clientId: r.clientId })),
  ];
  const hashes = families.map((f) => f.hash);
  const familyIds = hashes.map(() => randomUUID());
  await insertRows(
    db,
    "refresh_families",
    "family_id, client_id, tenant, user_id, scopes, created_on, expires_on, revoked_on, revoked_reason",
    familyIds.map(
      (id, i) =>
        `('${id}','${families[i]?.clientId}',2,'${BENCH_USERS.tenant2}','${scopes}',${now},${expires},NULL,NULL)`,
    ),
  );
  await insertRows(
    db,
    "refresh_tokens",
    "token_hash, family_id, created_on, expires_on, rotated_on, replaced_by",
    hashes.map((hash, i) => `('${hash}','${familyIds[i]}',${now},${expires},NULL,NULL)`),
  );
  return { codes, setupCodes, floorCodeHashes, refreshTokens, floorRefreshHashes };
}
