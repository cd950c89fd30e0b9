import { env } from "cloudflare:workers";
import { call, clientBody } from "./api";
import type { AppFetcher } from "./app";
import type { Caller } from "./signature";

/**
 * Reads stored state straight from the real bindings (SQL through `env.DB.prepare`, raw KV
 * through `env.REVOCATIONS`), so tests check what was persisted, not what an endpoint says.
 */

/** A `clients` row exactly as D1 holds it (JSON columns still text, booleans 0/1). */
export type StoredClient = {
  client_id: string;
  tenant: number;
  name: string;
  description: string | null;
  logo: string | null;
  website_url: string | null;
  terms_url: string | null;
  policy_url: string | null;
  logout_redirect_uri: string | null;
  redirect_uris: string;
  allowed_origins: string;
  scopes: string;
  enabled: number;
  is_public: number;
  allow_pkce: number;
  created_on: number;
  created_by: string;
  modified_on: number;
  modified_by: string;
};

export type StoredSecret = {
  id: number;
  client_id: string;
  hash: string;
  created_on: number;
  expires_on: number | null;
};

export type StoredAuditEvent = {
  id: number;
  tenant: number;
  user_id: string;
  client_id: string | null;
  action: number;
  occurred_on: number;
  ip: string | null;
  user_agent: string | null;
  request_id: string;
};

export type StoredConsent = { tenant: number; user_id: string; client_id: string; scopes: string; modified_on: number };

/** The client's row, or null. */
export async function storedClient(clientId: string): Promise<StoredClient | null> {
  return env.DB.prepare("SELECT * FROM clients WHERE client_id = ?").bind(clientId).first<StoredClient>();
}

/** Every secret row of the client, oldest first. */
export async function storedSecrets(clientId: string): Promise<StoredSecret[]> {
  const { results } = await env.DB.prepare("SELECT * FROM client_secrets WHERE client_id = ? ORDER BY id")
    .bind(clientId)
    .all<StoredSecret>();
  return results;
}

/** Every audit event about the client, in insertion order. */
export async function auditEventsFor(clientId: string): Promise<StoredAuditEvent[]> {
  const { results } = await env.DB.prepare("SELECT * FROM audit_events WHERE client_id = ? ORDER BY id")
    .bind(clientId)
    .all<StoredAuditEvent>();
  return results;
}

/** Every audit event of a tenant, in insertion order. */
export async function auditEventsOfTenant(tenant: number): Promise<StoredAuditEvent[]> {
  const { results } = await env.DB.prepare("SELECT * FROM audit_events WHERE tenant = ? ORDER BY id")
    .bind(tenant)
    .all<StoredAuditEvent>();
  return results;
}

/** Every client row of a tenant. */
export async function clientsOfTenant(tenant: number): Promise<StoredClient[]> {
  const { results } = await env.DB.prepare("SELECT * FROM clients WHERE tenant = ? ORDER BY created_on, client_id")
    .bind(tenant)
    .all<StoredClient>();
  return results;
}

/** Every consent row for the client. */
export async function consentsFor(clientId: string): Promise<StoredConsent[]> {
  const { results } = await env.DB.prepare("SELECT * FROM consents WHERE client_id = ? ORDER BY user_id")
    .bind(clientId)
    .all<StoredConsent>();
  return results;
}

/** Inserts a consent row directly (consents are written by a later issue's token flow). */
export async function insertConsent(
  consent: { tenant: number; userId: string; clientId: string; scopes?: string },
  modifiedOn = Date.UTC(2026, 10, 1),
): Promise<void> {
  await env.DB.prepare("INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) VALUES (?, ?, ?, ?, ?)")
    .bind(consent.tenant, consent.userId, consent.clientId, consent.scopes ?? "files:read openid", modifiedOn)
    .run();
}

/** Secret rows whose client no longer exists (must always be zero). */
export async function orphanSecretCount(): Promise<number> {
  return (
    (await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM client_secrets WHERE client_id NOT IN (SELECT client_id FROM clients)",
    ).first<number>("n")) ?? 0
  );
}

/** A raw KV entry: its text value and its absolute expiry (epoch seconds) as KV reports it in `list`. */
export async function kvEntry(key: string): Promise<{ value: string; expiration: number | undefined } | null> {
  const value = await env.REVOCATIONS.get(key);
  if (value === null) return null;
  const listed = await env.REVOCATIONS.list({ prefix: key });
  const match = listed.keys.find((k) => k.name === key);
  return { value, expiration: match?.expiration };
}

/** The configured revocation TTL (wrangler.toml `MAX_TOKEN_TTL_SECONDS`). */
export function configuredRevocationTtl(): number {
  return Number(env.MAX_TOKEN_TTL_SECONDS);
}

/** Whether a fixed string is a lowercase UUID v4 (SPEC §4.16). */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** ISO-8601 UTC with milliseconds and `Z` (SPEC §4.16). */
export const ISO_MS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A fresh, well-formed request id so a test can find its own audit rows and log lines. */
export function newRequestId(): string {
  return `test-${crypto.randomUUID()}`;
}

/**
 * Creates a client through `fetcher` (an app with an injected clock or env), signed at the fetcher's
 * clock, and returns the 201 body.
 */
export async function createClientVia(fetcher: AppFetcher, caller: Caller, overrides: Record<string, unknown> = {}) {
  const response = await call("POST", "/clients", { caller, body: clientBody(overrides), fetcher });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown> & { client_id: string; client_secret: string };
}

/**
 * Loads the worker behind `exports.default` once per test file. The first request of a file pays
 * for loading the worker's modules (seen taking ~10 s on a busy two-core machine), which would
 * otherwise count against the first test's 5 s timeout. Use as `beforeAll(warmUpWorker, 60_000)`.
 */
export async function warmUpWorker(): Promise<void> {
  await (await call("GET", "/__warm-up")).arrayBuffer();
}
