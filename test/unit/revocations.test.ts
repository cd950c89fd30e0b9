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
  mergeRevocation,
  readTokenRevocations,
} from "../../src/revocation/revocations";
import { faultyKV } from "../helpers/faults";

// The merge and undo rules of the revocation lists (SPEC §9), against the real KV binding.

const store = { kv: env.REVOCATIONS, ttlSeconds: 60 };
const d1Refused = () => Promise.reject(new Error("D1 refused the batch"));

describe("mergeRevocation", () => {
  it("never moves revoked_before backwards", ({ expect }) => {
    const stored = JSON.stringify({ revoked_before: 200, reason: "tokens_revoked" });
    expect(mergeRevocation(stored, { revoked_before: 100, reason: "tokens_revoked" }).revoked_before).toBe(200);
    expect(mergeRevocation(stored, { revoked_before: 300, reason: "tokens_revoked" }).revoked_before).toBe(300);
  });

  it("keeps client_deleted, which token status relies on for a client that no longer exists", ({ expect }) => {
    const deleted = JSON.stringify({ revoked_before: 100, reason: "client_deleted" });
    expect(mergeRevocation(deleted, { revoked_before: 150, reason: "tokens_revoked" })).toEqual({
      revoked_before: 150,
      reason: "client_deleted",
    });
  });

  it("treats a malformed stored value as absent", ({ expect }) => {
    expect(mergeRevocation("{not json", { revoked_before: 5, reason: "consent_revoked" })).toEqual({
      revoked_before: 5,
      reason: "consent_revoked",
    });
  });
});

describe("revokeThenChange: restoring after the D1 change fails", () => {
  it("undoes this request's entry", async ({ expect }) => {
    const key = clientRevocationKey(crypto.randomUUID());
    const outcome = revokeThenChange(
      store,
      [{ key, entry: { revoked_before: 100, reason: "client_deleted" } }],
      d1Refused,
    );
    await expect(outcome).rejects.toThrow("D1 refused the batch");
    expect(await env.REVOCATIONS.get(key)).toBeNull();
  });

  it("leaves a stronger entry that another request wrote in the meantime", async ({ expect }) => {
    const key = clientRevocationKey(crypto.randomUUID());
    const theirs = JSON.stringify({ revoked_before: 200, reason: "client_deleted" });
    const outcome = revokeThenChange(
      store,
      [{ key, entry: { revoked_before: 100, reason: "tokens_revoked" } }],
      async () => {
        await env.REVOCATIONS.put(key, theirs, { expirationTtl: 60 });
        throw new Error("D1 refused the batch");
      },
    );
    await expect(outcome).rejects.toThrow("D1 refused the batch");
    expect(await env.REVOCATIONS.get(key)).toBe(theirs);
  });

  it("puts back the previous value of a key that held one", async ({ expect }) => {
    const key = clientRevocationKey(crypto.randomUUID());
    const before = JSON.stringify({ revoked_before: 50, reason: "tokens_revoked" });
    await env.REVOCATIONS.put(key, before, { expirationTtl: 60 });
    await expect(
      revokeThenChange(store, [{ key, entry: { revoked_before: 100, reason: "client_deleted" } }], d1Refused),
    ).rejects.toThrow();
    expect(await env.REVOCATIONS.get(key)).toBe(before);
  });
});

describe("revokeThenChange: writing before the change", () => {
  it("runs the change only after every entry is written, and returns its result", async ({ expect }) => {
    const keys = Array.from({ length: 3 }, () => clientRevocationKey(crypto.randomUUID()));
    const result = await revokeThenChange(
      store,
      keys.map((key) => ({ key, entry: { revoked_before: 100, reason: "client_deleted" } })),
      async () => Promise.all(keys.map((key) => env.REVOCATIONS.get(key))),
    );
    for (const value of result)
      expect(JSON.parse(value ?? "null")).toEqual({ revoked_before: 100, reason: "client_deleted" });
  });

  it("reads previous values of many keys in bulk gets of 100 and never weakens them", async ({ expect }) => {
    const keys = Array.from({ length: 150 }, () => clientRevocationKey(crypto.randomUUID()));
    const strong = JSON.stringify({ revoked_before: 900, reason: "client_deleted" });
    await env.REVOCATIONS.put(keys[120] as string, strong, { expirationTtl: 60 });
    // A plan that never fails: the wrapper only counts.
    const { kv, counter } = faultyKV(env.REVOCATIONS, { only: ["get", "put"] });
    await revokeThenChange(
      { kv, ttlSeconds: 60 },
      keys.map((key) => ({ key, entry: { revoked_before: 100, reason: "tokens_revoked" } })),
      async () => undefined,
    );
    expect(counter.calls.filter((name) => name === "get")).toHaveLength(2);
    expect(counter.calls.filter((name) => name === "put")).toHaveLength(150);
    expect(JSON.parse((await env.REVOCATIONS.get(keys[120] as string)) ?? "null")).toEqual({
      revoked_before: 900,
      reason: "client_deleted",
    });
  });

  it("answers 503 without running the change when KV refuses a write, and leaves no entry behind", async ({
    expect,
  }) => {
    const keys = Array.from({ length: 3 }, () => clientRevocationKey(crypto.randomUUID()));
    let changed = false;
    const outcome = await revokeThenChange(
      { kv: faultyKV(env.REVOCATIONS, { only: ["put"], failAt: 2 }).kv, ttlSeconds: 60 },
      keys.map((key) => ({ key, entry: { revoked_before: 100, reason: "client_deleted" } })),
      async () => {
        changed = true;
      },
    ).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(HttpProblem);
    expect((outcome as HttpProblem).init.status).toBe(503);
    expect(changed).toBe(false);
    for (const key of keys) expect(await env.REVOCATIONS.get(key)).toBeNull();
  });
});

describe("revokeThenChange: the undo of a bulk revocation fits a Worker's KV budget", () => {
  it("reads the keys back in bulk before undoing 450 entries (at most 1,000 KV operations in all)", async ({
    expect,
  }) => {
    const keys = Array.from({ length: 450 }, () => clientRevocationKey(crypto.randomUUID()));
    const { kv, counter } = faultyKV(env.REVOCATIONS, { only: ["get", "put", "delete"] });
    await expect(
      revokeThenChange(
        { kv, ttlSeconds: 60 },
        keys.map((key) => ({ key, entry: { revoked_before: 100, reason: "client_deleted" } })),
        d1Refused,
      ),
    ).rejects.toThrow("D1 refused the batch");
    expect(counter.calls.length).toBeLessThanOrEqual(1000);
    expect(counter.calls.filter((name) => name === "get")).toHaveLength(10);
    const left = await Promise.all(keys.slice(0, 20).map((key) => env.REVOCATIONS.get(key)));
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
      revokeThenChange({ kv, ttlSeconds: 60 }, [familyRevokedIntent(familyId, Date.now(), 7_260)], d1Refused),
    ).rejects.toThrow("D1 refused");
    expect(puts).toEqual([{ expirationTtl: 7_260 }]);
    expect(await env.REVOCATIONS.get(familyRevocationKey(familyId))).toBeNull();
    await revokeThenChange(store, [clientDisabledIntent(familyId, Date.now())], async () => undefined);
    expect(await env.REVOCATIONS.get(disabledClientKey(familyId))).not.toBeNull();
  });
});
