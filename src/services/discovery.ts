import { asc } from "drizzle-orm";
import type { Database } from "../db/client";
import { guardD1 } from "../db/errors";
import { scopes } from "../db/schema";
import { issuerFor } from "../tokens/issuer";
import { OPENID } from "./consent-coverage";

/**
 * What the authorization server's metadata (AS §2; RFC 8414, OpenID Connect Discovery 1.0) depends
 * on: the request's origin and the `scopes` table. The document itself is rendered by
 * schemas/metadata.ts.
 *
 * DocSpace builds a fresh configuration manager on every API call and so reads this document every
 * time (AS §2): the scope list is kept per isolate for `SCOPE_CACHE_MS`, so a warm read touches no
 * storage. A scope added to the table shows up within that time (plus the document's HTTP cache).
 */

/** How long an isolate trusts the scope list it read. */
export const SCOPE_CACHE_MS = 60_000;

/** What the metadata needs: the database (for scopes) and the clock (for the cache). */
export type DiscoveryDeps = { db: Database; now: number };

type ScopeEntry = { names: string[]; loadedAt: number };

/** Per database handle, so that a test's wrapped binding starts cold (as src/keys/key-cache.ts). */
const scopeCache = new WeakMap<Database, ScopeEntry>();

/**
 * `scopes_supported`: every scope in the `scopes` table, `openid` first (added when the table lacks
 * it), then by name. Read from D1 at most once per `SCOPE_CACHE_MS` per isolate; a clock that went
 * back counts as stale. A D1 failure is a 503 (`guardD1`) and is not cached.
 */
export async function supportedScopes(deps: DiscoveryDeps): Promise<string[]> {
  const cached = scopeCache.get(deps.db);
  if (cached && deps.now >= cached.loadedAt && deps.now < cached.loadedAt + SCOPE_CACHE_MS) return cached.names;
  const rows = await guardD1(deps.db.select({ name: scopes.name }).from(scopes).orderBy(asc(scopes.name)).all());
  // `openid` is always advertised: the ID-token flow (AS §5.4) is keyed on it, whatever the table holds.
  const names = [OPENID, ...rows.map((row) => row.name).filter((name) => name !== OPENID)];
  scopeCache.set(deps.db, { names, loadedAt: deps.now });
  return names;
}

/** What the metadata document is built from (schemas/metadata.ts renders it). */
export type AuthorizationServerFacts = { issuer: string; scopes: string[] };

/** The issuer for a request to `origin` (scheme, host and port; AS §2) and the scopes it supports. */
export async function authorizationServerFacts(deps: DiscoveryDeps, origin: string): Promise<AuthorizationServerFacts> {
  return { issuer: issuerFor(origin), scopes: await supportedScopes(deps) };
}
