import { env } from "cloudflare:workers";
import fc from "fast-check";
import type { ExpectStatic } from "vitest";
import { clientRevocationKey, consentRevocationKey } from "../../src/revocation/revocations";
import { clientBody } from "./api";

/**
 * Shared by the reliability suites (test/property, test/faults, test/concurrency): the table of
 * client endpoints they sweep, the response and database invariants they check after every
 * case, and seeded fast-check parameters that print how to replay a run.
 */

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One endpoint of SPEC §4, described so a suite can call it without knowing its rules. */
export type EndpointCase = {
  /** The SDK operation id. */
  id: string;
  method: HttpMethod;
  /** Hono route template under the API base, e.g. `/clients/:clientId/activation`. */
  template: string;
  /** The request path for a client id (ignored by endpoints without `{clientId}`). */
  path: (clientId: string) => string;
  /** A valid JSON body, when the endpoint takes one. */
  body?: () => unknown;
  /** Needs an x-signature (everything but public info). */
  signed: boolean;
  /** GUEST may call it (SPEC §4: 4.6, 4.11, 4.12, 4.13). */
  guestAllowed: boolean;
  /** Changes stored state when it succeeds. */
  mutates: boolean;
  /** Status of success. */
  ok: number;
  /**
   * How a caller who may not see the client is answered: `hidden` = 404 exactly like an unknown
   * id; `idempotent` = 200 exactly like an unknown id (revoke, SPEC §4.6); `public` = served to
   * anyone (public info, SPEC §4.11).
   */
  foreign: "hidden" | "idempotent" | "public";
};

/** Path builders take the id as it should appear in the URL (callers encode when they need to). */
const byId =
  (suffix = "") =>
  (id: string) =>
    `/clients/${id}${suffix}`;

/** Every endpoint of SPEC §4 that takes a client id in its path. */
export const CLIENT_ID_ENDPOINTS: EndpointCase[] = [
  {
    id: "updateClient",
    method: "PUT",
    template: "/clients/:clientId",
    path: byId(),
    body: () => ({ name: "Renamed by a test", allowed_origins: ["https://renamed.example"] }),
    signed: true,
    guestAllowed: false,
    mutates: true,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "deleteClient",
    method: "DELETE",
    template: "/clients/:clientId",
    path: byId(),
    signed: true,
    guestAllowed: false,
    mutates: true,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "regenerateSecret",
    method: "PATCH",
    template: "/clients/:clientId/regenerate",
    path: byId("/regenerate"),
    signed: true,
    guestAllowed: false,
    mutates: true,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "changeActivation",
    method: "PATCH",
    template: "/clients/:clientId/activation",
    path: byId("/activation"),
    body: () => ({ status: false }),
    signed: true,
    guestAllowed: false,
    mutates: true,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "revokeUserClient",
    method: "DELETE",
    template: "/clients/:clientId/revoke",
    path: byId("/revoke"),
    signed: true,
    guestAllowed: true,
    mutates: true,
    ok: 200,
    foreign: "idempotent",
  },
  {
    id: "revokeClientTokens",
    method: "DELETE",
    template: "/clients/:clientId/tokens",
    path: byId("/tokens"),
    signed: true,
    guestAllowed: false,
    mutates: true,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "getClient",
    method: "GET",
    template: "/clients/:clientId",
    path: byId(),
    signed: true,
    guestAllowed: false,
    mutates: false,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "getClientInfo",
    method: "GET",
    template: "/clients/:clientId/info",
    path: byId("/info"),
    signed: true,
    guestAllowed: false,
    mutates: false,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "getPublicClientInfo",
    method: "GET",
    template: "/clients/:clientId/public/info",
    path: byId("/public/info"),
    signed: false,
    guestAllowed: true,
    mutates: false,
    ok: 200,
    foreign: "public",
  },
];

/** Endpoints of SPEC §4 without a client id. */
export const COLLECTION_ENDPOINTS: EndpointCase[] = [
  {
    id: "createClient",
    method: "POST",
    template: "/clients",
    path: () => "/clients",
    body: () => clientBody(),
    signed: true,
    guestAllowed: false,
    mutates: true,
    ok: 201,
    foreign: "hidden",
  },
  {
    id: "getClients",
    method: "GET",
    template: "/clients",
    path: () => "/clients?limit=5",
    signed: true,
    guestAllowed: false,
    mutates: false,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "getClientsInfo",
    method: "GET",
    template: "/clients/info",
    path: () => "/clients/info?limit=5",
    signed: true,
    guestAllowed: false,
    mutates: false,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "getConsents",
    method: "GET",
    template: "/clients/consents",
    path: () => "/clients/consents?limit=5",
    signed: true,
    guestAllowed: true,
    mutates: false,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "getScopes",
    method: "GET",
    template: "/scopes",
    path: () => "/scopes",
    signed: true,
    guestAllowed: true,
    mutates: false,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "deleteClients",
    method: "DELETE",
    template: "/clients",
    path: () => "/clients",
    signed: true,
    guestAllowed: false,
    mutates: true,
    ok: 200,
    foreign: "hidden",
  },
  {
    id: "deleteTenantClients",
    method: "DELETE",
    template: "/clients/tenant",
    path: () => "/clients/tenant",
    signed: true,
    guestAllowed: false,
    mutates: true,
    ok: 200,
    foreign: "hidden",
  },
];

type Expect = ExpectStatic;

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Words that would mean an internal error leaked into a response body. */
const LEAK = /InjectedFault|SQLITE|D1_|\bat \S+\.ts:|TypeError|ReferenceError|stack/;

/**
 * The response invariants of SPEC §5 every case checks: never 5xx other than 503 (when the
 * caller allows it), an `x-request-id` on every response, and every 4xx/503 a problem+json whose
 * `status` and `request_id` match the response. Returns the parsed body (or text) for more checks.
 */
export async function checkResponse(
  expect: Expect,
  response: Response,
  options: { allow503?: boolean; sentRequestId?: string } = {},
): Promise<unknown> {
  const text = await response.text();
  const context = `${response.status} ${text.slice(0, 300)}`;
  if (options.allow503 && response.status === 503) {
    // A dependency outage is the documented answer in fault runs.
  } else {
    expect(response.status, context).toBeLessThan(500);
  }
  const requestId = response.headers.get("x-request-id") ?? "";
  expect(requestId.length > 0, "x-request-id present").toBe(true);
  if (options.sentRequestId !== undefined) {
    if (SANE_REQUEST_ID.test(options.sentRequestId)) expect(requestId).toBe(options.sentRequestId);
    else expect(requestId).toMatch(UUID);
  }
  if (response.status < 400) return text.length > 0 ? JSON.parse(text) : text;
  expect(response.headers.get("content-type") ?? "", context).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.status, context).toBe(response.status);
  expect(body.request_id, context).toBe(requestId);
  for (const field of ["type", "title", "detail", "instance"]) expect(typeof body[field], field).toBe("string");
  expect(LEAK.test(text), `no internals leak: ${context}`).toBe(false);
  return body;
}

/** A tenant's stored state in one query, for "nothing changed" comparisons. */
export type TenantState = {
  clients: string;
  secrets: string;
  consents: string;
  audits: number;
  /** Clients of the tenant without exactly one current secret (must be 0). */
  badSecrets: number;
};

/**
 * Everything stored for a tenant that an operation may change: client rows, secret rows (by id),
 * consents and the number of audit events. One round trip.
 */
export async function tenantState(tenant: number): Promise<TenantState> {
  const row = await env.DB.prepare(
    `SELECT
      (SELECT json_group_array(json_object(
          'client_id', client_id, 'name', name, 'description', description, 'logo', logo,
          'website_url', website_url, 'terms_url', terms_url, 'policy_url', policy_url,
          'logout_redirect_uri', logout_redirect_uri, 'redirect_uris', redirect_uris,
          'allowed_origins', allowed_origins, 'scopes', scopes, 'enabled', enabled, 'is_public', is_public,
          'allow_pkce', allow_pkce, 'created_on', created_on, 'created_by', created_by,
          'modified_on', modified_on, 'modified_by', modified_by))
        FROM (SELECT * FROM clients WHERE tenant = ?1 ORDER BY client_id)) AS clients,
      (SELECT json_group_array(json_object('id', id, 'client_id', client_id, 'hash', hash,
          'created_on', created_on, 'expires_on', expires_on))
        FROM (SELECT s.* FROM client_secrets s JOIN clients c ON c.client_id = s.client_id
              WHERE c.tenant = ?1 ORDER BY s.id)) AS secrets,
      (SELECT json_group_array(json_object('user_id', user_id, 'client_id', client_id, 'scopes', scopes,
          'modified_on', modified_on))
        FROM (SELECT * FROM consents WHERE tenant = ?1 ORDER BY user_id, client_id)) AS consents,
      (SELECT COUNT(*) FROM audit_events WHERE tenant = ?1) AS audits,
      (SELECT COUNT(*) FROM clients c WHERE c.tenant = ?1 AND
         (SELECT COUNT(*) FROM client_secrets s WHERE s.client_id = c.client_id AND s.expires_on IS NULL) != 1)
        AS badSecrets`,
  )
    .bind(tenant)
    .first<TenantState>();
  if (!row) throw new Error("tenant state query returned nothing");
  return row;
}

/** Tables other than `clients` that hang off a client by `client_id` (audit events outlive clients). */
async function childTables(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) p
      WHERE m.type = 'table' AND p.name = 'client_id'
        AND m.name NOT IN ('clients', 'audit_events') AND m.name NOT LIKE '\\_cf%' ESCAPE '\\'`,
  ).all<{ name: string }>();
  return results.map((r) => r.name);
}

export type DbInvariantReport = {
  clientsWithoutOneCurrentSecret: number;
  clientsWithoutTenant: number;
  orphans: Record<string, number>;
};

/**
 * The database's own invariants over the whole (per-file) database: every client has exactly one
 * current secret hash (`expires_on IS NULL`), every child row has its client, no client lacks a
 * tenant. All counts must be zero.
 */
export async function dbInvariants(): Promise<DbInvariantReport> {
  const counts = await env.DB.prepare(
    `SELECT
      (SELECT COUNT(*) FROM clients c WHERE
         (SELECT COUNT(*) FROM client_secrets s WHERE s.client_id = c.client_id AND s.expires_on IS NULL) != 1) AS a,
      (SELECT COUNT(*) FROM clients WHERE tenant IS NULL OR tenant < 1 OR typeof(tenant) != 'integer') AS b`,
  ).first<{ a: number; b: number }>();
  const orphans: Record<string, number> = {};
  for (const table of await childTables()) {
    orphans[table] =
      (await env.DB.prepare(
        `SELECT COUNT(*) AS n FROM "${table}" t WHERE NOT EXISTS (SELECT 1 FROM clients c WHERE c.client_id = t.client_id)`,
      ).first<number>("n")) ?? 0;
  }
  return { clientsWithoutOneCurrentSecret: counts?.a ?? -1, clientsWithoutTenant: counts?.b ?? -1, orphans };
}

/** The report every suite expects from `dbInvariants()` (child tables discovered at run time). */
export async function cleanDbReport(): Promise<DbInvariantReport> {
  return {
    clientsWithoutOneCurrentSecret: 0,
    clientsWithoutTenant: 0,
    orphans: Object.fromEntries((await childTables()).map((t) => [t, 0])),
  };
}

/** Every KV revocation entry that names the client (client-wide or per user). */
export async function revocationKeysFor(clientId: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of [clientRevocationKey(clientId), consentRevocationKey(clientId, "")]) {
    const listed = await env.REVOCATIONS.list({ prefix });
    keys.push(...listed.keys.map((k) => k.name));
  }
  return keys.sort();
}

// Vite exposes VITE_* variables of the shell to the tests through import.meta.env.
const env_ = (import.meta as unknown as { env: Record<string, string | undefined> }).env;
let casesRun = 0;

/**
 * `encodeURIComponent` that never throws: a lone surrogate becomes the (invalid UTF-8) bytes of
 * its WTF-8 encoding, which is exactly the kind of input a path or query should survive.
 */
export function encodeAny(value: string): string {
  let out = "";
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) {
      out +=
        `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    } else {
      out += encodeURIComponent(ch);
    }
  }
  return out;
}

/** Counts generated cases across a file, for the figures in docs/reliability.md. */
export function countCase(): void {
  casesRun += 1;
}

/** Generated cases run so far in this file. */
export function casesSoFar(): number {
  return casesRun;
}

/**
 * fast-check parameters for one property: a fresh seed per run unless `VITE_FC_SEED` (and
 * optionally `VITE_FC_PATH`) replays a failure; `VITE_FC_SCALE` multiplies every `numRuns`.
 * The seed is printed before the property runs, so a CI log always says how to replay it.
 */
export function fcParams<T>(name: string, numRuns: number): fc.Parameters<T> {
  const seed = env_.VITE_FC_SEED ? Number(env_.VITE_FC_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const scale = env_.VITE_FC_SCALE ? Number(env_.VITE_FC_SCALE) : 1;
  const runs = Math.max(1, Math.round(numRuns * scale));
  const path = env_.VITE_FC_PATH;
  console.info(
    `[fast-check] ${name}: seed=${seed} numRuns=${runs} — replay: VITE_FC_SEED=${seed}${path ? ` VITE_FC_PATH=${path}` : ""} npx vitest run <file> -t "${name}"`,
  );
  return { seed, numRuns: runs, ...(path ? { path } : {}), endOnFailure: true };
}

/** Escapes lone surrogates and control characters so a message survives any transport. */
function printable(text: string): string {
  const asEscape = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
  let out = "";
  for (const ch of text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, asEscape)) {
    const code = ch.charCodeAt(0);
    out += (code < 0x20 && ch !== "\n" && ch !== "\t") || code === 0x7f ? asEscape(ch) : ch;
  }
  return out;
}

/**
 * `fc.assert` whose failure report is safe to ship to the test runner: vitest's worker channel
 * refuses strings with lone surrogates (which these properties generate on purpose), and a
 * counterexample holding a 1 MiB string would flood the log.
 */
export async function assertProperty<T>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  try {
    await fc.assert(property, params);
  } catch (error) {
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : undefined;
    const causeText = cause instanceof Error ? `${cause.message}\n${cause.stack ?? ""}` : cause ? String(cause) : "";
    const message = `${error instanceof Error ? error.message : String(error)}${causeText ? `\nCaused by: ${causeText}` : ""}`;
    const clipped = message.length > 20_000 ? `${message.slice(0, 20_000)}… (${message.length} chars)` : message;
    throw new Error(printable(clipped));
  }
}
