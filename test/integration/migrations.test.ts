import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, it } from "vitest";
import { createClientAs } from "../helpers/api";
import { SEEDED_SCOPES } from "../helpers/scopes";
import { newCaller } from "../helpers/signature";
import {
  auditEventsFor,
  consentsFor,
  insertConsent,
  storedClient,
  storedSecrets,
  warmUpWorker,
} from "../helpers/stored-state";

// SPEC §8 and STYLE habit 9: the migrations in migrations/ (applied by test/setup) create the
// schema, seed the nine DocSpace scopes and the keyset indexes; re-applying them is a no-op; and
// applying them step by step over seeded data loses no row. drizzle-kit rebuilds tables with
// DROP TABLE, which on D1 fires ON DELETE CASCADE; the last test would catch such a migration.
//
// Storage is isolated per test file, so the last test may drop and rebuild this file's database.

/** Index name → its columns in order, read back from SQLite. */
async function indexColumns(name: string): Promise<string[]> {
  const { results } = await env.DB.prepare(`PRAGMA index_info("${name}")`).all<{ seqno: number; name: string }>();
  return results.sort((a, b) => a.seqno - b.seqno).map((c) => c.name);
}

async function count(sql: string, ...params: unknown[]): Promise<number> {
  return (await env.DB.prepare(sql)
    .bind(...params)
    .first<number>("n")) as number;
}

beforeAll(warmUpWorker, 60_000);

describe("the migrated schema", () => {
  it("seeds exactly DocSpace's nine scopes with their group and type", async ({ expect }) => {
    const { results } = await env.DB.prepare('SELECT name, "group", type FROM scopes ORDER BY name').all();
    expect(results).toEqual(SEEDED_SCOPES);
  });

  it("has an index for every lookup and keyset order", async ({ expect }) => {
    const expected: Record<string, string[]> = {
      clients_tenant_created_idx: ["tenant", "created_on", "client_id"],
      clients_tenant_creator_created_idx: ["tenant", "created_by", "created_on", "client_id"],
      client_secrets_client_idx: ["client_id", "expires_on"],
      client_secrets_current_idx: ["client_id"],
      consents_user_modified_idx: ["tenant", "user_id", "modified_on", "client_id"],
      consents_client_idx: ["client_id"],
      audit_events_tenant_idx: ["tenant", "occurred_on"],
      audit_events_client_idx: ["client_id"],
      signing_keys_alg_slot_idx: ["alg", "slot"],
      authorization_requests_expires_idx: ["expires_on"],
      authorization_codes_expires_idx: ["expires_on"],
      refresh_families_client_user_idx: ["client_id", "user_id"],
      refresh_families_expires_idx: ["expires_on"],
      refresh_tokens_family_idx: ["family_id"],
    };
    for (const [name, columns] of Object.entries(expected)) {
      expect(await indexColumns(name), name).toEqual(columns);
    }
    const current = await env.DB.prepare(
      "SELECT sql FROM sqlite_master WHERE name = 'client_secrets_current_idx'",
    ).first<string>("sql");
    expect(current).toMatch(/^CREATE UNIQUE INDEX/);
    expect(current).toMatch(/WHERE\s+"client_secrets"\."expires_on" IS NULL/);
    // One key per algorithm and rotation slot, however many isolates race to add it (AS §5.3).
    const slot = await env.DB.prepare(
      "SELECT sql FROM sqlite_master WHERE name = 'signing_keys_alg_slot_idx'",
    ).first<string>("sql");
    expect(slot).toMatch(/^CREATE UNIQUE INDEX/);
  });

  it("answers the tenant keyset page from the index, without a sort step", async ({ expect }) => {
    const { results } = await env.DB.prepare(
      `EXPLAIN QUERY PLAN SELECT client_id FROM clients
       WHERE tenant = ? AND (created_on < ? OR (created_on = ? AND client_id < ?))
       ORDER BY created_on DESC, client_id DESC LIMIT 30`,
    )
      .bind(1, 2, 2, "x")
      .all<{ detail: string }>();
    const plan = results.map((r) => r.detail).join("\n");
    expect(plan).toMatch(/USING (COVERING )?INDEX clients_tenant_created_idx/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
  });

  it("enforces foreign keys, so a table rebuild by DROP TABLE would cascade", async ({ expect }) => {
    // Why the migration test below matters: deleting a parent row really removes its children.
    const user = newCaller("USER");
    const created = await createClientAs(user);
    await insertConsent({ tenant: user.tenantId, userId: user.userId, clientId: created.client_id });
    await env.DB.prepare("DELETE FROM clients WHERE client_id = ?").bind(created.client_id).run();
    expect(await storedSecrets(created.client_id)).toEqual([]);
    expect(await consentsFor(created.client_id)).toEqual([]);
  });

  it("refuses a second current secret for one client", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    await expect(
      env.DB.prepare("INSERT INTO client_secrets (client_id, hash, created_on, expires_on) VALUES (?, 'h', 1, NULL)")
        .bind(created.client_id)
        .run(),
    ).rejects.toThrow(/UNIQUE/);
    expect(await storedSecrets(created.client_id)).toHaveLength(1);
  });
});

describe("applying migrations over existing data", () => {
  it("re-applying every migration is a no-op and existing rows survive", async ({ expect }) => {
    const user = newCaller("USER");
    const created = await createClientAs(user);
    await insertConsent({ tenant: user.tenantId, userId: user.userId, clientId: created.client_id });
    const before = {
      client: await storedClient(created.client_id),
      secrets: await storedSecrets(created.client_id),
      consents: await consentsFor(created.client_id),
      audit: await auditEventsFor(created.client_id),
      applied: await count("SELECT COUNT(*) AS n FROM d1_migrations"),
    };
    expect(before.applied).toBe(env.TEST_MIGRATIONS.length);

    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

    expect(await storedClient(created.client_id)).toEqual(before.client);
    expect(await storedSecrets(created.client_id)).toEqual(before.secrets);
    expect(await consentsFor(created.client_id)).toEqual(before.consents);
    expect(await auditEventsFor(created.client_id)).toEqual(before.audit);
    expect(await count("SELECT COUNT(*) AS n FROM d1_migrations")).toBe(before.applied);
    expect(await count("SELECT COUNT(*) AS n FROM scopes")).toBe(9);
  });

  it("applying the migrations one at a time over seeded rows loses none of them", async ({ expect }) => {
    const migrations = env.TEST_MIGRATIONS;
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations[0]?.name).toMatch(/^0000_/);

    // Start from an empty database: drop every table, children (tables with foreign keys) first.
    const { results: tables } = await env.DB.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
    ).all<{ name: string; sql: string }>();
    const ordered = [...tables].sort((a, b) => Number(/REFERENCES/i.test(b.sql)) - Number(/REFERENCES/i.test(a.sql)));
    await env.DB.batch(ordered.map((t) => env.DB.prepare(`DROP TABLE "${t.name}"`)));
    expect(await count("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'clients'")).toBe(0);

    // The first migration alone, then rows written with its columns only.
    await applyD1Migrations(env.DB, migrations.slice(0, 1));
    const clientId = crypto.randomUUID();
    const userId = crypto.randomUUID();
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO clients (client_id, tenant, name, description, logo, website_url, terms_url, policy_url,
           logout_redirect_uri, redirect_uris, allowed_origins, scopes, enabled, is_public, allow_pkce,
           created_on, created_by, modified_on, modified_by)
         VALUES (?, 7, 'Seeded', 'd', NULL, NULL, NULL, NULL, NULL, '["https://a.example/cb"]',
           '["https://a.example"]', '["openid"]', 1, 1, 0, 1000, ?, 1000, ?)`,
      ).bind(clientId, userId, userId),
      env.DB.prepare(
        "INSERT INTO client_secrets (client_id, hash, created_on, expires_on) VALUES (?, 'hmac-sha256.v1$seed', 1000, NULL)",
      ).bind(clientId),
      env.DB.prepare(
        "INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) VALUES (7, ?, ?, 'openid', 1000)",
      ).bind(userId, clientId),
      env.DB.prepare(
        "INSERT INTO audit_events (tenant, user_id, client_id, action, occurred_on, ip, user_agent, request_id) VALUES (7, ?, ?, 9901, 1000, NULL, NULL, 'seed')",
      ).bind(userId, clientId),
    ]);

    const seeded = async () => ({
      clients: await count("SELECT COUNT(*) AS n FROM clients WHERE client_id = ?", clientId),
      secrets: await count("SELECT COUNT(*) AS n FROM client_secrets WHERE client_id = ?", clientId),
      consents: await count("SELECT COUNT(*) AS n FROM consents WHERE client_id = ?", clientId),
      audit: await count("SELECT COUNT(*) AS n FROM audit_events WHERE client_id = ?", clientId),
    });
    const all = { clients: 1, secrets: 1, consents: 1, audit: 1 };
    expect(await seeded()).toEqual(all);

    for (let step = 2; step <= migrations.length; step++) {
      await applyD1Migrations(env.DB, migrations.slice(0, step));
      expect(await seeded(), `after ${migrations[step - 1]?.name}`).toEqual(all);
    }

    // The rebuilt database is the complete schema again, for anything that runs after this.
    expect(await count("SELECT COUNT(*) AS n FROM d1_migrations")).toBe(migrations.length);
    expect(await count("SELECT COUNT(*) AS n FROM scopes")).toBe(9);
    const row = await storedClient(clientId);
    expect(row).toMatchObject({ name: "Seeded", tenant: 7, created_by: userId });
  });
});
