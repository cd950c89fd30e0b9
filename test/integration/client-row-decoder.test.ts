import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import type { Principal } from "../../src/auth/principal";
import { createDb } from "../../src/db/client";
import { clientPageQuery, listClients } from "../../src/services/client-queries";
import { call, clientBody } from "../helpers/api";
import { newCaller } from "../helpers/signature";

// listClients decodes its rows itself (src/db/row-decoder.ts) instead of through Drizzle's mapping,
// for speed (BENCHMARKS.md, page of 30). These tests hold it to Drizzle's own result for the same
// query: same keys, same values and types (JSON columns, booleans, NULLs), every role and cursor.

const principalOf = (caller: ReturnType<typeof newCaller>): Principal =>
  ({ userId: caller.userId, tenantId: caller.tenantId, role: caller.role }) as Principal;

describe("listClients' own row decoding", () => {
  it("returns exactly the rows Drizzle maps for the same query", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const user = newCaller("USER", admin.tenantId);
    const bodies = [
      clientBody({ name: "Decoded full", allow_pkce: true, logout_redirect_uri: "https://app.example.com/bye" }),
      clientBody({ name: "Decoded bare", description: null, allow_pkce: false }),
    ];
    for (const [caller, body] of [
      [admin, bodies[0]],
      [admin, bodies[1]],
      [user, bodies[0]],
    ] as const) {
      const res = await call("POST", "/clients", { caller, body });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    // A disabled client: `enabled` false must decode as false, not 0.
    const { client_id: disabledId } = (await (
      await call("POST", "/clients", { caller: admin, body: bodies[1] })
    ).json()) as { client_id: string };
    expect(
      (await call("PATCH", `/clients/${disabledId}/activation`, { caller: admin, body: { status: false } })).status,
    ).toBe(200);

    const db = createDb(env.DB);
    for (const caller of [admin, user]) {
      const principal = principalOf(caller);
      for (const limit of [1, 2, 30]) {
        const page = await listClients(db, principal, limit, undefined);
        const drizzleRows = await clientPageQuery(db, principal, limit, undefined).all();
        expect(page.items).toStrictEqual(drizzleRows.slice(0, limit));
        const last = page.items.at(-1);
        if (!last) continue;
        for (const cursor of [{ time: last.createdOn, clientId: last.clientId }, { time: last.createdOn + 1 }]) {
          const next = await listClients(db, principal, limit, cursor);
          expect(next.items).toStrictEqual((await clientPageQuery(db, principal, limit, cursor).all()).slice(0, limit));
        }
      }
    }
    const all = await listClients(db, principalOf(admin), 30, undefined);
    expect(all.items.map((r) => r.enabled).sort()).toStrictEqual([false, true, true, true]);
    expect(all.items.every((r) => Array.isArray(r.redirectUris) && typeof r.allowPkce === "boolean")).toBe(true);
  });
});
