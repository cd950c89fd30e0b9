import { and, eq, isNotNull, isNull, lte, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import type { Database } from "../db/client";
import { guardD1, isForeignKeyViolation, isUniqueViolation } from "../db/errors";
import { type ClientRow, clientSecrets, clients } from "../db/schema";
import { clientNotFound, HttpProblem, PROBLEM_TYPES } from "../lib/problem";
import { AUDIT_ACTIONS, auditClientEvents } from "./audit";
import { assertManageable, manageableClientId } from "./client-access";
import { auditContextOf, type ServiceDeps } from "./deps";
import { generateClientSecret, hashClientSecret, SECRET_HASH_VERSION, timingSafeEqualStrings } from "./secrets";

/**
 * Secret rotation with a grace period (docs/token-lifecycle.md). A client has exactly one current
 * secret (`expires_on` NULL, enforced by a partial unique index) and up to five previous secrets,
 * each with its own expiry in milliseconds. A previous secret authenticates while `now <
 * expires_on`: it stops working at the instant it expires, whether or not its row has been purged
 * yet. Expired rows are purged by the next rotation and by the next authentication of the client.
 */

/** At most this many previous secrets may be live at once. */
export const MAX_PREVIOUS_SECRETS = 5;

export type StoredSecret = { hash: string; expiresOn: number | null };

/** Whether a stored secret may authenticate at `now` (ms): the current one, or a previous one not yet expired. */
export function isLiveSecret(secret: StoredSecret, now: number): boolean {
  return secret.expiresOn === null || secret.expiresOn > now;
}

/** What a rotation needs to know of a client's secrets at `now`. */
export type RotationState = {
  /** The id of the current secret's row (there is exactly one; `null` only if that invariant broke). */
  currentSecretId: number | null;
  /** Previous secrets still inside their grace period. */
  livePrevious: number;
  /** When the first of those expires (ms), or `null` when there is none. */
  earliestLiveExpiry: number | null;
};

/**
 * The columns of `RotationState` as correlated subqueries on `clients`, so that a rotation reads
 * its client and the client's secrets in one statement (one D1 round trip, like a plain lookup).
 */
export function rotationStateColumns(now: number) {
  const ofClient = sql`${clientSecrets.clientId} = ${clients.clientId}`;
  return {
    currentSecretId: sql<
      number | null
    >`(SELECT ${clientSecrets.id} FROM ${clientSecrets} WHERE ${ofClient} AND ${clientSecrets.expiresOn} IS NULL)`,
    livePrevious: sql<number>`(SELECT COUNT(*) FROM ${clientSecrets} WHERE ${ofClient} AND ${clientSecrets.expiresOn} > ${now})`,
    earliestLiveExpiry: sql<
      number | null
    >`(SELECT MIN(${clientSecrets.expiresOn}) FROM ${clientSecrets} WHERE ${ofClient} AND ${clientSecrets.expiresOn} > ${now})`,
  };
}

/**
 * A well-formed hash that no secret produces in practice, compared against when a client has no
 * live secret (or does not exist), so that a miss costs the same HMAC and comparison as a hit.
 */
const DECOY_HASH = `${SECRET_HASH_VERSION}$${"A".repeat(43)}`;

/**
 * Whether `secret` matches any live stored secret. Hashes once, then compares against every live
 * hash in constant time without stopping at the first match, and against a decoy when there is
 * none, so the timing class is the same for an unknown client, a wrong secret and a right one.
 */
export async function matchesLiveSecret(
  secret: string,
  stored: StoredSecret[],
  now: number,
  pepper: string,
): Promise<boolean> {
  const hash = await hashClientSecret(secret, pepper);
  const live = stored.filter((s) => isLiveSecret(s, now)).map((s) => s.hash);
  let matched = false;
  for (const candidate of live.length > 0 ? live : [DECOY_HASH]) {
    matched = timingSafeEqualStrings(hash, candidate) || matched;
  }
  return matched && live.length > 0;
}

/** Deletes the client's previous secrets that have expired at `now`. */
export function purgeExpiredSecrets(db: Database, clientId: string, now: number) {
  return db
    .delete(clientSecrets)
    .where(
      and(eq(clientSecrets.clientId, clientId), isNotNull(clientSecrets.expiresOn), lte(clientSecrets.expiresOn, now)),
    );
}

/**
 * The statements of one rotation, for a single `db.batch` (atomic): purge expired secrets, then
 * either drop the current secret (grace 0, DocSpace's immediate invalidation) or demote it to a
 * previous secret expiring at `now + grace`, then insert the new current secret.
 *
 * The demotion re-checks the five-previous cap inside the batch, so two concurrent rotations
 * cannot exceed it: when the cap is reached the current row stays current, the insert then hits
 * the one-current-secret unique index and the whole batch rolls back (`isUniqueViolation`).
 *
 * With `currentSecretId` (the current row the caller read), only that row is retired. A rotation
 * that lost a race therefore retires nothing, hits the same unique index and rolls back, instead of
 * retiring the secret the winner has just handed out: concurrent rotations behave as if serial.
 */
export function rotationStatements(
  db: Database,
  clientId: string,
  newHash: string,
  now: number,
  gracePeriodSeconds: number,
  currentSecretId?: number,
) {
  const isCurrent = and(
    eq(clientSecrets.clientId, clientId),
    isNull(clientSecrets.expiresOn),
    currentSecretId === undefined ? undefined : eq(clientSecrets.id, currentSecretId),
  );
  const retireCurrent =
    gracePeriodSeconds === 0
      ? db.delete(clientSecrets).where(isCurrent)
      : db
          .update(clientSecrets)
          .set({ expiresOn: now + gracePeriodSeconds * 1000 })
          .where(
            and(
              isCurrent,
              sql`(SELECT COUNT(*) FROM ${clientSecrets} AS live WHERE live.client_id = ${clientId} AND live.expires_on > ${now}) < ${MAX_PREVIOUS_SECRETS}`,
            ),
          );
  return [
    purgeExpiredSecrets(db, clientId, now),
    retireCurrent,
    db.insert(clientSecrets).values({ clientId, hash: newHash, createdOn: now, expiresOn: null }),
  ] as const;
}

/** The 409 for a rotation that lost a race with another rotation of the same client. */
function concurrentRotation(): HttpProblem {
  return new HttpProblem({
    status: 409,
    type: PROBLEM_TYPES.conflict,
    detail: "Another rotation of this client's secret finished first; its secret is current. Retry to rotate again.",
  });
}

/** The 409 for a rotation with a grace period while five previous secrets are still live. */
function tooManyPreviousSecrets(earliestExpiry: number | null): HttpProblem {
  const until = earliestExpiry === null ? "" : ` The earliest expires at ${new Date(earliestExpiry).toISOString()}.`;
  return new HttpProblem({
    status: 409,
    type: PROBLEM_TYPES.conflict,
    detail: `At most ${MAX_PREVIOUS_SECRETS} previous secrets may be live at once; rotate with grace_period=0 or wait.${until}`,
  });
}

/** What a rotation needs of its client: the id, and who may manage it. */
type RotatedClient = Pick<ClientRow, "clientId" | "tenant" | "createdBy">;

/**
 * As `findManageableClient`, with the state of the client's secrets read in the same statement.
 * Only the columns the rotation uses are read: decoding the other 16 (three of them JSON) was a
 * measurable share of the request (BENCHMARKS.md, regenerate).
 */
async function findClientForRotation(
  db: Database,
  principal: Principal,
  clientId: string,
  now: number,
): Promise<{ client: RotatedClient } & RotationState> {
  const id = manageableClientId(principal, clientId);
  const row = await guardD1(
    db
      .select({
        clientId: clients.clientId,
        tenant: clients.tenant,
        createdBy: clients.createdBy,
        ...rotationStateColumns(now),
      })
      .from(clients)
      .where(eq(clients.clientId, id))
      .get(),
  );
  if (!row) throw clientNotFound();
  const { currentSecretId, livePrevious, earliestLiveExpiry, ...client } = row;
  assertManageable(principal, client);
  return { client, currentSecretId, livePrevious, earliestLiveExpiry };
}

/**
 * regenerateSecret (SPEC §4.4): issues a new secret. With grace 0 (the default) the old one stops
 * authenticating at once (DocSpace's behaviour); with a grace period it keeps authenticating until
 * `now + grace`, and that expiry is returned. At most five previous secrets may be live at once
 * (409 otherwise); expired previous secrets are purged in the same batch.
 */
export async function regenerateSecret(
  deps: ServiceDeps,
  principal: Principal,
  clientId: string,
  gracePeriodSeconds = 0,
): Promise<{ secret: string; previousSecretExpiresAt: number | null }> {
  const { db } = deps;
  const graceful = gracePeriodSeconds > 0;
  const { client, currentSecretId, livePrevious, earliestLiveExpiry } = await findClientForRotation(
    db,
    principal,
    clientId,
    deps.now,
  );
  if (graceful && livePrevious >= MAX_PREVIOUS_SECRETS) throw tooManyPreviousSecrets(earliestLiveExpiry);
  const secret = generateClientSecret();
  const hash = await hashClientSecret(secret, deps.pepper);
  try {
    await db.batch([
      ...rotationStatements(db, client.clientId, hash, deps.now, gracePeriodSeconds, currentSecretId ?? undefined),
      db
        .update(clients)
        .set({ modifiedOn: deps.now, modifiedBy: principal.userId })
        .where(eq(clients.clientId, client.clientId)),
      auditClientEvents(
        db,
        auditContextOf(principal, deps.request),
        AUDIT_ACTIONS.regenerate,
        client.clientId,
        deps.now,
      ),
    ]);
  } catch (error) {
    // Deleted between our read and our batch: nothing was changed, and the client is gone.
    if (isForeignKeyViolation(error)) throw clientNotFound();
    if (isUniqueViolation(error)) {
      // Either a concurrent rotation retired the secret we read, or (with a grace period) it filled
      // the last previous-secret slot. Either way nothing was changed; a fresh read tells which.
      const now = await findClientForRotation(db, principal, clientId, deps.now);
      if (graceful && now.livePrevious >= MAX_PREVIOUS_SECRETS) throw tooManyPreviousSecrets(now.earliestLiveExpiry);
      throw concurrentRotation();
    }
    return guardD1(Promise.reject(error));
  }
  return { secret, previousSecretExpiresAt: graceful ? deps.now + gracePeriodSeconds * 1000 : null };
}
