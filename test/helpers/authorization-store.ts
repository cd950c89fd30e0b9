import { env } from "cloudflare:workers";
import type { CodeInput } from "../../src/authorization/codes";
import type { AuthorizationDeps } from "../../src/authorization/deps";
import type { PendingRequestInput } from "../../src/authorization/pending-requests";
import { authorizationSettings } from "../../src/authorization/settings";
import { createDb } from "../../src/db/client";
import { faultyD1 } from "./faults";

/**
 * The authorization store (src/authorization/) in tests. Every test makes its own client and user
 * ids, so rows of other tests never matter (isolation by data); `deps` wraps the D1 binding afresh
 * each call — its own Drizzle handle, as a separate isolate would have — optionally with a fault plan.
 */

export const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
export const CODE_TTL_MS = 60_000;
export const REFRESH_TTL_MS = 2_592_000_000;

/** Store dependencies at `now` over a freshly wrapped D1 binding. */
export function storeDeps(now: number, plan: Parameters<typeof faultyD1>[1] = {}) {
  const { db, counter } = faultyD1(env.DB, plan);
  const deps: AuthorizationDeps = { db: createDb(db), now, authorization: authorizationSettings(env) };
  return { deps, counter };
}

/** A fresh owner: client, tenant and user no other test uses. */
export function newOwner() {
  return { clientId: crypto.randomUUID(), tenant: 7, userId: crypto.randomUUID() };
}

export function pendingInput(owner = newOwner()): PendingRequestInput {
  return {
    ...owner,
    redirectUri: "https://app.example/cb?x=1",
    scopes: ["files:read", "openid"],
    state: "st-1",
    codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    nonce: "n-1",
  };
}

export function codeInput(owner = newOwner()): CodeInput {
  return {
    ...owner,
    redirectUri: "https://app.example/cb",
    scopes: ["files:read", "openid"],
    codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    nonce: "n-1",
    authTime: T0 - 5_000,
  };
}

async function rows(sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare(sql)
    .bind(...params)
    .all<Record<string, unknown>>();
  return results;
}

export const storedRequest = async (id: string) =>
  (await rows("SELECT * FROM authorization_requests WHERE id = ?", id))[0];
export const storedCodesOf = (clientId: string) =>
  rows("SELECT * FROM authorization_codes WHERE client_id = ? ORDER BY created_on", clientId);
export const storedFamiliesOf = (clientId: string) =>
  rows("SELECT * FROM refresh_families WHERE client_id = ? ORDER BY created_on, family_id", clientId);
export const storedTokensOf = (familyId: string) =>
  rows("SELECT * FROM refresh_tokens WHERE family_id = ? ORDER BY created_on, token_hash", familyId);
/** Refresh tokens whose family row is missing: must never exist. */
export const orphanTokens = () =>
  rows(
    "SELECT t.* FROM refresh_tokens t LEFT JOIN refresh_families f ON f.family_id = t.family_id WHERE f.family_id IS NULL",
  );

/** Every row of the store's four tables as text, to scan for a plain secret. */
export async function everyStoredRow(): Promise<string> {
  const tables = ["authorization_requests", "authorization_codes", "refresh_families", "refresh_tokens"];
  const all = await Promise.all(tables.map((t) => rows(`SELECT * FROM ${t}`)));
  return JSON.stringify(all);
}
