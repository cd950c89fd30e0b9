import { DurableObject } from "cloudflare:workers";
import { decideRateLimit, type RateLimitDecision, type RateLimitQuota } from "./rate-limit-policy";

/**
 * Exact rate-limit counters for one caller key (SPEC §10). SQLite-backed; one object per key,
 * one row per bucket (HTTP method). `consume` reads and writes synchronously inside one RPC
 * call, so the object's input gate serialises concurrent requests and no burst can overshoot;
 * the output gate holds the reply until the write is durable.
 */
export class RateLimiter extends DurableObject<Env> {
  /** The scheduled cleanup alarm as last seen by this instance; `undefined` until read from storage. */
  private alarmAt: number | null | undefined;
  /**
   * Each bucket's TAT as stored (`undefined`: no row), read from SQLite on first use. This instance is
   * the only writer of its storage and updates the map only after a write succeeded, so the map never
   * disagrees with what is durable; it saves the SELECT on every later request.
   */
  private readonly tats = new Map<string, number | undefined>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, tat REAL NOT NULL)");
  }

  /** Takes one request from `bucket` if the quota allows it. `now` defaults to the object's clock. */
  async consume(bucket: string, quota: RateLimitQuota, now: number = Date.now()): Promise<RateLimitDecision> {
    if (!this.tats.has(bucket)) {
      const row = this.ctx.storage.sql
        .exec<{ tat: number }>("SELECT tat FROM buckets WHERE name = ?", bucket)
        .toArray()[0];
      this.tats.set(bucket, row?.tat);
    }
    const decision = decideRateLimit(this.tats.get(bucket), now, quota);
    if (decision.allowed) {
      this.ctx.storage.sql.exec(
        "INSERT INTO buckets (name, tat) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET tat = excluded.tat",
        bucket,
        decision.tat,
      );
      this.tats.set(bucket, decision.tat);
      // Cleanup only: once every bucket has refilled, the object holds no information. The alarm
      // is read from storage once per instance, not on every request (a storage call per consume).
      if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
      if (this.alarmAt === null) {
        this.alarmAt = decision.tat + 1000;
        await this.ctx.storage.setAlarm(this.alarmAt);
      }
    }
    return decision;
  }

  /** Drops buckets that have refilled completely; reschedules itself while any remain. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.ctx.storage.sql.exec("DELETE FROM buckets WHERE tat <= ?", now);
    this.tats.clear();
    const next = this.ctx.storage.sql
      .exec<{ tat: number | null }>("SELECT MAX(tat) AS tat FROM buckets")
      .toArray()[0]?.tat;
    this.alarmAt = next ? next + 1000 : null;
    if (this.alarmAt !== null) await this.ctx.storage.setAlarm(this.alarmAt);
  }
}
