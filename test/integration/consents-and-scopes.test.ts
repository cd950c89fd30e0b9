import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { toConsentResponse } from "../../src/schemas/presenters";
import { call, createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import { faultyD1 } from "../helpers/faults";
import { type ConsentPageBody, walkConsentPages } from "../helpers/paging";
import { LISTED_SCOPES } from "../helpers/scopes";
import { type Caller, newCaller, signFor } from "../helpers/signature";

// GET /clients/consents (SPEC §4.12) and GET /scopes (SPEC §4.13).

const BASE_TIME = Date.UTC(2026, 10, 1, 9, 0, 0);

function insertConsent(caller: Caller, clientId: string, modifiedOn: number, scopes = "files:read openid") {
  return env.DB.prepare(
    "INSERT INTO consents (tenant, user_id, client_id, scopes, modified_on) VALUES (?, ?, ?, ?, ?)",
  ).bind(caller.tenantId, caller.userId, clientId, scopes, modifiedOn);
}

async function consentPage(caller: Caller, query = "limit=50"): Promise<ConsentPageBody> {
  const res = await call("GET", `/clients/consents?${query}`, { caller });
  if (res.status !== 200) throw new Error(`consents: ${res.status} ${await res.text()}`);
  return (await res.json()) as ConsentPageBody;
}

describe("getScopes", () => {
  const expected = LISTED_SCOPES;

  it.for(["ADMIN", "USER", "GUEST"] as const)(
    "lists the seeded scopes, openid first, to a %s",
    async (role, { expect }) => {
      const res = await call("GET", "/scopes", { caller: newCaller(role) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(expected);
    },
  );

  it("reads the table, so a scope added to it is listed in name order", async ({ expect }) => {
    await env.DB.prepare("INSERT INTO scopes (name, \"group\", type) VALUES ('aaa:read', 'aaa', 'read')").run();
    try {
      const body = (await (await call("GET", "/scopes", { caller: newCaller("USER") })).json()) as { name: string }[];
      expect(body.map((s) => s.name)).toEqual(["openid", "aaa:read", ...expected.slice(1).map((s) => s.name)]);
    } finally {
      await env.DB.prepare("DELETE FROM scopes WHERE name = 'aaa:read'").run();
    }
  });

  it("refuses a request without a valid signature with 403", async ({ expect }) => {
    expect((await call("GET", "/scopes")).status).toBe(403);
    const forged = `${(await signFor(newCaller("ADMIN"))).slice(0, -4)}AAAA`;
    expect((await call("GET", "/scopes", { signature: forged })).status).toBe(403);
  });

  it("answers 503 when D1 is unavailable", async ({ expect }) => {
    const { db } = faultyD1(env.DB, { failFrom: 1 });
    const res = await call("GET", "/scopes", { caller: newCaller("USER"), fetcher: appFetcher({ env: { DB: db } }) });
    expect(res.status).toBe(503);
  });
});

describe("getConsents", () => {
  it("lists each consent with its scopes, time and the client's info, for any signed role", async ({ expect }) => {
    const owner = newCaller("ADMIN");
    const client = await createClientAs(owner, { name: "Consented app" });
    const info = await (await call("GET", `/clients/${client.client_id}/public/info`)).json();
    for (const role of ["ADMIN", "USER", "GUEST"] as const) {
      const caller = newCaller(role, owner.tenantId);
      await insertConsent(caller, client.client_id, BASE_TIME, "files:read openid").run();
      const page = await consentPage(caller);
      expect(page).toEqual({
        data: [
          {
            registered_client_id: client.client_id,
            scopes: "files:read openid",
            modified_at: "2026-11-01T09:00:00.000Z",
            client: info,
          },
        ],
        limit: 50,
        last_modified_on: null,
        last_client_id: null,
      });
    }
  });

  it("includes the info of a disabled client and of another tenant's client", async ({ expect }) => {
    const caller = newCaller("USER");
    const foreignOwner = newCaller("ADMIN");
    const foreign = await createClientAs(foreignOwner);
    const local = await createClientAs(newCaller("ADMIN", caller.tenantId));
    await call("PATCH", `/clients/${local.client_id}/activation`, {
      caller: newCaller("ADMIN", caller.tenantId),
      body: { status: false },
    });
    await env.DB.batch([
      insertConsent(caller, foreign.client_id, BASE_TIME),
      insertConsent(caller, local.client_id, BASE_TIME + 1),
    ]);
    const page = await consentPage(caller);
    expect(page.data.map((c) => c.registered_client_id)).toEqual([local.client_id, foreign.client_id]);
    expect(page.data.map((c) => (c.client as { client_id: string } | null)?.client_id)).toEqual([
      local.client_id,
      foreign.client_id,
    ]);
  });

  it("shows only the caller's own consents in its own tenant", async ({ expect }) => {
    const caller = newCaller("USER");
    const sameTenantOther = newCaller("USER", caller.tenantId);
    const sameUserElsewhere: Caller = { ...newCaller("USER"), userId: caller.userId };
    const a = await createClientAs(newCaller("ADMIN", caller.tenantId));
    const b = await createClientAs(newCaller("ADMIN", caller.tenantId));
    await env.DB.batch([
      insertConsent(caller, a.client_id, BASE_TIME),
      insertConsent(sameTenantOther, b.client_id, BASE_TIME),
      insertConsent(sameUserElsewhere, b.client_id, BASE_TIME),
    ]);
    expect((await consentPage(caller)).data.map((c) => c.registered_client_id)).toEqual([a.client_id]);
  });

  it("drops a consent whose client was deleted", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const caller = newCaller("USER", admin.tenantId);
    const client = await createClientAs(admin);
    await insertConsent(caller, client.client_id, BASE_TIME).run();
    expect((await consentPage(caller)).data).toHaveLength(1);
    expect((await call("DELETE", `/clients/${client.client_id}`, { caller: admin })).status).toBe(200);
    expect((await consentPage(caller)).data).toHaveLength(0);
  });

  it("renders client: null for a consent without a client (D1's foreign keys keep such rows from existing)", ({
    expect,
  }) => {
    const consent = {
      tenant: 1,
      userId: crypto.randomUUID(),
      clientId: crypto.randomUUID(),
      scopes: "openid",
      modifiedOn: BASE_TIME,
    };
    expect(toConsentResponse(consent, null)).toEqual({
      registered_client_id: consent.clientId,
      scopes: "openid",
      modified_at: "2026-11-01T09:00:00.000Z",
      client: null,
    });
  });

  it("pages DocSpace-style on last_modified_on alone when times differ", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const caller = newCaller("USER", admin.tenantId);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createClientAs(admin)).client_id);
    await env.DB.batch(ids.map((id, i) => insertConsent(caller, id, BASE_TIME + i * 1000)));
    const pages = await walkConsentPages(caller, 3, { withTieBreaker: false });
    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 1]);
    expect(pages.flatMap((p) => p.data.map((c) => c.registered_client_id))).toEqual([...ids].reverse());
  });

  it("without last_client_id continues strictly before last_modified_on (the tie-breaker is how ties survive)", async ({
    expect,
  }) => {
    const admin = newCaller("ADMIN");
    const caller = newCaller("USER", admin.tenantId);
    const tied = [(await createClientAs(admin)).client_id, (await createClientAs(admin)).client_id];
    const older = (await createClientAs(admin)).client_id;
    await env.DB.batch([
      insertConsent(caller, tied[0] as string, BASE_TIME + 5000),
      insertConsent(caller, tied[1] as string, BASE_TIME + 5000),
      insertConsent(caller, older, BASE_TIME),
    ]);
    const first = await consentPage(caller, "limit=1");
    const time = encodeURIComponent(first.last_modified_on as string);
    const withoutId = await consentPage(caller, `limit=5&last_modified_on=${time}`);
    expect(withoutId.data.map((c) => c.registered_client_id)).toEqual([older]);
    const withId = await consentPage(caller, `limit=5&last_modified_on=${time}&last_client_id=${first.last_client_id}`);
    expect(withId.data).toHaveLength(2);
    expect(withId.data[1]?.registered_client_id).toBe(older);
  });

  it("refuses a request without a signature with 403", async ({ expect }) => {
    expect((await call("GET", "/clients/consents?limit=5")).status).toBe(403);
  });
});
