import { env } from "cloudflare:workers";
import { beforeAll, describe, type ExpectStatic, it } from "vitest";
import { createDb } from "../../src/db/client";
import { clientPageQuery, consentPageQuery } from "../../src/services/client-queries";
import { call, clientBody } from "../helpers/api";
import { appFetcher, manualClock } from "../helpers/app";
import {
  type ClientPageBody,
  type ConsentPageBody,
  keysetOrder,
  walkClientPages,
  walkConsentPages,
} from "../helpers/paging";
import { type Caller, newCaller, uniqueTenant } from "../helpers/signature";

// Keyset pagination of getClients, getClientsInfo and getConsents (SPEC §4.8, §4.10, §4.12, §12.3).

const SAME_INSTANT = Date.UTC(2026, 10, 28, 12, 0, 0);

/** Creates `count` clients as `caller`, all stamped `at` by an injected clock. */
async function createClientsAt(caller: Caller, count: number, at = SAME_INSTANT): Promise<string[]> {
  const fetcher = appFetcher({ clock: () => at });
  const ids: string[] = [];
  // Small concurrent waves: quick, without piling up hundreds of open requests.
  for (let start = 0; start < count; start += 10) {
    const wave = Array.from({ length: Math.min(10, count - start) }, async (_, i) => {
      const res = await call("POST", "/clients", { caller, body: clientBody({ name: `Paged ${start + i}` }), fetcher });
      if (res.status !== 201) throw new Error(`create failed: ${res.status}`);
      return ((await res.json()) as { client_id: string }).client_id;
    });
    ids.push(...(await Promise.all(wave)));
  }
  return ids;
}

/** Inserts a consent row straight into D1 (the consent flow is another issue's route). */
function consentInsert(caller: Caller, clientId: string, modifiedOn: number) {
  return env.DB.prepare(
    "INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) VALUES (?, ?, ?, 'files:read openid', ?)",
  ).bind(caller.tenantId, caller.userId, clientId, modifiedOn);
}

const clientIdsOf = (pages: ClientPageBody[]) => pages.flatMap((p) => p.data.map((c) => c.client_id));
const consentIdsOf = (pages: ConsentPageBody[]) => pages.flatMap((p) => p.data.map((c) => c.registered_client_id));
/** Same instant everywhere: the promised order is client id descending. */
const descendingIds = (ids: string[]) => [...ids].sort().reverse();

/** Checks the page-level promises: sizes, cursor = last item, null cursor only on the last page. */
function expectWellFormedWalk(expect: ExpectStatic, pages: ClientPageBody[], limit: number) {
  pages.forEach((page, index) => {
    const isLast = index === pages.length - 1;
    expect(page.limit).toBe(limit);
    expect(page.data.length).toBeLessThanOrEqual(limit);
    if (!isLast) {
      expect(page.data.length).toBe(limit);
      const lastItem = page.data[page.data.length - 1];
      expect(page.last_client_id).toBe(lastItem?.client_id);
      expect(page.last_created_on).toBe(lastItem?.created_on);
    } else {
      expect(page.last_client_id).toBe(null);
      expect(page.last_created_on).toBe(null);
    }
  });
}

// A limit-1 walk is 138 requests: more than the default 5 s on a shared machine.
describe("137 clients sharing one created_on", { timeout: 120_000 }, () => {
  const tenant = uniqueTenant();
  const admin = newCaller("ADMIN", tenant);
  const userA = newCaller("USER", tenant);
  const userB = newCaller("USER", tenant);
  const outsider = newCaller("ADMIN");
  const consenter = newCaller("GUEST", tenant);
  let all: string[] = [];
  let ofA: string[] = [];
  let foreign: string[] = [];

  beforeAll(async () => {
    const ofAdmin = await createClientsAt(admin, 40);
    ofA = await createClientsAt(userA, 60);
    const ofB = await createClientsAt(userB, 37);
    all = [...ofAdmin, ...ofA, ...ofB];
    foreign = await createClientsAt(outsider, 5);
    // The consenter has a consent for each of the 137 clients, all modified at the same instant;
    // another user of the tenant and the same user id in another tenant have consents too.
    const otherUser = newCaller("USER", tenant);
    const sameUserElsewhere = { ...consenter, tenantId: outsider.tenantId };
    await env.DB.batch([
      ...all.map((id) => consentInsert(consenter, id, SAME_INSTANT)),
      ...all.slice(0, 10).map((id) => consentInsert(otherUser, id, SAME_INSTANT)),
      ...foreign.map((id) => consentInsert(sameUserElsewhere, id, SAME_INSTANT)),
    ]);
  }, 120_000);

  it.for([1, 7, 50])(
    "ADMIN walks getClients with limit %i: each client once, in key order",
    async (limit, { expect }) => {
      const pages = await walkClientPages(admin, "/clients", limit);
      expectWellFormedWalk(expect, pages, limit);
      expect(pages).toHaveLength(Math.ceil(137 / limit));
      expect(clientIdsOf(pages)).toEqual(descendingIds(all));
    },
  );

  it.for([1, 7, 50])("ADMIN walks getClientsInfo with limit %i the same way", async (limit, { expect }) => {
    const pages = await walkClientPages(admin, "/clients/info", limit);
    expectWellFormedWalk(expect, pages, limit);
    expect(clientIdsOf(pages)).toEqual(descendingIds(all));
  });

  it("gives the same order on every walk (stable)", async ({ expect }) => {
    const first = clientIdsOf(await walkClientPages(admin, "/clients", 7));
    const second = clientIdsOf(await walkClientPages(admin, "/clients", 50));
    expect(second).toEqual(first);
  });

  it("USER walks only its own clients; other users' and other tenants' never appear", async ({ expect }) => {
    for (const limit of [7, 50]) {
      const ids = clientIdsOf(await walkClientPages(userA, "/clients", limit));
      expect(ids).toEqual(descendingIds(ofA));
    }
    const adminIds = new Set(clientIdsOf(await walkClientPages(admin, "/clients", 50)));
    for (const id of foreign) expect(adminIds.has(id)).toBe(false);
  });

  it.for([1, 7, 50])(
    "walks the caller's 137 consents with limit %i: each once, in key order",
    async (limit, { expect }) => {
      const pages = await walkConsentPages(consenter, limit);
      expect(pages).toHaveLength(Math.ceil(137 / limit));
      for (const page of pages.slice(0, -1)) {
        const lastItem = page.data[page.data.length - 1];
        expect(page.data).toHaveLength(limit);
        expect(page.last_modified_on).toBe(lastItem?.modified_at);
        expect(page.last_client_id).toBe(lastItem?.registered_client_id);
      }
      expect(pages.at(-1)?.last_modified_on).toBe(null);
      expect(pages.at(-1)?.last_client_id).toBe(null);
      // Only the caller's own consents in its own tenant.
      expect(consentIdsOf(pages)).toEqual(descendingIds(all));
    },
  );

  it("serves each page with an index range scan, never a sort", async ({ expect }) => {
    const db = createDb(env.DB);
    const cursor = { time: SAME_INSTANT, clientId: all[0] as string };
    const plans = [
      [clientPageQuery(db, principalOf(admin), 30, cursor), "clients_tenant_created_idx"],
      [clientPageQuery(db, principalOf(userA), 30, cursor), "clients_tenant_creator_created_idx"],
      [consentPageQuery(db, principalOf(consenter), 30, cursor), "consents_user_modified_idx"],
    ] as const;
    for (const [query, index] of plans) {
      const { sql, params } = query.toSQL();
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>();
      const details = results.map((r) => r.detail).join("\n");
      expect(details).toMatch(new RegExp(`USING (COVERING )?INDEX ${index} \\(.*<\\(\\?,\\?\\)\\)`));
      expect(details).not.toContain("TEMP B-TREE");
      expect(details).not.toMatch(/SCAN (clients|consents)/);
    }
  });
});

function principalOf(caller: Caller) {
  return {
    userId: caller.userId,
    userName: "Test User",
    userEmail: "user@example.com",
    tenantId: caller.tenantId,
    tenantUrl: "http://localhost:8092",
    role: caller.role,
  };
}

describe("walks that race with writes", () => {
  it("a client created or deleted between pages neither repeats nor skips the others", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const original = await createClientsAt(admin, 20);
    const deleted = new Set<string>();
    const added: string[] = [];
    const pages = await walkClientPages(admin, "/clients", 7, {
      between: async (index, sofar) => {
        if (index !== 0) return;
        const seen = clientIdsOf(sofar);
        const cursorRow = seen.at(-1) as string;
        const unseen = descendingIds(original).find((id) => !seen.includes(id) && id !== cursorRow) as string;
        // Delete the very row the cursor points at, and one not yet seen.
        for (const id of [cursorRow, unseen]) {
          expect((await call("DELETE", `/clients/${id}`, { caller: admin })).status).toBe(200);
          deleted.add(id);
        }
        // One at the same instant (it may sort either side of the cursor), one newer.
        added.push(...(await createClientsAt(admin, 1)), ...(await createClientsAt(admin, 1, SAME_INSTANT + 1)));
      },
    });
    const ids = clientIdsOf(pages);
    expect(new Set(ids).size).toBe(ids.length);
    const unseenDeleted = [...deleted].filter((id) => !ids.slice(0, 7).includes(id));
    for (const id of unseenDeleted) expect(ids).not.toContain(id);
    for (const id of original.filter((id) => !unseenDeleted.includes(id))) {
      expect(ids.filter((x) => x === id)).toHaveLength(1);
    }
    // The newer client is before the cursor, so this walk never reaches it.
    expect(ids).not.toContain(added[1]);
  });

  it("a consent added or removed between pages neither repeats nor skips the others", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const consenter = newCaller("USER", admin.tenantId);
    const clientIds = await createClientsAt(admin, 15);
    const extra = await createClientsAt(admin, 2);
    await env.DB.batch(clientIds.map((id) => consentInsert(consenter, id, SAME_INSTANT)));
    let removed = "";
    const pages = await walkConsentPages(consenter, 4, {
      between: async (index, sofar) => {
        if (index !== 0) return;
        removed = sofar[0]?.data.at(-1)?.registered_client_id as string;
        await env.DB.prepare("DELETE FROM consents WHERE tenant = ? AND user_id = ? AND client_id = ?")
          .bind(consenter.tenantId, consenter.userId, removed)
          .run();
        await env.DB.batch([
          consentInsert(consenter, extra[0] as string, SAME_INSTANT),
          consentInsert(consenter, extra[1] as string, SAME_INSTANT + 60_000),
        ]);
      },
    });
    const ids = consentIdsOf(pages);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of clientIds) expect(ids.filter((x) => x === id)).toHaveLength(1);
    expect(ids).not.toContain(extra[1]);
    expect(removed).not.toBe("");
  });
});

describe("page edges", () => {
  it("an empty list is an empty page with null cursors", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    expect(await (await call("GET", "/clients", { caller: admin })).json()).toEqual({
      data: [],
      limit: 30,
      last_client_id: null,
      last_created_on: null,
    });
    expect(await (await call("GET", "/clients/info?limit=50", { caller: admin })).json()).toEqual({
      data: [],
      limit: 50,
      last_client_id: null,
      last_created_on: null,
    });
    expect(await (await call("GET", "/clients/consents?limit=1", { caller: admin })).json()).toEqual({
      data: [],
      limit: 1,
      last_modified_on: null,
      last_client_id: null,
    });
  });

  it("never advertises an empty next page when the count is a multiple of the limit", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const ids = await createClientsAt(admin, 14);
    const pages = await walkClientPages(admin, "/clients", 7);
    expect(pages).toHaveLength(2);
    expect(pages[1]?.data).toHaveLength(7);
    expect(pages[1]?.last_client_id).toBe(null);
    expect(clientIdsOf(pages)).toEqual(descendingIds(ids));
  });

  it("orders newest first across different times, and a cursor with a zone offset means the same instant", async ({
    expect,
  }) => {
    const admin = newCaller("ADMIN");
    const clock = manualClock(SAME_INSTANT);
    const fetcher = appFetcher({ clock: clock.now });
    const created: { client_id: string; created_on: string }[] = [];
    for (let i = 0; i < 6; i++) {
      clock.set(SAME_INSTANT + (i % 3) * 1000);
      const res = await call("POST", "/clients", { caller: admin, body: clientBody(), fetcher });
      created.push((await res.json()) as { client_id: string; created_on: string });
    }
    const expected = keysetOrder(
      created,
      (c) => c.created_on,
      (c) => c.client_id,
    ).map((c) => c.client_id);
    const pages = await walkClientPages(admin, "/clients", 4);
    expect(clientIdsOf(pages)).toEqual(expected);

    const first = pages[0] as ClientPageBody;
    const z = first.last_created_on as string;
    const offset = new Date(Date.parse(z)).toISOString().replace("Z", "+00:00");
    const plusOne = `${z.slice(0, 11)}${String(Number(z.slice(11, 13)) + 1).padStart(2, "0")}${z.slice(13, 23)}+01:00`;
    const viaZ = await call(
      "GET",
      `/clients?limit=4&last_created_on=${encodeURIComponent(z)}&last_client_id=${first.last_client_id}`,
      { caller: admin },
    );
    const bodyZ = await viaZ.json();
    for (const variant of [offset, plusOne]) {
      const res = await call(
        "GET",
        `/clients?limit=4&last_created_on=${encodeURIComponent(variant)}&last_client_id=${first.last_client_id}`,
        { caller: admin },
      );
      expect(await res.json()).toEqual(bodyZ);
    }
  });
});

describe("bad query values are 400 with errors[]", () => {
  const validTime = "2026-11-28T12:00:00.000Z";
  const validId = "5c1e2a8e-7a3f-4a53-9e4b-1f6f1b0f5d2a";
  const cases: [string, string, string][] = [
    ["limit=0", "limit", "ErrorName"],
    ["limit=51", "limit", "ErrorName"],
    ["limit=-1", "limit", "ErrorPattern"],
    ["limit=1.5", "limit", "ErrorPattern"],
    ["limit=abc", "limit", "ErrorPattern"],
    ["limit=1e1", "limit", "ErrorPattern"],
    ["limit=", "limit", "EmptyFieldError"],
    ["limit=5&limit=6", "limit", "ErrorType"],
    ["limit=5&last_created_on=yesterday", "last_created_on", "ErrorPattern"],
    ["limit=5&last_created_on=2026-13-01T00:00:00.000Z", "last_created_on", "ErrorPattern"],
    ["limit=5&last_created_on=2026-02-30T00:00:00.000Z", "last_created_on", "ErrorPattern"],
    ["limit=5&last_created_on=2026-11-28", "last_created_on", "ErrorPattern"],
    ["limit=5&last_created_on=2026-11-28T12:00:00.0000Z", "last_created_on", "ErrorPattern"],
    ["limit=5&last_created_on=1764331200000", "last_created_on", "ErrorPattern"],
    [`limit=5&last_created_on=${validTime}&last_client_id=not-a-uuid`, "last_client_id", "ErrorPattern"],
    [`limit=5&last_client_id=${validId}`, "last_created_on", "EmptyFieldError"],
  ];

  const consentCases = cases.map(([query, field, code]): [string, string, string] => [
    query.replaceAll("last_created_on", "last_modified_on"),
    field.replace("last_created_on", "last_modified_on"),
    code,
  ]);
  const all: [string, string, string][] = [
    ...cases.map(([query, field, code]): [string, string, string] => [`/clients?${query}`, field, code]),
    ...cases.map(([query, field, code]): [string, string, string] => [`/clients/info?${query}`, field, code]),
    ...consentCases.map(([query, field, code]): [string, string, string] => [
      `/clients/consents?${query}`,
      field,
      code,
    ]),
    ["/clients/info", "limit", "EmptyFieldError"],
    [`/clients/info?last_created_on=${validTime}`, "limit", "EmptyFieldError"],
    ["/clients/consents", "limit", "EmptyFieldError"],
  ];

  it.for(all)("GET %s → 400 on %s (%s)", async ([path, field, code], { expect }) => {
    await expectBadQuery(expect, path, field, code);
  });
});

async function expectBadQuery(expect: ExpectStatic, path: string, field: string, code: string): Promise<void> {
  const caller = newCaller("ADMIN");
  const res = await call("GET", path, { caller });
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as { errors?: { field: string; code: string }[]; status: number };
  expect(body.status).toBe(400);
  expect(body.errors).toContainEqual(expect.objectContaining({ field, code }));
}
