/**
 * The benchmark build of the gateway (issue 6): the real app from src/app.ts plus routes that are
 * compiled in only here, through bench/wrangler.bench.toml.
 *
 * - `GET /__bench/noop`: no auth, no storage, no Hono: the runtime's ceiling on this machine.
 * - `/__bench/floor/*`: each endpoint's storage floor: the same D1/KV calls for the same data, as raw
 *   prepared statements (the SQL Drizzle emits), with no auth, validation, Drizzle or rendering work.
 *   The gap between an endpoint and its floor is what the gateway's own code costs.
 * - A request carrying `x-bench-limiter: off` reaches the app with an in-isolate `RATE_LIMITER` that
 *   admits everything, so the middleware runs but the Durable Object hop does not; scenarios compare
 *   the same endpoint with and without that header to price the limiter.
 */
import { createApp } from "../src/app";

export { RateLimiter } from "../src/durable-objects/rate-limiter";

const app = createApp();

const JSON_HEADERS = { "content-type": "application/json" };
const FLOOR_PREFIX = "/__bench/floor/";
/** Same TTL the gateway derives from MAX_TOKEN_TTL_SECONDS in the bench config. */
const REVOCATION_TTL_SECONDS = 5_184_000;
const FLOOR_SECRET_HASH = "hmac-sha256.v1$bench-floor-constant-hash-not-a-secret-000000";

type Quota = { limit: number; windowMs: number };

/** A rate limiter that admits every request without leaving the isolate (limiter "off"). */
const ADMIT_ALL_STUB = {
  consume: async (_bucket: string, quota: Quota) => ({
    allowed: true,
    tat: 0,
    remaining: quota.limit - 1,
    resetSeconds: 0,
    retryAfterSeconds: 0,
  }),
};
const ADMIT_ALL_LIMITER = {
  idFromName: (name: string) => name,
  get: () => ADMIT_ALL_STUB,
  getByName: () => ADMIT_ALL_STUB,
} as unknown as DurableObjectNamespace;

const json = (value: unknown, status = 200): Response =>
  new Response(JSON.stringify(value ?? null), { status, headers: JSON_HEADERS });

function auditInsertIfClientExists(
  db: D1Database,
  tenant: number,
  userId: string,
  clientId: string,
  action: number,
  now: number,
) {
  return db
    .prepare(
      "INSERT INTO audit_events (id, tenant, user_id, client_id, action, occurred_on, ip, user_agent, request_id) SELECT NULL, ?, ?, client_id, ?, ?, NULL, NULL, 'bench' FROM clients WHERE client_id = ?",
    )
    .bind(tenant, userId, action, now, clientId);
}

/** The storage calls of each endpoint, nothing else. Query parameters carry the ids the endpoint would derive. */
async function storageFloor(name: string, request: Request, env: Env): Promise<Response> {
  const q = new URL(request.url).searchParams;
  const id = q.get("id") ?? "";
  const tenant = Number(q.get("tenant") ?? "1");
  const user = q.get("user") ?? "";
  const now = Date.now();
  const db = env.DB;
  switch (name) {
    case "client":
    case "public-info":
      return json(await db.prepare("SELECT * FROM clients WHERE client_id = ?").bind(id).first());
    case "clients": {
      const createdOn = q.get("created_on");
      const page = createdOn
        ? db
            .prepare(
              "SELECT * FROM clients WHERE tenant = ? AND (created_on, client_id) < (?, ?) ORDER BY created_on DESC, client_id DESC LIMIT 31",
            )
            .bind(tenant, Number(createdOn), q.get("client_id") ?? "")
        : db
            .prepare("SELECT * FROM clients WHERE tenant = ? ORDER BY created_on DESC, client_id DESC LIMIT 31")
            .bind(tenant);
      return json((await page.all()).results);
    }
    case "create": {
      await request.text();
      await db.prepare("SELECT name FROM scopes").all();
      const clientId = crypto.randomUUID();
      await db.batch([
        db
          .prepare(
            "INSERT INTO clients (client_id, tenant, name, description, logo, website_url, terms_url, policy_url, logout_redirect_uri, redirect_uris, allowed_origins, scopes, enabled, is_public, allow_pkce, created_on, created_by, modified_on, modified_by) VALUES (?, ?, 'Bench floor client', NULL, NULL, NULL, NULL, NULL, NULL, '[\"https://app.example.com/cb\"]', '[\"https://app.example.com\"]', '[\"files:read\"]', 1, 1, 0, ?, ?, ?, ?)",
          )
          .bind(clientId, tenant, now, user, now, user),
        db
          .prepare("INSERT INTO client_secrets (client_id, hash, created_on, expires_on) VALUES (?, ?, ?, NULL)")
          .bind(clientId, FLOOR_SECRET_HASH, now),
        auditInsertIfClientExists(db, tenant, user, clientId, 9901, now),
      ]);
      return json({ client_id: clientId }, 201);
    }
    case "update": {
      await request.text();
      await db.prepare("SELECT * FROM clients WHERE client_id = ?").bind(id).first();
      const [updated] = await db.batch([
        db
          .prepare(
            "UPDATE clients SET name = ?, allowed_origins = ?, allow_pkce = 0, description = ?, modified_on = ?, modified_by = ? WHERE client_id = ? RETURNING *",
          )
          .bind("Bench floor client", '["https://app.example.com"]', "floor", now, user, id),
        auditInsertIfClientExists(db, tenant, user, id, 9902, now),
      ]);
      return json(updated?.results.length ? {} : null);
    }
    case "regenerate": {
      // The client with its secrets' state, in one statement (src/services/secret-rotation.ts, rotationStateColumns).
      await db
        .prepare(
          "SELECT *, (SELECT id FROM client_secrets WHERE client_secrets.client_id = clients.client_id AND expires_on IS NULL), (SELECT COUNT(*) FROM client_secrets WHERE client_secrets.client_id = clients.client_id AND expires_on > ?), (SELECT MIN(expires_on) FROM client_secrets WHERE client_secrets.client_id = clients.client_id AND expires_on > ?) FROM clients WHERE client_id = ?",
        )
        .bind(now, now, id)
        .first();
      await db.batch([
        db
          .prepare("DELETE FROM client_secrets WHERE client_id = ? AND expires_on IS NOT NULL AND expires_on <= ?")
          .bind(id, now),
        db.prepare("DELETE FROM client_secrets WHERE client_id = ? AND expires_on IS NULL").bind(id),
        db
          .prepare("INSERT INTO client_secrets (client_id, hash, created_on, expires_on) VALUES (?, ?, ?, NULL)")
          .bind(id, FLOOR_SECRET_HASH, now),
        db.prepare("UPDATE clients SET modified_on = ?, modified_by = ? WHERE client_id = ?").bind(now, user, id),
        auditInsertIfClientExists(db, tenant, user, id, 9903, now),
      ]);
      return json({ client_secret: "floor" });
    }
    case "revoke": {
      const exists = await db.prepare("SELECT client_id FROM clients WHERE client_id = ?").bind(id).first();
      if (!exists) return json({});
      const key = `revoked:consent:${id}:${user}`;
      await env.REVOCATIONS.get(key);
      await env.REVOCATIONS.put(
        key,
        JSON.stringify({ revoked_before: Math.floor(now / 1000), reason: "consent_revoked" }),
        {
          expirationTtl: REVOCATION_TTL_SECONDS,
        },
      );
      await db.batch([
        db.prepare("DELETE FROM consents WHERE tenant = ? AND user_id = ? AND client_id = ?").bind(tenant, user, id),
        auditInsertIfClientExists(db, tenant, user, id, 9907, now),
      ]);
      return json({});
    }
    case "token-status": {
      await request.text();
      const [clientWide, consent] = await Promise.all([
        env.REVOCATIONS.get(`revoked:client:${id}`),
        env.REVOCATIONS.get(`revoked:consent:${id}:${user}`),
      ]);
      return json({ active: clientWide === null && consent === null });
    }
    default:
      return json({ error: "no such floor" }, 404);
  }
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === "/__bench/noop") return new Response("{}", { headers: JSON_HEADERS });
    if (path.startsWith(FLOOR_PREFIX)) return storageFloor(path.slice(FLOOR_PREFIX.length), request, env);
    const limiterOff = request.headers.get("x-bench-limiter") === "off";
    return app.fetch(request, limiterOff ? { ...env, RATE_LIMITER: ADMIT_ALL_LIMITER } : env, ctx);
  },
} satisfies ExportedHandler<Env>;
