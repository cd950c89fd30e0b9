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
export { RevocationLedger } from "../src/durable-objects/revocation-ledger";

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

/** Client authentication's one round trip (src/services/oauth-client-auth.ts, findClientWithSecrets). */
function clientWithSecrets(db: D1Database, clientId: string) {
  return db.batch([
    db.prepare("SELECT * FROM clients WHERE client_id = ?").bind(clientId),
    db.prepare("SELECT hash, expires_on FROM client_secrets WHERE client_id = ?").bind(clientId),
  ]);
}

/** The consent read of src/services/consent-coverage.ts. */
function consentOf(db: D1Database, tenant: number, user: string, clientId: string) {
  return db
    .prepare("SELECT scopes FROM consents WHERE tenant = ? AND user_id = ? AND client_id = ?")
    .bind(tenant, user, clientId)
    .first();
}

/** A refresh token with its family (src/authorization/refresh-tokens.ts, findRefreshToken). */
function refreshTokenWithFamily(db: D1Database, tokenHash: string) {
  return db
    .prepare(
      "SELECT * FROM refresh_tokens INNER JOIN refresh_families ON refresh_families.family_id = refresh_tokens.family_id WHERE refresh_tokens.token_hash = ?",
    )
    .bind(tokenHash)
    .first();
}

/** Redemption's one batch (src/authorization/codes.ts, redeemCode): consume the code, start its family and first token. */
function redeemCodeBatch(db: D1Database, codeHash: string, clientId: string, now: number) {
  const familyId = crypto.randomUUID();
  const tokenHash = crypto.randomUUID();
  return db.batch([
    db
      .prepare(
        "UPDATE authorization_codes SET consumed_on = ?, family_id = ? WHERE code_hash = ? AND client_id = ? AND consumed_on IS NULL AND expires_on > ? RETURNING *",
      )
      .bind(now, familyId, codeHash, clientId, now),
    db
      .prepare(
        "INSERT INTO refresh_families SELECT ?, client_id, tenant, user_id, scopes, ?, ?, NULL, NULL, user_name, user_email FROM authorization_codes WHERE code_hash = ? AND family_id = ?",
      )
      .bind(familyId, now, now + 2_592_000_000, codeHash, familyId),
    db
      .prepare(
        "INSERT INTO refresh_tokens SELECT ?, family_id, ?, expires_on, NULL, NULL FROM refresh_families WHERE family_id = ?",
      )
      .bind(tokenHash, now, familyId),
  ]);
}

/** A page of about the consent page's size, for the consent page's floor. */
const FLOOR_PAGE = `<!doctype html><html><body>${"<p>floor</p>".repeat(300)}</body></html>`;
const html = (body: string): Response =>
  new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } });

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
          "SELECT client_id, tenant, created_by, (SELECT id FROM client_secrets WHERE client_secrets.client_id = clients.client_id AND expires_on IS NULL), (SELECT COUNT(*) FROM client_secrets WHERE client_secrets.client_id = clients.client_id AND expires_on > ?), (SELECT MIN(expires_on) FROM client_secrets WHERE client_secrets.client_id = clients.client_id AND expires_on > ?) FROM clients WHERE client_id = ?",
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
    // ---- The authorization server (issue 15). Hashing, signing and verifying are not storage: the
    // floors take the at-rest values (code and token hashes) directly and sign nothing. ----
    case "static":
      // Metadata and JWKS: a warm isolate answers both from memory (scopes and keys cached per isolate).
      return json({});
    case "introspect": {
      // One KV bulk read of the five presence keys (src/revocation/revocations.ts, readTokenRevocations).
      await request.text();
      const keys = [
        `revoked:client:${id}`,
        `revoked:consent:${id}:${user}`,
        `revoked:jti:${q.get("jti") ?? ""}`,
        `revoked:disabled:${id}`,
        `revoked:family:${q.get("sid") ?? ""}`,
      ];
      const values = await env.REVOCATIONS.get(keys, "text");
      return json({ active: [...values.values()].every((v) => v === null) });
    }
    case "introspect-refresh": {
      const token = new URLSearchParams(await request.text()).get("token") ?? "";
      const found = await refreshTokenWithFamily(db, token);
      if (!found) return json({ active: false });
      await db.prepare("SELECT enabled, allowed_origins FROM clients WHERE client_id = ?").bind(id).first();
      return json({ active: true });
    }
    case "pat": {
      await request.text();
      await clientWithSecrets(db, id);
      return json({ token_type: "Bearer" });
    }
    case "redeem": {
      const codeHash = new URLSearchParams(await request.text()).get("code") ?? "";
      await clientWithSecrets(db, id);
      const [consumed] = await redeemCodeBatch(db, codeHash, id, now);
      if (!consumed?.results.length) return json({ error: "invalid_grant" }, 400);
      await consentOf(db, tenant, user, id);
      return json({ token_type: "Bearer" });
    }
    case "refresh": {
      // The pool spreads its tokens over many clients (bench/seed.ts): each body names its own.
      const body = new URLSearchParams(await request.text());
      const tokenHash = body.get("refresh_token") ?? "";
      const client = body.get("client_id") ?? id;
      await clientWithSecrets(db, client);
      if (!(await refreshTokenWithFamily(db, tokenHash))) return json({ error: "invalid_grant" }, 400);
      await consentOf(db, tenant, user, client);
      const successor = crypto.randomUUID();
      const [rotated] = await db.batch([
        db
          .prepare(
            "UPDATE refresh_tokens SET rotated_on = ?, replaced_by = ? WHERE token_hash = ? AND rotated_on IS NULL AND expires_on > ? AND EXISTS (SELECT 1 FROM refresh_families WHERE refresh_families.family_id = refresh_tokens.family_id AND client_id = ? AND revoked_on IS NULL AND expires_on > ?) RETURNING family_id",
          )
          .bind(now, successor, tokenHash, now, client, now),
        db
          .prepare(
            "INSERT INTO refresh_tokens SELECT ?, t.family_id, ?, f.expires_on, NULL, NULL FROM refresh_tokens AS t JOIN refresh_families AS f ON f.family_id = t.family_id WHERE t.token_hash = ? AND t.replaced_by = ?",
          )
          .bind(successor, now, tokenHash, successor),
        db
          .prepare(
            "SELECT * FROM refresh_families WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ?)",
          )
          .bind(successor),
      ]);
      if (!rotated?.results.length) return json({ error: "invalid_grant" }, 400);
      return json({ token_type: "Bearer" });
    }
    case "consent-page":
    case "flow-authorize": {
      // GET /oauth2/authorize for a signed-in user without consent: client, consent, then the pending request and the scopes.
      await db.prepare("SELECT * FROM clients WHERE client_id = ?").bind(id).first();
      await consentOf(db, tenant, user, id);
      const requestId = crypto.randomUUID();
      await Promise.all([
        db
          .prepare(
            "INSERT INTO authorization_requests (id, csrf_hash, client_id, tenant, user_id, redirect_uri, scopes, state, code_challenge, nonce, created_on, expires_on, consumed_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)",
          )
          .bind(
            requestId,
            requestId,
            id,
            tenant,
            user,
            "https://app.example.com/oauth/callback",
            '["files:read","rooms:read"]',
            "st",
            "challenge",
            now,
            now + 600_000,
          )
          .run(),
        db.prepare("SELECT * FROM scopes WHERE name IN (?, ?)").bind("files:read", "rooms:read").all(),
      ]);
      return name === "flow-authorize" ? json({ request_id: requestId }) : html(FLOOR_PAGE);
    }
    case "flow-decide": {
      // POST /oauth2/authorize, allow: consume the pending request, merge and record the consent, issue the code.
      const requestId = new URLSearchParams(await request.text()).get("request_id") ?? "";
      const pending = await db
        .prepare(
          "UPDATE authorization_requests SET consumed_on = ? WHERE id = ? AND csrf_hash = ? AND user_id = ? AND tenant = ? AND consumed_on IS NULL AND expires_on > ? RETURNING *",
        )
        .bind(now, requestId, requestId, user, tenant, now)
        .first();
      if (!pending) return json({ error: "unknown_request" }, 400);
      await consentOf(db, tenant, user, id);
      await db.prepare("SELECT client_id, scopes, enabled FROM clients WHERE client_id = ?").bind(id).first();
      await db
        .prepare(
          "INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) SELECT ?, ?, client_id, ?, ? FROM clients WHERE client_id = ? AND enabled = 1 ON CONFLICT (tenant, user_id, client_id) DO UPDATE SET scopes = excluded.scopes, modified_on = excluded.modified_on",
        )
        .bind(tenant, user, "files:read rooms:read", now, id)
        .run();
      const codeHash = crypto.randomUUID();
      await db
        .prepare(
          "INSERT INTO authorization_codes (code_hash, client_id, tenant, user_id, redirect_uri, scopes, code_challenge, nonce, auth_time, created_on, expires_on, consumed_on, replayed_on, family_id, user_name, user_email) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, NULL, NULL, NULL, NULL, NULL)",
        )
        .bind(
          codeHash,
          id,
          tenant,
          user,
          "https://app.example.com/oauth/callback",
          '["files:read","rooms:read"]',
          "challenge",
          now,
          now,
          now + 60_000,
        )
        .run();
      return json({ code: codeHash });
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
