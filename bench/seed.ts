/**
 * Applies the D1 migrations and seeds the benchmark's data in bulk with SQL (never through the API):
 * tenant 1 holds the clients the endpoint scenarios work on, tenants 2 and 3 hold 1,000 and 100,000
 * clients for the scale scenarios. Ids are deterministic so the scenarios can name them.
 */
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
