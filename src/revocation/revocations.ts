/**
 * Typed access to the revocation lists in KV (SPEC §9). An entry says: every token of this
 * scope issued at or before `revoked_before` (epoch seconds) is revoked. Entries live as long
 * as the longest token can, so the lists never grow without bound. Entries are written only
 * through `revokeThenChange` (protocol.ts), in the order the client's revocation ledger decides;
 * this module holds the keys, values, the merge and the reads.
 */

/** The reasons of the client-wide and consent lists (what token status reports). */
export type ListRevocationReason = "client_deleted" | "tokens_revoked" | "consent_revoked";

export type RevocationReason =
  | ListRevocationReason
  /** Under `revoked:disabled:{client_id}` only: the client is disabled (any entry there means so). */
  | "client_disabled"
  /** Under `revoked:family:{family_id}` only: the refresh family is revoked (any entry there means so). */
  | "family_revoked";

export type RevocationEntry<Reason extends RevocationReason = RevocationReason> = {
  /** Tokens with `issued_at` ≤ this (epoch seconds) are revoked. */
  revoked_before: number;
  reason: Reason;
};

/** An entry of the client-wide or consent list. */
export type ListRevocationEntry = RevocationEntry<ListRevocationReason>;

/**
 * A revocation to record: the KV key and the entry to merge into it (written by `revokeThenChange`),
 * its own `expirationTtl` when not the lists' TTL (a family entry lives as long as its family), and
 * the client who owns the key (its revocation ledger orders every write of it: src/durable-objects/revocation-ledger.ts).
 */
export type RevocationIntent = { key: string; entry: RevocationEntry; ttlSeconds?: number; owner: string };

/** One operation's entry for one key in a revocation ledger, and when it expires (epoch seconds). */
export type LedgerContribution = { entry: RevocationEntry; expiresAt: number };

/**
 * What a key holds given every live contribution to it, oldest first: the latest `revoked_before`
 * (an entry never moves backwards), `client_deleted` if any contribution says so (token status relies
 * on it to answer for a client that no longer exists), else the newest reason; it lives as long as
 * the longest-lived contribution. `null` when there is none (the key is deleted).
 */
export function mergeContributions(contributions: readonly LedgerContribution[]): LedgerContribution | null {
  const newest = contributions.at(-1);
  if (newest === undefined) return null;
  const deleted = contributions.some((c) => c.entry.reason === "client_deleted");
  return {
    entry: {
      revoked_before: Math.max(...contributions.map((c) => c.entry.revoked_before)),
      reason: deleted ? "client_deleted" : newest.entry.reason,
    },
    expiresAt: Math.max(...contributions.map((c) => c.expiresAt)),
  };
}

/** KV's minimum `expirationTtl`. */
export const MIN_KV_TTL_SECONDS = 60;
export const DEFAULT_MAX_TOKEN_TTL_SECONDS = 60 * 24 * 60 * 60;

/** Every token issued to the client (delete, bulk delete, revoke-all). */
export const clientRevocationKey = (clientId: string): string => `revoked:client:${clientId}`;
/** Every token issued to the client for one user (consent revoked). */
export const consentRevocationKey = (clientId: string, userId: string): string =>
  `revoked:consent:${clientId}:${userId}`;

/**
 * The client is disabled (AS §7: at once, from KV alone). Written before D1's `enabled = 0`, deleted
 * after D1's `enabled = 1`; any value under the key means disabled. Lives for the lists' TTL: no
 * token can be issued to a disabled client, so once every token issued before the disable has
 * expired the entry has nothing left to stop.
 */
export const disabledClientKey = (clientId: string): string => `revoked:disabled:${clientId}`;
/**
 * One refresh family revoked (reuse, code replay, RFC 7009, consent gone at refresh): every access
 * token carrying its `sid` is inactive. Any value under the key means revoked. Lives until the last
 * access token the family can have issued has expired (`familyRevocationTtlSeconds`).
 */
export const familyRevocationKey = (familyId: string): string => `revoked:family:${familyId}`;

const epochSeconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * One access token, by its `jti`, revoked through RFC 7009 (AS §8). Its value is `{"revoked_at": s}`;
 * any value under the key means revoked. It lives until the token expires (+ 60 s of skew), not for
 * the lists' TTL: a jti is never reused.
 */
export const jtiRevocationKey = (jti: string): string => `revoked:jti:${jti}`;

/** What the KV lists say about one access token (`readTokenRevocations`). */
export type TokenRevocations = {
  client: ListRevocationEntry | null;
  consent: ListRevocationEntry | null;
  jtiRevoked: boolean;
  clientDisabled: boolean;
  familyRevoked: boolean;
};

/**
 * Everything an access token of (client, user) is judged by, in ONE KV bulk read (text, so a
 * malformed value counts as absent instead of failing the read): the client-wide entry, the consent
 * entry, whether its `jti` was revoked, whether its client is disabled and — for a token issued from
 * a refresh family (`familyId`) — whether that family was revoked: 5 keys, 4 without a family. For
 * the presence keys (jti, disabled, family) any value, even a malformed one, counts: fail closed.
 * A KV failure throws; the caller answers 503.
 */
export async function readTokenRevocations(
  kv: KVNamespace,
  token: { clientId: string; userId: string; jti: string; familyId?: string },
): Promise<TokenRevocations> {
  const clientKey = clientRevocationKey(token.clientId);
  const consentKey = consentRevocationKey(token.clientId, token.userId);
  const jtiKey = jtiRevocationKey(token.jti);
  const disabledKey = disabledClientKey(token.clientId);
  const familyKey = token.familyId === undefined ? undefined : familyRevocationKey(token.familyId);
  const keys = [clientKey, consentKey, jtiKey, disabledKey, ...(familyKey === undefined ? [] : [familyKey])];
  const values = await kv.get(keys, "text");
  const present = (key: string | undefined) => key !== undefined && (values.get(key) ?? null) !== null;
  const parse = (key: string) => {
    const value = values.get(key) ?? null;
    return value === null ? null : parseRevocation(value);
  };
  return {
    client: parse(clientKey),
    consent: parse(consentKey),
    jtiRevoked: present(jtiKey),
    clientDisabled: present(disabledKey),
    familyRevoked: present(familyKey),
  };
}

/** The client is being disabled (written before D1's change; `revokeThenChange`). */
export const clientDisabledIntent = (clientId: string, now: number): RevocationIntent => ({
  owner: clientId,
  key: disabledClientKey(clientId),
  entry: { revoked_before: epochSeconds(now), reason: "client_disabled" },
});

/**
 * How long a family's entry must live: until the family expires (no refresh after that) plus the
 * longest access token it can have issued just before (`accessTokenTtlMs`) and 60 s of verifier skew;
 * at least KV's minimum.
 */
export function familyRevocationTtlSeconds(familyExpiresOn: number, now: number, accessTokenTtlMs: number): number {
  const seconds = Math.ceil((familyExpiresOn - now + accessTokenTtlMs) / 1000) + 60;
  return Math.max(MIN_KV_TTL_SECONDS, seconds);
}

/** One refresh family is being revoked (written before D1's change; `revokeThenChange`). */
export const familyRevokedIntent = (
  family: { clientId: string; familyId: string },
  now: number,
  ttlSeconds: number,
): RevocationIntent => ({
  owner: family.clientId,
  key: familyRevocationKey(family.familyId),
  entry: { revoked_before: epochSeconds(now), reason: "family_revoked" },
  ttlSeconds,
});

/** Every token of the client issued so far, because the client is being deleted. */
export const clientDeletedIntent = (clientId: string, now: number): RevocationIntent => ({
  owner: clientId,
  key: clientRevocationKey(clientId),
  entry: { revoked_before: epochSeconds(now), reason: "client_deleted" },
});

/** Every token of the client issued so far, the client kept (revoke-all, disable with `revoke_tokens`). */
export const tokensRevokedIntent = (clientId: string, now: number): RevocationIntent => ({
  owner: clientId,
  key: clientRevocationKey(clientId),
  entry: { revoked_before: epochSeconds(now), reason: "tokens_revoked" },
});

/** Every token of the client issued to one user so far (consent revoked). */
export const consentRevokedIntent = (clientId: string, userId: string, now: number): RevocationIntent => ({
  owner: clientId,
  key: consentRevocationKey(clientId, userId),
  entry: { revoked_before: epochSeconds(now), reason: "consent_revoked" },
});

/**
 * The entry TTL: `MAX_TOKEN_TTL_SECONDS`, clamped to KV's 60 s minimum; the default when unset or
 * invalid; and never shorter than `longestTokenSeconds`, the longest lifetime of a token the
 * authorization server issues (AS §11: `MAX_TOKEN_TTL_SECONDS` must be ≥ the refresh TTL). An entry
 * that expired before the tokens it revokes would bring them back to life, so a smaller configured
 * value is a misconfiguration that is overridden, not obeyed (`revocationTtlConflict` names it).
 */
export function revocationTtlSeconds(configured: string | undefined, longestTokenSeconds = 0): number {
  return Math.max(configuredRevocationTtlSeconds(configured), Math.ceil(longestTokenSeconds));
}

/** `MAX_TOKEN_TTL_SECONDS` as read, before the floor of the longest token. */
function configuredRevocationTtlSeconds(configured: string | undefined): number {
  const n = Number(configured);
  if (!configured || !Number.isFinite(n) || n <= 0) return DEFAULT_MAX_TOKEN_TTL_SECONDS;
  return Math.max(MIN_KV_TTL_SECONDS, Math.floor(n));
}

/**
 * When `MAX_TOKEN_TTL_SECONDS` is shorter than the longest token, what to log (once per isolate)
 * about raising it; `undefined` when the configuration is consistent.
 */
export function revocationTtlConflict(
  configured: string | undefined,
  longestTokenSeconds: number,
): { configured_seconds: number; effective_seconds: number } | undefined {
  const read = configuredRevocationTtlSeconds(configured);
  const effective = revocationTtlSeconds(configured, longestTokenSeconds);
  return effective > read ? { configured_seconds: read, effective_seconds: effective } : undefined;
}

/** Reads one entry; a malformed value counts as absent. */
export async function readRevocation(kv: KVNamespace, key: string): Promise<ListRevocationEntry | null> {
  // Read as text: kv.get(key, "json") throws on a malformed value, which would turn a bad entry
  // (only ever written by hand) into a 503 for every check of that client.
  const value = await kv.get(key);
  return value === null ? null : parseRevocation(value);
}

/** A stored value as an entry; a malformed one counts as absent. */
export function parseRevocation(value: string): ListRevocationEntry | null {
  try {
    const parsed = JSON.parse(value) as ListRevocationEntry;
    return typeof parsed?.revoked_before === "number" ? parsed : null;
  } catch {
    return null;
  }
}
