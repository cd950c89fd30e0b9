import { DurableObject } from "cloudflare:workers";
import {
  type LedgerContribution,
  MIN_KV_TTL_SECONDS,
  mergeContributions,
  parseRevocation,
} from "../revocation/revocations";

/**
 * One revocation to record, as the caller sends it: the KV key, the entry, how long it must live, and
 * what the key held when the caller read it (used once, to learn a key this ledger has not seen yet).
 */
export type LedgerWrite = {
  key: string;
  entry: LedgerContribution["entry"];
  ttlSeconds: number;
  previous: string | null;
};

/**
 * How the ledger reaches KV: the calling Worker's binding, passed over RPC (src/revocation/protocol.ts).
 * The ledger decides the order of the writes; the caller's own binding performs them, so a failure is
 * that caller's 503 and counts against that request's KV operations.
 */
export interface RevocationWriter {
  /** `null` when written; otherwise what went wrong (a failure crosses RPC as a value, not a rejection). */
  put(key: string, value: string, ttlSeconds: number): Promise<string | null>;
  delete(key: string): Promise<string | null>;
}

/** The contributions of a seeded key's prior KV value carry this operation id. */
const SEED_OP = "~kv";

/**
 * The serialising writer of the revocation lists (SPEC §9, AS §7). Every KV key of a client —
 * `revoked:client:`, `revoked:consent:{client}:*`, `revoked:disabled:` and the `revoked:family:` keys
 * of its refresh families — belongs to one ledger, chosen from the client id (`ledgerNameOf` in
 * src/revocation/protocol.ts: a fixed number of shards, so a bulk delete makes a few calls, not one per client).
 *
 * KV has no compare-and-swap, so two requests merging into the same key by read-then-write can lose
 * one: the weaker write may land last, and undoing a failed operation by value may remove a twin
 * that another request needed. Here instead:
 * - each operation's entries are **contributions** stored in SQLite under the operation's id; a key's
 *   value is the merge of its live contributions (`mergeContributions`): never weaker than any of them;
 * - every KV write goes through one queue per object, and each write stores the merge as it is when the
 *   write starts, so the last write to land always carries every contribution recorded before it;
 * - an undo removes only its own operation's contributions and writes the merge of the rest.
 * A key's KV value before its first contribution here (written by an earlier version, or by hand) is
 * kept as a contribution of its own, so no undo can remove what was there before.
 */
export class RevocationLedger extends DurableObject<Env> {
  /** The write queue: each flush starts after the previous one settled (a flush never rejects). */
  private tail: Promise<unknown> = Promise.resolve();
  /** The cleanup alarm as last seen by this instance; `undefined` until read from storage. */
  private alarmAt: number | null | undefined;
  /** What this instance last stored under each key (value and expiry), so a write already done is not repeated. */
  private readonly stored = new Map<string, string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.createSchema();
  }

  private createSchema(): void {
    this.ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS contributions (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      key TEXT NOT NULL,
      op TEXT NOT NULL,
      revoked_before INTEGER NOT NULL,
      reason TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      UNIQUE (key, op)
    )`);
  }

  /**
   * Records `writes` as operation `op`'s contributions and stores the merged entries in KV. Resolves
   * once every key's KV value includes them (`null`); if a write fails, the contributions are
   * withdrawn, the keys are written back without them (best effort) and the failure is returned.
   *
   * Every method answers a failure as its description instead of throwing: a rejected RPC method is
   * also logged by the runtime as an uncaught exception, and KV refusing a write is an expected
   * outcome (the caller's 503), not a crash. The caller throws (`src/revocation/protocol.ts`).
   */
  async record(op: string, writes: LedgerWrite[], writer: RevocationWriter, now: number): Promise<string | null> {
    const nowSeconds = Math.floor(now / 1000);
    this.dropExpired(nowSeconds);
    for (const { key, entry, ttlSeconds, previous } of writes) {
      const expiresAt = nowSeconds + Math.max(MIN_KV_TTL_SECONDS, ttlSeconds);
      if (!this.knows(key)) {
        const prior = previous === null ? null : parseRevocation(previous);
        if (prior) this.insert(key, SEED_OP, prior, expiresAt);
      }
      this.insert(key, op, entry, expiresAt);
    }
    await this.scheduleCleanup();
    const keys = writes.map((w) => w.key);
    const failure = await this.flush(keys, writer, nowSeconds);
    if (failure !== null) {
      this.ctx.storage.sql.exec("DELETE FROM contributions WHERE op = ?", op);
      await this.flush(keys, writer, nowSeconds);
    }
    return failure;
  }

  /** Withdraws operation `op`'s contributions (its D1 change was refused) and rewrites its keys without them. */
  async undo(op: string, writer: RevocationWriter, now: number): Promise<string | null> {
    const keys = this.ctx.storage.sql
      .exec<{ key: string }>("SELECT DISTINCT key FROM contributions WHERE op = ?", op)
      .toArray()
      .map((r) => r.key);
    if (keys.length === 0) return null;
    this.ctx.storage.sql.exec("DELETE FROM contributions WHERE op = ?", op);
    return this.flush(keys, writer, Math.floor(now / 1000));
  }

  /** Forgets every contribution to `keys` and deletes them from KV (a client enabled again). */
  async clear(keys: string[], writer: RevocationWriter, now: number): Promise<string | null> {
    for (const key of keys) this.ctx.storage.sql.exec("DELETE FROM contributions WHERE key = ?", key);
    return this.flush(keys, writer, Math.floor(now / 1000));
  }

  /** Drops contributions that have expired with their KV entries; the object deletes itself when empty. */
  override async alarm(): Promise<void> {
    this.dropExpired(Math.floor(Date.now() / 1000));
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>("SELECT MAX(expires_at) AS at FROM contributions")
      .toArray()[0]?.at;
    if (next) {
      this.alarmAt = next * 1000 + 1000;
      await this.ctx.storage.setAlarm(this.alarmAt);
      return;
    }
    this.alarmAt = null;
    await this.ctx.storage.deleteAll();
    this.stored.clear();
    this.createSchema();
  }

  /**
   * Queues one write per key of the merge as it is when the write starts. A key whose merge is what
   * this instance last stored is skipped: a write that started after this call's contributions were
   * recorded already carried them.
   */
  private flush(keys: string[], writer: RevocationWriter, nowSeconds: number): Promise<string | null> {
    const run = this.tail.then(async () => {
      // Distinct keys are independent: written in parallel, and every write settles before the next flush starts.
      const failures = await Promise.all([...new Set(keys)].map((key) => this.store(key, writer, nowSeconds)));
      return failures.find((f) => f !== null) ?? null;
    });
    this.tail = run;
    return run;
  }

  /** Writes the merge of `key` as it is now, unless it is what this instance last stored; a failure's description. */
  private async store(key: string, writer: RevocationWriter, nowSeconds: number): Promise<string | null> {
    const merged = mergeContributions(this.live(key, nowSeconds));
    const value = merged === null ? null : JSON.stringify(merged.entry);
    const state = merged === null ? "" : `${value}\n${merged.expiresAt}`;
    if (this.stored.get(key) === state) return null;
    this.stored.delete(key);
    try {
      const failure =
        merged === null || value === null
          ? await writer.delete(key)
          : await writer.put(key, value, Math.max(MIN_KV_TTL_SECONDS, merged.expiresAt - nowSeconds));
      if (failure === null) this.stored.set(key, state);
      return failure === null ? null : `KV refused the write of ${key}: ${failure}`;
    } catch (error) {
      // The caller's writer is unreachable (its request ended): as good as a refused write.
      return `the writer of ${key} failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private knows(key: string): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM contributions WHERE key = ? LIMIT 1", key).toArray().length > 0;
  }

  private live(key: string, nowSeconds: number): LedgerContribution[] {
    return this.ctx.storage.sql
      .exec<{ revoked_before: number; reason: string; expires_at: number }>(
        "SELECT revoked_before, reason, expires_at FROM contributions WHERE key = ? AND expires_at > ? ORDER BY seq",
        key,
        nowSeconds,
      )
      .toArray()
      .map((r) => ({
        entry: { revoked_before: r.revoked_before, reason: r.reason as LedgerContribution["entry"]["reason"] },
        expiresAt: r.expires_at,
      }));
  }

  private insert(key: string, op: string, entry: LedgerContribution["entry"], expiresAt: number): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO contributions (key, op, revoked_before, reason, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key, op) DO UPDATE SET revoked_before = MAX(revoked_before, excluded.revoked_before),
         reason = excluded.reason, expires_at = MAX(expires_at, excluded.expires_at)`,
      key,
      op,
      entry.revoked_before,
      entry.reason,
      expiresAt,
    );
  }

  private dropExpired(nowSeconds: number): void {
    this.ctx.storage.sql.exec("DELETE FROM contributions WHERE expires_at <= ?", nowSeconds);
  }

  private async scheduleCleanup(): Promise<void> {
    // Read from storage once per instance, not on every record (the rate limiter does the same).
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null) return;
    const last = this.ctx.storage.sql
      .exec<{ at: number }>("SELECT MAX(expires_at) AS at FROM contributions")
      .toArray()[0]?.at;
    if (!last) return;
    this.alarmAt = last * 1000 + 1000;
    await this.ctx.storage.setAlarm(this.alarmAt);
  }
}
