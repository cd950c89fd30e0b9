import { eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { guardD1 } from "../db/errors";
import { type ClientRow, type ConsentRow, clientSecrets, clients, consents } from "../db/schema";
import { GUID_PATTERN } from "../lib/ids";
import { clientNotFound, HttpProblem, PROBLEM_TYPES, unavailable, validationFailed } from "../lib/problem";
import { clientRevocationKey, consentRevocationKey, readRevocation } from "../revocation/revocations";
import type { RecordConsentInput, TokenStatus, TokenStatusInput } from "../schemas/oauth2";
import type { ServiceDeps } from "./deps";
import { isLiveSecret, matchesLiveSecret, purgeExpiredSecrets } from "./secret-rotation";

/**
 * The authorization server's side of the client lifecycle (docs/token-lifecycle.md): check a
 * client's credentials, record a user's consent and answer whether a token is still valid. The
 * caller is a service, not a user, so nothing here writes an audit event.
 */

/** What the service routes use of the request's dependencies. */
type LifecycleDeps = Pick<ServiceDeps, "db" | "kv" | "now" | "pepper">;

const invalidClient = (): HttpProblem =>
  new HttpProblem({
    status: 401,
    type: PROBLEM_TYPES.invalidClient,
    detail: "invalid_client: unknown client or wrong secret.",
  });

/**
 * Checks a client's secret: the current one or a previous one inside its grace period. An unknown
 * client (including a malformed id) and a wrong secret get the same 401 `invalid_client` after the
 * same work (one HMAC, at least one constant-time comparison). Only a caller who proved the secret
 * learns that a client is disabled (403). Expired previous secrets seen on the way are purged.
 */
export async function authenticateClient(deps: LifecycleDeps, clientId: string, secret: string): Promise<ClientRow> {
  const { db } = deps;
  let client: ClientRow | undefined;
  let stored: { id: number; hash: string; expiresOn: number | null }[] = [];
  if (GUID_PATTERN.test(clientId)) {
    const id = clientId.toLowerCase();
    // One round trip for the client and its secrets.
    const [rows, secrets] = await guardD1(
      db.batch([
        db.select().from(clients).where(eq(clients.clientId, id)),
        db
          .select({ id: clientSecrets.id, hash: clientSecrets.hash, expiresOn: clientSecrets.expiresOn })
          .from(clientSecrets)
          .where(eq(clientSecrets.clientId, id)),
      ]),
    );
    client = rows[0];
    stored = client ? secrets : [];
  }
  const matched = await matchesLiveSecret(secret, stored, deps.now, deps.pepper);
  if (!client || !matched) throw invalidClient();
  if (stored.some((s) => !isLiveSecret(s, deps.now))) {
    // Housekeeping only: an expired secret already fails the check above, so a failed purge is harmless.
    await purgeExpiredSecrets(db, client.clientId, deps.now)
      .run()
      .catch(() => undefined);
  }
  if (!client.enabled) {
    throw new HttpProblem({ status: 403, type: PROBLEM_TYPES.clientDisabled, detail: "The client is disabled." });
  }
  return client;
}

/**
 * Records or replaces a user's consent to a client. The scopes must be a subset of the client's
 * (400 `ErrorInvalidScope`); an unknown client is 404 and a disabled one 403, since a disabled
 * client may get no new tokens. Users of any tenant may consent: every client is public.
 */
export async function recordConsent(deps: LifecycleDeps, input: RecordConsentInput): Promise<ConsentRow> {
  const { db } = deps;
  const client = await guardD1(
    db
      .select({ clientId: clients.clientId, scopes: clients.scopes, enabled: clients.enabled })
      .from(clients)
      .where(eq(clients.clientId, input.client_id))
      .get(),
  );
  if (!client) throw clientNotFound();
  if (!client.enabled) {
    throw new HttpProblem({ status: 403, type: PROBLEM_TYPES.clientDisabled, detail: "The client is disabled." });
  }
  const allowed = new Set(client.scopes);
  const extra = input.scopes.filter((s) => !allowed.has(s));
  if (extra.length > 0) {
    throw validationFailed([
      {
        field: "scopes",
        code: "ErrorInvalidScope",
        message: `scopes not granted to the client: ${extra.slice(0, 5).join(", ")}`,
      },
    ]);
  }
  const scopes = input.scopes.join(" ");
  // INSERT … SELECT writes nothing if the client was deleted or disabled since the read above, so
  // a lost race answers 404 instead of leaving a consent for a client that no longer takes them.
  const result = await guardD1(
    db.run(sql`INSERT INTO ${consents} (tenant, user_id, client_id, scopes, modified_on)
      SELECT ${input.tenant_id}, ${input.user_id}, ${clients.clientId}, ${scopes}, ${deps.now}
      FROM ${clients} WHERE ${clients.clientId} = ${input.client_id} AND ${clients.enabled} = 1
      ON CONFLICT (tenant, user_id, client_id) DO UPDATE SET scopes = excluded.scopes, modified_on = excluded.modified_on`),
  );
  if (result.meta.changes === 0) throw clientNotFound();
  return { tenant: input.tenant_id, userId: input.user_id, clientId: input.client_id, scopes, modifiedOn: deps.now };
}

/**
 * In-isolate memory of which client ids exist, so that the active path of `tokenStatus` needs no
 * D1. A stale "exists" is harmless: deleting a client writes a `client_deleted` revocation entry,
 * which is read on every check and wins. A stale "does not exist" is impossible in practice:
 * client ids are random UUIDs minted at creation, so nobody asks about an id before it exists.
 */
const EXISTENCE_TTL_MS = { known: 5 * 60_000, unknown: 60_000 } as const;
const EXISTENCE_MAX_ENTRIES = 10_000;
const existence = new Map<string, { exists: boolean; until: number }>();

async function clientExists(db: Database, clientId: string, now: number): Promise<boolean> {
  const cached = existence.get(clientId);
  if (cached && cached.until > now) return cached.exists;
  const row = await guardD1(
    db.select({ id: clients.clientId }).from(clients).where(eq(clients.clientId, clientId)).get(),
  );
  const exists = row !== undefined;
  existence.delete(clientId);
  // Maps iterate in insertion order: dropping the first key evicts the oldest entry.
  if (existence.size >= EXISTENCE_MAX_ENTRIES) existence.delete(existence.keys().next().value as string);
  existence.set(clientId, { exists, until: now + (exists ? EXISTENCE_TTL_MS.known : EXISTENCE_TTL_MS.unknown) });
  return exists;
}

/**
 * Whether a token identified by (client, user, issued_at) is still valid, from the revocation
 * lists of SPEC §9: two KV reads in parallel, plus a D1 lookup only the first time an isolate sees
 * a client id. A client-wide entry wins over a consent entry. "active" means "not revoked": the
 * token's own expiry is the resource server's to check. KV is eventually consistent, so a
 * revocation made elsewhere can take up to ~60 s to be seen here. If KV cannot be read the answer
 * is 503, never a guess.
 */
export async function tokenStatus(deps: LifecycleDeps, input: TokenStatusInput): Promise<TokenStatus> {
  let clientEntry: Awaited<ReturnType<typeof readRevocation>>;
  let consentEntry: Awaited<ReturnType<typeof readRevocation>>;
  try {
    [clientEntry, consentEntry] = await Promise.all([
      readRevocation(deps.kv, clientRevocationKey(input.client_id)),
      readRevocation(deps.kv, consentRevocationKey(input.client_id, input.user_id)),
    ]);
  } catch (error) {
    throw unavailable("The revocation list could not be read.", error);
  }
  if (clientEntry) {
    if (input.issued_at <= clientEntry.revoked_before) return { active: false, reason: clientEntry.reason };
    // A token "issued" after its client was deleted was never issued by anyone we know.
    if (clientEntry.reason === "client_deleted") return { active: false, reason: "unknown_client" };
  }
  if (consentEntry && input.issued_at <= consentEntry.revoked_before) {
    return { active: false, reason: "consent_revoked" };
  }
  if (!(await clientExists(deps.db, input.client_id, deps.now))) return { active: false, reason: "unknown_client" };
  return { active: true };
}
