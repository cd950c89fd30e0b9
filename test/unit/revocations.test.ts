import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { mergeRevocation, restoreRevocations, writeRevocations } from "../../src/revocation/revocations";

// The merge and undo rules of the revocation lists (SPEC §9), against the real KV binding.

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

describe("restoreRevocations", () => {
  it("undoes this request's entry", async ({ expect }) => {
    const key = `revoked:client:${crypto.randomUUID()}`;
    const writes = await writeRevocations(
      env.REVOCATIONS,
      [{ key, entry: { revoked_before: 100, reason: "client_deleted" } }],
      60,
    );
    await restoreRevocations(env.REVOCATIONS, writes, 60);
    expect(await env.REVOCATIONS.get(key)).toBeNull();
  });

  it("leaves a stronger entry that another request wrote in the meantime", async ({ expect }) => {
    const key = `revoked:client:${crypto.randomUUID()}`;
    const ours = await writeRevocations(
      env.REVOCATIONS,
      [{ key, entry: { revoked_before: 100, reason: "tokens_revoked" } }],
      60,
    );
    const theirs = JSON.stringify({ revoked_before: 200, reason: "client_deleted" });
    await env.REVOCATIONS.put(key, theirs, { expirationTtl: 60 });
    await restoreRevocations(env.REVOCATIONS, ours, 60);
    expect(await env.REVOCATIONS.get(key)).toBe(theirs);
  });
});
