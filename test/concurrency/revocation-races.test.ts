import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { revokeThenChange } from "../../src/revocation/protocol";
import {
  clientRevocationKey,
  consentRevocationKey,
  disabledClientKey,
  familyRevocationKey,
  familyRevokedIntent,
  type RevocationEntry,
  type RevocationIntent,
} from "../../src/revocation/revocations";
import { call, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { grant, isActive } from "../helpers/introspection";
import { newCaller } from "../helpers/signature";

/**
 * Issue 14: KV has no compare-and-swap, so two revocations of the same key racing must never lose
 * one. Every write of a key goes through its client's revocation ledger (a Durable Object), which
 * orders the writes and withdraws only a failed operation's own contribution. These races are built
 * so that, without the ledger, they lose: the weaker write is slowed down until it lands last (the
 * control case below shows that schedule loses a plain read-merge-write), and a failed operation's
 * undo meets an identical entry another operation still needs.
 */

/** KV whose puts wait `delayMs` before they happen: the request is slow, the write lands late. */
function slowKV(delayMs: number): KVNamespace {
  const kv = env.REVOCATIONS;
  return {
    get: kv.get.bind(kv),
    delete: kv.delete.bind(kv),
    put: async (key: string, value: string, options?: KVNamespacePutOptions) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await kv.put(key, value, options);
    },
  } as unknown as KVNamespace;
}

const storeOver = (kv: KVNamespace) => ({ kv, ledgers: env.REVOCATION_LEDGER, ttlSeconds: 3600, now: Date.now() });

const consentIntent = (clientId: string, userId: string, revokedBefore: number): RevocationIntent => ({
  owner: clientId,
  key: consentRevocationKey(clientId, userId),
  entry: { revoked_before: revokedBefore, reason: "consent_revoked" },
});

async function stored(key: string): Promise<RevocationEntry | null> {
  const value = await env.REVOCATIONS.get(key);
  return value === null ? null : (JSON.parse(value) as RevocationEntry);
}

/** The read-merge-write every KV-only design does, to show the schedule below really loses one. */
async function naiveRevoke(kv: KVNamespace, key: string, entry: RevocationEntry): Promise<void> {
  const prior = await kv.get(key);
  const before = prior === null ? 0 : (JSON.parse(prior) as RevocationEntry).revoked_before;
  await kv.put(key, JSON.stringify({ ...entry, revoked_before: Math.max(before, entry.revoked_before) }));
}

describe("two revocations of one KV key racing", () => {
  it("control: without the ledger, the weaker write landing last loses the stronger revocation", async ({ expect }) => {
    const key = consentRevocationKey(crypto.randomUUID(), crypto.randomUUID());
    await Promise.all([
      naiveRevoke(slowKV(300), key, { revoked_before: 100, reason: "consent_revoked" }),
      naiveRevoke(env.REVOCATIONS, key, { revoked_before: 200, reason: "consent_revoked" }),
    ]);
    expect((await stored(key))?.revoked_before).toBe(100);
  });

  it("through the ledger, the same schedule keeps the stronger one", async ({ expect }) => {
    const [clientId, userId] = [crypto.randomUUID(), crypto.randomUUID()];
    const slow = revokeThenChange(storeOver(slowKV(300)), [consentIntent(clientId, userId, 100)], async () => "slow");
    // The slow one records first, so its write starts first and lands last if nothing orders them.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const fast = revokeThenChange(
      storeOver(env.REVOCATIONS),
      [consentIntent(clientId, userId, 200)],
      async () => "fast",
    );
    expect(await Promise.all([slow, fast])).toEqual(["slow", "fast"]);
    expect(await stored(consentRevocationKey(clientId, userId))).toEqual({
      revoked_before: 200,
      reason: "consent_revoked",
    });
  });

  it("20 racing revocations with random delays, a third refused by D1: the key holds exactly the merge of the rest", async ({
    expect,
  }) => {
    for (let round = 0; round < 3; round++) {
      const [clientId, userId] = [crypto.randomUUID(), crypto.randomUUID()];
      const ops = Array.from({ length: 20 }, (_, i) => ({
        revokedBefore: 1_000 + Math.floor(Math.random() * 1_000),
        delayMs: Math.floor(Math.random() * 60),
        refused: i % 3 === 0,
      }));
      const outcomes = await Promise.allSettled(
        ops.map((op) =>
          revokeThenChange(
            storeOver(slowKV(op.delayMs)),
            [consentIntent(clientId, userId, op.revokedBefore)],
            async () => {
              await new Promise((resolve) => setTimeout(resolve, op.delayMs));
              if (op.refused) throw new Error("D1 refused the batch");
            },
          ),
        ),
      );
      expect(outcomes.map((o) => o.status)).toEqual(ops.map((op) => (op.refused ? "rejected" : "fulfilled")));
      const expected = Math.max(...ops.filter((op) => !op.refused).map((op) => op.revokedBefore));
      expect(await stored(consentRevocationKey(clientId, userId)), `round ${round}`).toEqual({
        revoked_before: expected,
        reason: "consent_revoked",
      });
    }
  });

  it("a family revoked twice at once (reuse and RFC 7009), one refused by D1: the family stays revoked", async ({
    expect,
  }) => {
    const family = { clientId: crypto.randomUUID(), familyId: crypto.randomUUID() };
    const now = Date.now();
    const outcomes = await Promise.allSettled([
      revokeThenChange(storeOver(slowKV(100)), [familyRevokedIntent(family, now, 600)], async () => {
        throw new Error("D1 refused the batch");
      }),
      revokeThenChange(storeOver(env.REVOCATIONS), [familyRevokedIntent(family, now, 600)], async () => undefined),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "fulfilled"]);
    expect(await env.REVOCATIONS.get(familyRevocationKey(family.familyId))).not.toBeNull();
  });
});

describe("management revocations of one client racing through the worker", () => {
  it("revoke-all at two times, the earlier one slow: the later time is what KV keeps", async ({ expect }) => {
    const caller = newCaller("USER");
    const { client_id } = await createClientAs(caller);
    const t = Date.now();
    const at = (ms: number, kv: KVNamespace) => appFetcher({ clock: () => ms, env: { REVOCATIONS: kv } });
    const early = call("DELETE", `/clients/${client_id}/tokens`, { caller, fetcher: at(t + 5_000, slowKV(300)) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const late = call("DELETE", `/clients/${client_id}/tokens`, {
      caller,
      fetcher: at(t + 60_000, env.REVOCATIONS),
    });
    const statuses = (await Promise.all([early, late])).map((r) => r.status);
    expect(
      statuses.every((s) => s >= 200 && s < 300),
      JSON.stringify(statuses),
    ).toBe(true);
    expect(await stored(clientRevocationKey(client_id))).toEqual({
      revoked_before: Math.floor((t + 60_000) / 1000),
      reason: "tokens_revoked",
    });
  });
});

/** D1 whose batches wait `delayMs` before they run: the request's D1 write lands late. */
function slowD1(delayMs: number): D1Database {
  const db = env.DB;
  return new Proxy(db, {
    get(target, property) {
      if (property === "batch")
        return async (statements: D1PreparedStatement[]) => {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          return target.batch(statements);
        };
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("disable racing enable", () => {
  it("disable's KV write, enable's D1 write and clear, then disable's D1 write: the client ends disabled everywhere", async ({
    expect,
  }) => {
    const g = await grant();
    const id = g.client.client_id;
    const owner = g.client.owner;
    const activation = (status: boolean, fetcher?: ReturnType<typeof appFetcher>) =>
      call("PATCH", `/clients/${id}/activation`, { caller: owner, body: { status }, ...(fetcher ? { fetcher } : {}) });
    expect((await activation(false)).status).toBe(200);
    // The disable records its entry at once, then its D1 write waits; the enable runs entirely in between.
    const disable = activation(false, appFetcher({ env: { DB: slowD1(400) } }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await activation(true)).status).toBe(200);
    expect(await env.REVOCATIONS.get(disabledClientKey(id)), "the enable cleared the entry").toBeNull();
    expect((await disable).status).toBe(200);
    const row = await env.DB.prepare("SELECT enabled FROM clients WHERE client_id = ?").bind(id).first("enabled");
    expect(row).toBe(0);
    expect(
      await env.REVOCATIONS.get(disabledClientKey(id)),
      "recorded again after the disable's D1 write",
    ).not.toBeNull();
    expect(await isActive(g.accessToken)).toBe(false);
  });
});
