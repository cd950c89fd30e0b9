import { RpcTarget } from "cloudflare:workers";
import type { LedgerWrite, RevocationLedger, RevocationWriter } from "../durable-objects/revocation-ledger";
import { describeError } from "../lib/describe-error";
import { unavailable } from "../lib/problem";
import { disabledClientKey, jtiRevocationKey, MIN_KV_TTL_SECONDS, type RevocationIntent } from "./revocations";

/**
 * The one implementation of the rule this product is built on (SPEC §9, docs/architecture.md):
 * **write the KV revocation first, then change D1, and take the revocation back if D1 refuses.**
 *
 * 1. read what every key holds now (KV bulk gets, 100 keys a call);
 * 2. hand each client's entries to that client's revocation ledger (a Durable Object), which records
 *    them under this operation's id and writes the merged entries to KV through this request's binding,
 *    in order, one write of a key at a time; if any write or ledger call fails, take back what was recorded
 *    and answer 503 — D1 was not touched;
 * 3. run the D1 change; if it throws, take the entries back and rethrow — nothing is half-applied.
 *
 * Why a ledger: KV has no compare-and-swap. Two requests that each read a key, merge and write can
 * lose one revocation (the weaker write lands last), and undoing by value can remove a twin entry
 * another request still needs. The ledger keeps each operation's contribution and orders the writes,
 * so the value that lands last merges every contribution, and an undo withdraws only its own
 * (src/durable-objects/revocation-ledger.ts; test/concurrency/revocation-races.test.ts).
 *
 * Every operation that revokes (single and bulk deletes, revoke consent, disabling a client — with
 * or without `revoke_tokens` —, revoke-all-tokens, and the revocation of one refresh family: reuse,
 * code replay, RFC 7009, consent gone at refresh) goes through `revokeThenChange`; nothing else
 * writes or undoes revocation entries, except `revokeAccessTokenId` below (one token's presence key,
 * written once, with no D1 change to pair it with and nothing to merge) and `clearClientDisabled`
 * (after D1 enabled the client again, through the same ledger).
 */

/**
 * How many ledgers share the clients. A client's keys always go to the same ledger, so this number
 * must never change on a deployed namespace: keys would move to a ledger that has not seen their
 * contributions (it would learn the current KV values, but could undo an operation in flight wrongly).
 */
const LEDGER_SHARDS = 32;

/** The ledger that orders the writes of `owner`'s keys (a client id): FNV-1a of the id, modulo the shards. */
export function ledgerNameOf(owner: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < owner.length; i++) hash = Math.imul(hash ^ owner.charCodeAt(i), 0x01000193) >>> 0;
  return `revocations-${hash % LEDGER_SHARDS}`;
}

/** Keys per KV bulk get (the Workers limit). */
const KV_BULK_GET_KEYS = 100;
/** Ledger calls in flight at once: enough to hide latency, few enough to stay polite. */
const LEDGER_CONCURRENCY = 8;

export type RevocationStore = {
  kv: KVNamespace;
  /** The revocation ledgers: each the serialising writer of its clients' keys (`ledgerNameOf`). */
  ledgers: DurableObjectNamespace<RevocationLedger>;
  /** Every entry's `expirationTtl` (the longest token lifetime, ≥ 60 s). */
  ttlSeconds: number;
  /** The operation's clock (epoch milliseconds). */
  now: number;
};

/**
 * This request's KV binding as the ledgers reach it over RPC: the ledger orders the writes, the
 * request performs them (its KV operations, its failures). A failure is returned as its description
 * rather than thrown, so it crosses RPC as a value (a rejection here would also be logged by the
 * runtime as uncaught); the ledger turns it back into an error.
 */
class KvWriter extends RpcTarget implements RevocationWriter {
  constructor(private readonly kv: KVNamespace) {
    super();
  }
  async put(key: string, value: string, ttlSeconds: number): Promise<string | null> {
    return this.kv.put(key, value, { expirationTtl: ttlSeconds }).then(
      () => null,
      (error: unknown) => describeError(error),
    );
  }
  async delete(key: string): Promise<string | null> {
    return this.kv.delete(key).then(
      () => null,
      (error: unknown) => describeError(error),
    );
  }
}

/**
 * Records `intents` in KV, then runs `change` (the D1 side of the operation). Fails closed: a KV or
 * ledger failure answers 503 before `change` runs; a failure of `change` takes the entries back and
 * is rethrown. With no intents, `change` simply runs. `failureDetail` is the 503's detail.
 */
export async function revokeThenChange<T>(
  store: RevocationStore,
  intents: readonly RevocationIntent[],
  change: () => Promise<T>,
  failureDetail = "The revocation list could not be written; nothing was changed.",
): Promise<T> {
  if (intents.length === 0) return change();
  const op = crypto.randomUUID();
  const writer = new KvWriter(store.kv);
  const ledgers = await recordRevocations(store, op, writer, intents, failureDetail);
  try {
    return await change();
  } catch (error) {
    await undoRevocations(store, op, writer, ledgers);
    throw error;
  }
}

/** Steps 1–2: every ledger records its client's entries, all or (after an undo) none; returns the ledgers. */
async function recordRevocations(
  store: RevocationStore,
  op: string,
  writer: KvWriter,
  intents: readonly RevocationIntent[],
  failureDetail: string,
): Promise<string[]> {
  const groups = new Map<string, LedgerWrite[]>();
  const attempted: string[] = [];
  try {
    const previous = await readPrevious(
      store.kv,
      intents.map((i) => i.key),
    );
    for (const { owner, key, entry, ttlSeconds } of intents) {
      const ledger = ledgerNameOf(owner);
      const writes = groups.get(ledger) ?? [];
      writes.push({ key, entry, ttlSeconds: ttlSeconds ?? store.ttlSeconds, previous: previous.get(key) ?? null });
      groups.set(ledger, writes);
    }
    await inBoundedParallel([...groups], async ([ledger, writes]) => {
      attempted.push(ledger);
      throwIfFailed(await store.ledgers.getByName(ledger).record(op, writes, writer, store.now));
    });
  } catch (error) {
    await undoRevocations(store, op, writer, attempted);
    throw unavailable(failureDetail, error);
  }
  return [...groups.keys()];
}

/**
 * Best-effort undo after the D1 change was refused (or a ledger failed), so that the operation is not
 * half-applied: each ledger withdraws this operation's contributions only, so a revocation another
 * request recorded meanwhile — even an identical one — stays. If the undo fails, an entry may outlive
 * the refused change: that revokes tokens early, never keeps one alive.
 */
async function undoRevocations(store: RevocationStore, op: string, writer: KvWriter, ledgers: string[]): Promise<void> {
  await inBoundedParallel(ledgers, async (ledger) =>
    throwIfFailed(await store.ledgers.getByName(ledger).undo(op, writer, store.now)),
  ).catch(() => {
    // Logged by the caller's 503 or rethrown error; see the doc comment for why this is safe.
  });
}

/**
 * Runs `task` over `items` with at most LEDGER_CONCURRENCY in flight; after a failure no new task
 * starts, every started one settles, then the first failure is thrown.
 */
async function inBoundedParallel<T>(items: readonly T[], task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LEDGER_CONCURRENCY, items.length) }, worker));
  if (failed !== undefined) throw failed.error;
}

/** A ledger's answer: `null` when done, else the failure it describes, thrown here (see `RevocationLedger.record`). */
function throwIfFailed(failure: string | null): void {
  if (failure !== null) throw new Error(`revocation ledger: ${failure}`);
}

/** What each key holds now: one plain get for a single key, bulk gets of 100 otherwise. */
async function readPrevious(kv: KVNamespace, keys: string[]): Promise<Map<string, string | null>> {
  const [only] = keys;
  if (keys.length === 1 && only !== undefined) return new Map([[only, await kv.get(only)]]);
  const previous = new Map<string, string | null>();
  for (let i = 0; i < keys.length; i += KV_BULK_GET_KEYS) {
    for (const [key, value] of await kv.get(keys.slice(i, i + KV_BULK_GET_KEYS), "text")) previous.set(key, value);
  }
  return previous;
}

/**
 * Revokes one access token by its `jti` (RFC 7009, AS §8): the entry lives until the token expires
 * (`expiresAt`, epoch seconds) plus 60 s of verifier skew, and at least KV's minimum TTL. There is no
 * D1 side, so nothing to undo; a KV failure is a 503, so the caller is never told a token was
 * revoked when it was not.
 */
export async function revokeAccessTokenId(kv: KVNamespace, jti: string, expiresAt: number, now: number): Promise<void> {
  const nowSeconds = Math.floor(now / 1000);
  const ttl = Math.max(MIN_KV_TTL_SECONDS, expiresAt - nowSeconds + 60);
  try {
    await kv.put(jtiRevocationKey(jti), JSON.stringify({ revoked_at: nowSeconds }), { expirationTtl: ttl });
  } catch (error) {
    throw unavailable("The revocation could not be recorded.", error);
  }
}

/**
 * Re-enabling a client: removes its `revoked:disabled:` entry through its ledger (so the delete is
 * ordered after any disable still being written), called only AFTER D1's `enabled = 1` was
 * committed — never before, so that no failure can leave a client disabled in D1 but enabled in KV.
 * If the delete fails the client stays disabled to introspection (fail closed) and the caller gets a
 * 503 saying so; enabling again repairs it (the delete is idempotent).
 */
export async function clearClientDisabled(store: RevocationStore, clientId: string): Promise<void> {
  try {
    await store.ledgers
      .getByName(ledgerNameOf(clientId))
      .clear([disabledClientKey(clientId)], new KvWriter(store.kv), store.now)
      .then(throwIfFailed);
  } catch (error) {
    throw unavailable(
      "The client was enabled, but its tokens could not be made active again; enable it again to finish.",
      error,
    );
  }
}
