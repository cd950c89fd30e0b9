import { asc, inArray, lte } from "drizzle-orm";
import { guardD1 } from "../db/errors";
import { authorizationCodes, authorizationRequests, refreshFamilies } from "../db/schema";
import type { AuthorizationDeps } from "./deps";

/** How many rows `purgeExpired` deleted from each table. */
export type PurgeReport = { requests: number; codes: number; families: number };

/**
 * Deletes expired state for the Cron Trigger, at most `limit` rows per table per run, oldest first
 * (each `expires_on` index serves the range); more wait for the next run. Pending requests go at
 * expiry. Codes stay until the longest family they could have started has expired too, so a replay
 * is recognised (and revokes that family) for as long as revoking it means anything. A family goes
 * at its expiry, and its tokens with it (`ON DELETE CASCADE`); by then every token in it has expired.
 */
export async function purgeExpired(deps: AuthorizationDeps, limit: number): Promise<PurgeReport> {
  const { db, now } = deps;
  const codesBefore = now - deps.authorization.refreshTokenTtlMs;
  const [requests, codes, families] = await guardD1(
    db.batch([
      db
        .delete(authorizationRequests)
        .where(
          inArray(
            authorizationRequests.id,
            db
              .select({ id: authorizationRequests.id })
              .from(authorizationRequests)
              .where(lte(authorizationRequests.expiresOn, now))
              .orderBy(asc(authorizationRequests.expiresOn))
              .limit(limit),
          ),
        )
        .returning({ id: authorizationRequests.id }),
      db
        .delete(authorizationCodes)
        .where(
          inArray(
            authorizationCodes.codeHash,
            db
              .select({ codeHash: authorizationCodes.codeHash })
              .from(authorizationCodes)
              .where(lte(authorizationCodes.expiresOn, codesBefore))
              .orderBy(asc(authorizationCodes.expiresOn))
              .limit(limit),
          ),
        )
        .returning({ codeHash: authorizationCodes.codeHash }),
      db
        .delete(refreshFamilies)
        .where(
          inArray(
            refreshFamilies.familyId,
            db
              .select({ familyId: refreshFamilies.familyId })
              .from(refreshFamilies)
              .where(lte(refreshFamilies.expiresOn, now))
              .orderBy(asc(refreshFamilies.expiresOn))
              .limit(limit),
          ),
        )
        .returning({ familyId: refreshFamilies.familyId }),
    ]),
  );
  return { requests: requests.length, codes: codes.length, families: families.length };
}
