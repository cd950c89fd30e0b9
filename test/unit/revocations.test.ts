import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { HttpProblem } from "../../src/lib/problem";
import { revokeThenChange } from "../../src/revocation/protocol";
import {
  clientDisabledIntent,
  clientRevocationKey,
  disabledClientKey,
  familyRevocationKey,
  familyRevocationTtlSeconds,
  familyRevokedIntent,
  mergeContributions,
  type RevocationEntry,
  type RevocationIntent,
  readTokenRevocations,
} from "../../src/revocation/revocations";
import { faultyKV, unreachableDurableObjects } from "../helpers/faults";

// The merge and undo rules of the revocation lists (SPEC §9), against the real KV binding.

/** The revocation store as services build it, over `kv` (the real binding unless a test wraps it). */
const storeWith = (kv: KVNamespace = env.REVOCATIONS) => ({
  kv,
  ledgers: env.REVOCATION_LEDGER,
  ttlSeconds: 60,
  now: Date.now(),
});
const store = storeWith();
/** A client-wide entry for a fresh client (its own ledger). */
const clientIntent = (entry: RevocationEntry, clientId: string = crypto.randomUUID()): RevocationIntent => ({
  owner: clientId,
  key: clientRevocationKey(clientId),
  entry,
});
const d1Refused = () => Promise.reject(new Error("D1 refused the batch"));

describe("mergeContributions", () => {
  const at = (revoked_before: number, reason: RevocationEntry["reason"], expiresAt = 1000) => ({
    entry: { revoked_before, reason },
    expiresAt,
  });

  it("never moves revoked_before backwards, whatever the order", ({ expect }) => {
    expect(mergeContributions([at(200, "tokens_revoked"), at(100, "tokens_revoked")])?.entry.revoked_before).toBe(200);
    expect(mergeContributions([at(100, "tokens_revoked"), at(300, "tokens_revoked")])?.entry.revoked_before).toBe(300);
  });

  it("keeps client_deleted, which token status relies on for a client that no longer exists", ({ expect }) => {
    expect(mergeContributions([at(100, "client_deleted"), at(150, "tokens_revoked")])?.entry).toEqual({
      revoked_before: 150,
      reason: "client_deleted",
    });
    expect(mergeContributions([at(100, "tokens_revoked"), at(90, "consent_revoked")])?.entry.reason).toBe(
      "consent_revoked",
    );
  });

  it("lives as long as its longest-lived contribution; nothing left means no entry", ({ expect }) => {
    expect(mergeContributions([at(1, "family_revoked", 500), at(2, "family_revoked", 90)])?.expiresAt).toBe(500);
    expect(mergeContributions([])).toBeNull();
  });
});

describe("revokeThenChange: taking back after the D1 change fails", () => {
  it("undoes this request's entry", async ({ expect }) => {
    const intent = clientIntent({ revoked_before: 100, reason: "client_deleted" });
    await expect(revokeThenChange(store, [intent], d1Refused)).rejects.toThrow("D1 refused the batch");
    expect(await env.REVOCATIONS.get(intent.key)).toBeNull();
  });

  it("leaves a stronger entry, and an identical one, that other requests recorded in the meantime", async ({
    expect,
  }) => {
    for (const theirs of [
      { revoked_before: 200, reason: "client_deleted" } as const,
      // A twin: the same value. Undoing by value (the protocol before the ledgers) removed it.
      { revoked_before: 100, reason: "tokens_revoked" } as const,
    ]) {
      const clientId = crypto.randomUUID();
      const mine = clientIntent({ revoked_before: 100, reason: "tokens_revoked" }, clientId);
      const outcome = revokeThenChange(store, [mine], async () => {
        await revokeThenChange(storeWith(), [clientIntent(theirs, clientId)], async () => undefined);
        throw new Error("D1 refused the batch");
      });
      await expect(outcome).rejects.toThrow("D1 refused the batch");
      expect(JSON.parse((await env.REVOCATIONS.get(mine.key)) ?? "null")).toEqual(theirs);
    }
  });

  it("puts back the value a key held before the ledger knew it", async ({ expect }) => {
    const intent = clientIntent({ revoked_before: 100, reason: "client_deleted" });
    const before = JSON.stringify({ revoked_before: 50, reason: "tokens_revoked" });
    await env.REVOCATIONS.put(intent.key, before, { expirationTtl: 60 });
    await expect(revokeThenChange(store, [intent], d1Refused)).rejects.toThrow();
    expect(await env.REVOCATIONS.get(intent.key)).toBe(before);
  });
});

describe("revokeThenChange: writing before the change", () => {
  it("runs the change only after every entry is written, and returns its result", async ({ expect }) => {
    const intents = Array.from({ length: 3 }, () => clientIntent({ revoked_before: 100, reason: "client_deleted" }));
    const result = await revokeThenChange(store, intents, async () =>
      Promise.all(intents.map(({ key }) => env.REVOCATIONS.get(key))),
    );
    for (const value of result)
      expect(JSON.parse(value ?? "null")).toEqual({ revoked_before: 100, reason: "client_deleted" });
  });

  it("reads previous values of many keys in bulk gets of 100 and never weakens them", async ({ expect }) => {
    const intents = Array.from({ length: 150 }, () => clientIntent({ revoked_before: 100, reason: "tokens_revoked" }));
    const strong = JSON.stringify({ revoked_before: 900, reason: "client_deleted" });
    const held = intents[120]?.key as string;
    await env.REVOCATIONS.put(held, strong, { expirationTtl: 60 });
    // A plan that never fails: the wrapper only counts.
    const { kv, counter } = faultyKV(env.REVOCATIONS, { only: ["get", "put"] });
    await revokeThenChange(storeWith(kv), intents, async () => undefined);
    expect(counter.calls.filter((name) => name === "get")).toHaveLength(2);
    expect(counter.calls.filter((name) => name === "put")).toHaveLength(150);
    expect(JSON.parse((await env.REVOCATIONS.get(held)) ?? "null")).toEqual({
      revoked_before: 900,
      reason: "client_deleted",
    });
  });

  it("answers 503 without running the change when KV refuses a write, and leaves no entry behind", async ({
    expect,
  }) => {
    const intents = Array.from({ length: 3 }, () => clientIntent({ revoked_before: 100, reason: "client_deleted" }));
    let changed = false;
    const outcome = await revokeThenChange(
      storeWith(faultyKV(env.REVOCATIONS, { only: ["put"], failAt: 2 }).kv),
      intents,
      async () => {
        changed = true;
      },
    ).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(HttpProblem);
    expect((outcome as HttpProblem).init.status).toBe(503);
    expect(changed).toBe(false);
    for (const { key } of intents) expect(await env.REVOCATIONS.get(key)).toBeNull();
  });

  it("answers 503 without running the change when a ledger is unreachable, and leaves no entry behind", async ({
    expect,
  }) => {
    const intents = Array.from({ length: 3 }, () => clientIntent({ revoked_before: 100, reason: "client_deleted" }));
    const ledgers = unreachableDurableObjects(
      env.REVOCATION_LEDGER as unknown as DurableObjectNamespace,
    ) as unknown as Env["REVOCATION_LEDGER"];
    let changed = false;
    const outcome = await revokeThenChange({ ...store, ledgers }, intents, async () => {
      changed = true;
    }).catch((error: unknown) => error);
    expect((outcome as HttpProblem).init.status).toBe(503);
    expect(changed).toBe(false);
    for (const { key } of intents) expect(await env.REVOCATIONS.get(key)).toBeNull();
  });
});

describe("revokeThenChange: the undo of a bulk revocation fits a Worker's KV budget", () => {
  it("undoes 450 entries without reading them back (at most 1,000 KV operations in all)", async ({ expect }) => {
    const intents = Array.from({ length: 450 }, () => clientIntent({ revoked_before: 100, reason: "client_deleted" }));
    const { kv, counter } = faultyKV(env.REVOCATIONS, { only: ["get", "put", "delete"] });
    await expect(revokeThenChange(storeWith(kv), intents, d1Refused)).rejects.toThrow("D1 refused the batch");
    expect(counter.calls.length).toBeLessThanOrEqual(1000);
    expect(counter.calls.filter((name) => name === "get")).toHaveLength(5);
    const left = await Promise.all(intents.map(({ key }) => env.REVOCATIONS.get(key)));
    expect(left.every((value) => value === null)).toBe(true);
  });
});

describe("the hot path's presence keys (issue 14 item 1)", () => {
  it("readTokenRevocations: 4 keys without a family, 5 with; any value under a presence key revokes", async ({
    expect,
  }) => {
    const clientId = crypto.randomUUID();
    const token = { clientId, userId: crypto.randomUUID(), jti: crypto.randomUUID() };
    const familyId = crypto.randomUUID();
    const { kv, counter } = faultyKV(env.REVOCATIONS);
    expect(await readTokenRevocations(kv, { ...token, familyId })).toEqual({
      client: null,
      consent: null,
      jtiRevoked: false,
      clientDisabled: false,
      familyRevoked: false,
    });
    expect(counter.calls).toEqual(["get"]);
    await env.REVOCATIONS.put(disabledClientKey(clientId), "not json");
    await env.REVOCATIONS.put(familyRevocationKey(familyId), "{}");
    const both = await readTokenRevocations(env.REVOCATIONS, { ...token, familyId });
    expect(both).toMatchObject({ clientDisabled: true, familyRevoked: true });
    expect((await readTokenRevocations(env.REVOCATIONS, token)).familyRevoked).toBe(false);
  });

  it("a family entry lives until the family's last access token has expired, at least 60 s", ({ expect }) => {
    const now = 1_000_000;
    expect(familyRevocationTtlSeconds(now + 3_600_000, now, 3_600_000)).toBe(3600 + 3600 + 60);
    expect(familyRevocationTtlSeconds(now - 10_000_000, now, 0)).toBe(60);
  });

  it("revokeThenChange writes a family entry with its own TTL and puts it back when D1 refuses", async ({ expect }) => {
    const familyId = crypto.randomUUID();
    const clientId = crypto.randomUUID();
    const puts: unknown[] = [];
    const kv = {
      get: env.REVOCATIONS.get.bind(env.REVOCATIONS),
      delete: env.REVOCATIONS.delete.bind(env.REVOCATIONS),
      put: (key: string, value: string, options: unknown) => {
        puts.push(options);
        return env.REVOCATIONS.put(key, value, options as KVNamespacePutOptions);
      },
    } as unknown as KVNamespace;
    await expect(
      revokeThenChange(storeWith(kv), [familyRevokedIntent({ clientId, familyId }, Date.now(), 7_260)], d1Refused),
    ).rejects.toThrow("D1 refused");
    expect(puts).toEqual([{ expirationTtl: 7_260 }]);
    expect(await env.REVOCATIONS.get(familyRevocationKey(familyId))).toBeNull();
    await revokeThenChange(store, [clientDisabledIntent(clientId, Date.now())], async () => undefined);
    expect(await env.REVOCATIONS.get(disabledClientKey(clientId))).not.toBeNull();
  });
});
