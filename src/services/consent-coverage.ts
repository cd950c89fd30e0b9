import { and, eq } from "drizzle-orm";
import { guardD1 } from "../db/errors";
import { consents } from "../db/schema";
import type { ServiceDeps } from "./deps";

/**
 * What a stored consent covers (AS §4 step 5, §5.2, §6): the one place the authorization endpoint
 * and the token endpoint read a user's consent to a client. Consents are stored per (tenant, user,
 * client) with space-separated scopes (the table `GET /clients/consents` lists).
 */

/** The only scope that needs no stored consent (AS §4 step 5). */
export const OPENID = "openid";

export const isOnlyOpenId = (scopes: readonly string[]) => scopes.length === 1 && scopes[0] === OPENID;

/** Whose consent to which client. */
export type ConsentOwner = { tenant: number; userId: string; clientId: string };

/** The consent of (tenant, user, client) as its list of scopes, or undefined when there is none. */
export async function findConsent(deps: Pick<ServiceDeps, "db">, owner: ConsentOwner): Promise<string[] | undefined> {
  const row = await guardD1(
    deps.db
      .select({ scopes: consents.scopes })
      .from(consents)
      .where(
        and(
          eq(consents.tenant, owner.tenant),
          eq(consents.userId, owner.userId),
          eq(consents.clientId, owner.clientId),
        ),
      )
      .get(),
  );
  return row?.scopes.split(" ").filter((s) => s !== "");
}

/** Whether the user's stored consent covers every scope of `scopes`; an `openid`-only request needs none. */
export async function consentCovers(
  deps: Pick<ServiceDeps, "db">,
  owner: ConsentOwner,
  scopes: readonly string[],
): Promise<boolean> {
  if (isOnlyOpenId(scopes)) return true;
  const consented = await findConsent(deps, owner);
  if (!consented) return false;
  const granted = new Set(consented);
  return scopes.every((s) => granted.has(s));
}
