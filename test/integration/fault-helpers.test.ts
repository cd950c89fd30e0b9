import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { call, clientBody } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { faultyD1, faultyKV } from "../helpers/faults";
import { newCaller } from "../helpers/signature";

// Proves the fault doubles themselves work, so tests built on them can be trusted.
describe("fault doubles", () => {
  it("a batch broken in the middle is rolled back by the real D1", async ({ expect }) => {
    const { db } = faultyD1(env.DB, { breakBatchAt: 1 });
    const admin = newCaller("ADMIN");
    const res = await call("POST", "/clients", {
      caller: admin,
      body: clientBody(),
      fetcher: appFetcher({ env: { DB: db } }),
    });
    expect(res.status).toBe(503);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM clients WHERE tenant = ?")
      .bind(admin.tenantId)
      .first("n");
    expect(rows).toBe(0);
  });

  it("counts and fails KV operations by plan", async ({ expect }) => {
    const { kv, counter } = faultyKV(env.REVOCATIONS, { failAt: 2 });
    await kv.get("a");
    await expect(kv.put("a", "1")).rejects.toThrow(/injected fault/);
    expect(counter.calls).toEqual(["get", "put"]);
  });
});
