import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, type ExpectStatic, test, vi } from "vitest";
import { MAX_BODY_BYTES } from "../../src/middleware/json-body";
import { call, clientBody, createClientAs } from "../helpers/api";
import {
  assertProperty,
  CLIENT_ID_ENDPOINTS,
  COLLECTION_ENDPOINTS,
  casesSoFar,
  checkResponse,
  cleanDbReport,
  countCase,
  dbInvariants,
  type EndpointCase,
  encodeAny,
  fcParams,
  type TenantState,
  tenantState,
} from "../helpers/reliability";
import { type Caller, newCaller, signFor } from "../helpers/signature";
import type { StoredClient } from "../helpers/stored-state";
import {
  activationBody,
  createBody,
  headerValue,
  nastyString,
  queryString,
  rawJsonText,
  SCOPES,
  updateBody,
} from "./arbitraries";

/**
 * Bad input, generated (issue 7): bodies, raw JSON texts, path ids, query strings and headers
 * thrown at every client endpoint. After every case: no 5xx, every 4xx a problem+json carrying the
 * request id, the tenant's stored state unchanged unless the response reported a change (and then
 * changed only where it said), and at the end of each property the database's own invariants.
 */

const TIMEOUT = 300_000;

/** The columns updateClient may never change (SPEC §4.2: fixed after creation, or not the caller's to set). */
const FIXED_COLUMNS = [
  "website_url",
  "terms_url",
  "policy_url",
  "logout_redirect_uri",
  "redirect_uris",
  "scopes",
  "enabled",
  "is_public",
  "created_on",
  "created_by",
] as const satisfies readonly (keyof StoredClient)[];

const clientRows = (s: TenantState) => new Map((JSON.parse(s.clients) as StoredClient[]).map((r) => [r.client_id, r]));
const childRows = (json: string, skip: Set<string>) =>
  (JSON.parse(json) as { client_id: string }[]).filter((r) => !skip.has(r.client_id));

let caller: Caller;
let signature: string;
let own: string;
let victim: Caller;
let victimClient: string;
let victimBefore: TenantState;
let state: TenantState;

beforeAll(async () => {
  // The access log writes one line per request; thousands of cases would drown the report.
  vi.spyOn(console, "log").mockImplementation(() => {});
  victim = newCaller("ADMIN");
  victimClient = (await createClientAs(victim)).client_id;
  victimBefore = await tenantState(victim.tenantId);
});

// A fresh tenant per property keeps each snapshot small (isolation by data, STYLE §6).
beforeEach(async () => {
  caller = newCaller("ADMIN");
  signature = await signFor(caller, { exp: Math.floor(Date.now() / 1000) + 3600 });
  own = (await createClientAs(caller)).client_id;
  state = await tenantState(caller.tenantId);
});

/** Removes a client a property created, once checked, so the tenant stays one client big. */
async function dropCreated(clientId: string): Promise<void> {
  await env.DB.prepare("DELETE FROM clients WHERE client_id = ?").bind(clientId).run();
  state = await tenantState(caller.tenantId);
}

afterAll(() => {
  console.info(`[bad-input] generated cases run: ${casesSoFar()}`);
  vi.restoreAllMocks();
});

async function send(
  method: string,
  path: string,
  options: { body?: unknown; raw?: BodyInit; headers?: Record<string, string>; unsigned?: boolean } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.raw !== undefined && !("content-type" in headers)) headers["content-type"] = "application/json";
  return call(method, path, {
    ...(options.unsigned ? {} : { signature }),
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.raw === undefined ? {} : { rawBody: options.raw }),
    headers,
  });
}

type Expect = ExpectStatic;

/**
 * The caller's tenant after a case: identical when the response was not a success; otherwise
 * changed only for `changed` clients (their secrets too when `secretsMayChange`) with one more
 * audit event. Always: every client of the tenant has exactly one current secret.
 */
async function nextState(
  expect: Expect,
  response: Response,
  changed: string[] = [],
  secretsMayChange = false,
): Promise<TenantState> {
  const after = await tenantState(caller.tenantId);
  expect(after.badSecrets, "clients without exactly one current secret").toBe(0);
  if (response.status >= 300 || changed.length === 0) {
    expect(after, `nothing changed on ${response.status}`).toEqual(state);
  } else {
    const skip = new Set(changed);
    const before = clientRows(state);
    const now = clientRows(after);
    for (const id of new Set([...before.keys(), ...now.keys()])) {
      if (!skip.has(id)) expect(now.get(id), `client ${id} untouched`).toEqual(before.get(id));
    }
    const secretSkip = secretsMayChange ? skip : new Set<string>();
    expect(childRows(after.secrets, secretSkip)).toEqual(childRows(state.secrets, secretSkip));
    expect(after.consents).toBe(state.consents);
    expect(after.audits - state.audits, "one audit event per change").toBeLessThanOrEqual(1);
  }
  state = after;
  return after;
}

async function expectCleanDatabase(expect: Expect): Promise<void> {
  expect(await dbInvariants()).toEqual(await cleanDbReport());
  expect(await tenantState(victim.tenantId), "another tenant is never touched").toEqual(victimBefore);
  expect(({} as Record<string, unknown>).polluted, "Object.prototype not polluted").toBe(undefined);
}

/** A stored origin (SPEC §6): what WHATWG serialises as the origin, or for a private-use scheme (whose WHATWG origin is "null") `scheme://host[:port]` lower-cased; never a wildcard. */
const isOrigin = (o: string) => {
  try {
    const url = new URL(o);
    if (o.includes("*")) return false;
    if (url.origin !== "null") return url.origin === o;
    return o === `${url.protocol}//${url.host}`.toLowerCase() && url.host !== "" && url.pathname === "";
  } catch {
    return false;
  }
};

describe("generated bodies", () => {
  test("createClient: no 5xx; a 201 stores exactly what it returned, anything else stores nothing", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    await assertProperty(
      fc.asyncProperty(createBody, async (body) => {
        countCase();
        const response = await send("POST", "/clients", { body });
        const parsed = (await checkResponse(expect, response)) as Record<string, unknown>;
        if (response.status !== 201) {
          await nextState(expect, response);
          return;
        }
        const id = String(parsed.client_id);
        const after = await nextState(expect, response, [id], true);
        const row = clientRows(after).get(id);
        expect(row?.name).toBe(String(body.name).trim());
        expect(row?.name).toBe(parsed.name);
        expect(row?.enabled, "enabled starts true whatever the body says").toBe(1);
        expect(row?.is_public, "is_public is always true").toBe(1);
        expect(row?.created_by).toBe(caller.userId);
        for (const list of [row?.redirect_uris, row?.allowed_origins, row?.scopes]) {
          const items = JSON.parse(String(list)) as string[];
          expect(items.length).toBeGreaterThanOrEqual(1);
          expect(items.length).toBeLessThanOrEqual(12);
          expect(new Set(items).size, "lists are sets").toBe(items.length);
        }
        expect((JSON.parse(String(row?.scopes)) as string[]).every((s) => SCOPES.includes(s))).toBe(true);
        expect((JSON.parse(String(row?.allowed_origins)) as string[]).every(isOrigin)).toBe(true);
        await dropCreated(id);
      }),
      fcParams("createClient bodies", 1200),
    );
    await expectCleanDatabase(expect);
  });

  test("updateClient: a 200 changes exactly the SPEC §4.2 fields of that client", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    await assertProperty(
      fc.asyncProperty(updateBody, async (body) => {
        countCase();
        const before = clientRows(state).get(own);
        const response = await send("PUT", `/clients/${own}`, { body });
        await checkResponse(expect, response);
        if (response.status !== 200) {
          await nextState(expect, response);
          return;
        }
        const row = clientRows(await nextState(expect, response, [own])).get(own);
        if (!row || !before) throw new Error("the fuzzed client vanished");
        expect(row.name).toBe(String(body.name).trim());
        expect(row.description).toBe("description" in body ? body.description : before.description);
        expect(row.logo).toBe("logo" in body ? body.logo : before.logo);
        expect(row.allow_pkce).toBe(body.allow_pkce === true ? 1 : 0);
        const origins = JSON.parse(row.allowed_origins) as string[];
        expect(origins.length).toBeGreaterThanOrEqual(1);
        expect(origins.length).toBeLessThanOrEqual(12);
        expect(origins.every(isOrigin)).toBe(true);
        // Fixed after creation (SPEC §4.2), whatever the body says.
        for (const column of FIXED_COLUMNS) expect(row[column]).toEqual(before[column]);
        expect(row.modified_on).toBeGreaterThanOrEqual(before.modified_on);
        expect(row.modified_by).toBe(caller.userId);
      }),
      fcParams("updateClient bodies", 1200),
    );
    await expectCleanDatabase(expect);
  });

  test("changeActivation: only a boolean status is accepted, and it is what gets stored", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    await assertProperty(
      fc.asyncProperty(activationBody, async (body) => {
        countCase();
        const response = await send("PATCH", `/clients/${own}/activation`, { body });
        await checkResponse(expect, response);
        const status = (body as { status?: unknown } | null)?.status;
        // A generated string can push the body past 1 MiB, which is refused before validation.
        const bodyBytes = new TextEncoder().encode(JSON.stringify(body)).length;
        if (bodyBytes > MAX_BODY_BYTES) expect(response.status, "SPEC §5: a body over 1 MiB is 413").toBe(413);
        else if (typeof status !== "boolean") expect(response.status, "SPEC §4.5: status must be a boolean").toBe(400);
        const after = await nextState(expect, response, response.status === 200 ? [own] : []);
        if (response.status === 200) expect(clientRows(after).get(own)?.enabled).toBe(status ? 1 : 0);
      }),
      fcParams("changeActivation bodies", 600),
    );
    await expectCleanDatabase(expect);
  });

  test("raw JSON texts (duplicate keys, __proto__, 20,000-deep nesting, NUL, BOM): parsed as JSON.parse reads them or refused", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const targets = [
      { method: "POST", path: () => "/clients" },
      { method: "PUT", path: () => `/clients/${own}` },
      { method: "PATCH", path: () => `/clients/${own}/activation` },
    ];
    await assertProperty(
      fc.asyncProperty(fc.constantFrom(...targets), rawJsonText, async (target, text) => {
        countCase();
        const response = await send(target.method, target.path(), { raw: text });
        const parsed = (await checkResponse(expect, response)) as Record<string, unknown>;
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        if (json === undefined && text.trim() !== "" && !text.startsWith("\uFEFF")) {
          expect(response.status, "text that is not JSON is a 400").toBe(400);
        }
        const changed = response.status >= 300 ? [] : target.method === "POST" ? [String(parsed.client_id)] : [own];
        const after = await nextState(expect, response, changed, target.method === "POST");
        if (response.status < 300 && json) {
          const row = clientRows(after).get(changed[0] ?? "");
          if (target.method === "PATCH") expect(row?.enabled).toBe(json.status ? 1 : 0);
          else expect(row?.name, "the last duplicate key wins, as in JSON.parse").toBe(String(json.name).trim());
          if (target.method === "POST") expect(row?.enabled, "__proto__ cannot set enabled").toBe(1);
        }
        if (target.method === "POST" && response.status === 201) await dropCreated(String(parsed.client_id));
        expect(({} as Record<string, unknown>).polluted).toBe(undefined);
      }),
      fcParams("raw JSON texts", 700),
    );
    await expectCleanDatabase(expect);
  });

  test("arrays of 10,000 items never get past the 12-item limits", { timeout: TIMEOUT }, async ({ expect }) => {
    const field = fc.constantFrom("redirect_uris", "allowed_origins", "scopes", "name", "description", "logo");
    const item = fc.oneof(
      fc.constantFrom("https://a.example/cb", "https://a.example", "openid", "files:read"),
      fc.nat().map((n) => `https://h${n}.example/cb`),
      nastyString,
    );
    await assertProperty(
      fc.asyncProperty(field, item, fc.boolean(), async (name, value, distinct) => {
        countCase();
        const items = Array.from({ length: 10_000 }, (_, i) => (distinct ? `${value}${i}` : value));
        const response = await send("POST", "/clients", { body: clientBody({ [name]: items }) });
        const parsed = (await checkResponse(expect, response)) as Record<string, unknown>;
        const id = String(parsed.client_id);
        const after = await nextState(expect, response, response.status === 201 ? [id] : [], true);
        if (response.status === 201) {
          const row = clientRows(after).get(id);
          for (const list of [row?.redirect_uris, row?.allowed_origins, row?.scopes]) {
            expect((JSON.parse(String(list)) as string[]).length).toBeLessThanOrEqual(12);
          }
          await dropCreated(id);
        }
      }),
      fcParams("10,000-item arrays", 30),
    );
    await expectCleanDatabase(expect);
  });
});

/** Ids that are not the caller's client: unknown, malformed, encoded, another tenant's. */
function hostileIds(): fc.Arbitrary<string> {
  // `/clients/`, `/clients/info`, `/clients/consents` and `/clients/tenant` are other routes
  // (the bulk deletes and lists), not ids; routing is covered by the query-string property. A lone
  // `.` (or `%2e`) is a dot segment: the URL parser turns `/clients/.` into `/clients/` before any
  // router sees it, so it names the collection (DELETE = "delete my clients"), not a client.
  const route = (id: string) =>
    ["", ".", "%2e", "info", "consents", "tenant"].includes(id.toLowerCase().replace(/%20|\s/g, ""));
  return fc
    .oneof(
      fc.uuid(),
      fc.uuid().map((u) => u.toUpperCase()),
      fc.uuid().map((u) => `${u}x`),
      fc.uuid().map((u) => u.slice(1)),
      fc.uuid().map((u) => u.replace(/-/g, "")),
      fc.uuid().map((u) => `{${u}}`),
      fc.string({ unit: "binary", maxLength: 60 }).map(encodeAny),
      nastyString.map(encodeAny),
      fc.constantFrom(
        victimClient,
        victimClient.toUpperCase(),
        `${victimClient}%00`,
        `${own}%00`,
        `${own}%20`,
        `${own}.json`,
        `${own};x=1`,
        `${own.slice(0, 35)}g`,
        "..%2F..%2Fclients",
        "%2e%2e",
        "%",
        "%zz",
        "null",
        "undefined",
        "0",
        "-1",
        "%F0%9F%99%82",
        "a".repeat(5000),
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
      ),
    )
    .filter((id) => !route(id));
}

describe("generated path ids, query strings and headers", () => {
  test("path ids: a client the caller does not own is never served, changed or revealed", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const endpoints = CLIENT_ID_ENDPOINTS;
    await assertProperty(
      fc.asyncProperty(fc.constantFrom(...endpoints), hostileIds(), async (endpoint, id) => {
        countCase();
        const response = await send(endpoint.method, endpoint.path(id), {
          ...(endpoint.body ? { body: endpoint.body() } : {}),
          unsigned: !endpoint.signed,
        });
        await checkResponse(expect, response);
        if (response.status < 300) {
          expect(endpoint.foreign, `${endpoint.id} served a client that is not the caller's`).not.toBe("hidden");
        }
        // Revoking consent for another tenant's client is an idempotent no-op for that tenant;
        // it records the caller's own audit event only.
        const after = await tenantState(caller.tenantId);
        expect(after.clients).toBe(state.clients);
        expect(after.secrets).toBe(state.secrets);
        expect(after.consents).toBe(state.consents);
        if (response.status >= 300) expect(after.audits).toBe(state.audits);
        state = after;
      }),
      fcParams("path ids", 1200),
    );
    await expectCleanDatabase(expect);
  });

  test("query strings on every endpoint: ignored or refused with a 400, never a 5xx", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    // Bulk deletes would empty the fuzzed tenant; they are swept by the fault suite instead.
    const endpoints = [...CLIENT_ID_ENDPOINTS, ...COLLECTION_ENDPOINTS].filter(
      (e) => e.id !== "deleteClients" && e.id !== "deleteTenantClients",
    );
    const targetOf = (e: EndpointCase) => (e.id === "deleteClient" ? crypto.randomUUID() : own);
    await assertProperty(
      fc.asyncProperty(fc.constantFrom(...endpoints), queryString, async (endpoint, query) => {
        countCase();
        const response = await send(endpoint.method, `${endpoint.path(targetOf(endpoint))}${query}`, {
          ...(endpoint.body ? { body: endpoint.body() } : {}),
          unsigned: !endpoint.signed,
        });
        const parsed = (await checkResponse(expect, response)) as Record<string, unknown>;
        if (response.status < 300 && Array.isArray(parsed.data)) {
          expect(parsed.data.length).toBeLessThanOrEqual(50);
        }
        const changed =
          !endpoint.mutates || response.status >= 300
            ? []
            : endpoint.id === "createClient"
              ? [String(parsed.client_id)]
              : [own];
        if (endpoint.id === "revokeUserClient" || endpoint.id === "revokeClientTokens") {
          const after = await tenantState(caller.tenantId);
          expect(after.clients).toBe(state.clients);
          state = after;
        } else {
          await nextState(
            expect,
            response,
            changed,
            endpoint.id === "createClient" || endpoint.id === "regenerateSecret",
          );
          if (endpoint.id === "createClient" && response.status === 201) await dropCreated(String(parsed.client_id));
        }
      }),
      fcParams("query strings", 800),
    );
    await expectCleanDatabase(expect);
  });

  test("headers: content type, request id, cookie-vs-header signature, user agent, client IP", {
    timeout: TIMEOUT,
  }, async ({ expect }) => {
    const contentType = fc.oneof(
      fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/problem+json",
        "application/vnd.api+json",
        "text/plain",
        "",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "json",
        "application/json;;;",
        " application/json ",
        "application/json, text/plain",
      ),
      headerValue,
    );
    const placement = fc.constantFrom("header", "cookie", "cookie-upper", "bad-cookie", "bad-header", "none");
    await assertProperty(
      fc.asyncProperty(
        contentType,
        headerValue,
        fc.option(headerValue),
        fc.option(headerValue),
        placement,
        fc.boolean(),
        async (ct, requestId, userAgent, ip, where, status) => {
          countCase();
          const headers = new Headers({ "content-type": ct, "x-request-id": requestId });
          if (userAgent !== null) headers.set("user-agent", userAgent);
          if (ip !== null) headers.set("cf-connecting-ip", ip);
          if (where === "header") headers.set("x-signature", signature);
          if (where === "cookie") headers.set("cookie", `theme=dark; x-signature=${signature}`);
          if (where === "cookie-upper") headers.set("cookie", `X-Signature=${signature}; a=b`);
          if (where === "bad-cookie") {
            headers.set("cookie", "x-signature=not.a.token");
            headers.set("x-signature", signature);
          }
          if (where === "bad-header") headers.set("x-signature", `${signature}x`);
          const response = await call("PATCH", `/clients/${own}/activation`, {
            rawBody: JSON.stringify({ status }),
            headers: Object.fromEntries(headers),
          });
          await checkResponse(expect, response, { sentRequestId: headers.get("x-request-id") ?? "" });
          const signed = where === "header" || where === "cookie" || where === "cookie-upper";
          // JSON media type with well-formed parameters, as the router's media-type gate reads it.
          const isJson = /^application\/([a-z.-]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i.test(
            headers.get("content-type") ?? "",
          );
          expect(response.status).toBe(!signed ? 403 : !isJson ? 415 : 200);
          const after = await nextState(expect, response, response.status === 200 ? [own] : []);
          if (response.status === 200) expect(clientRows(after).get(own)?.enabled).toBe(status ? 1 : 0);
        },
      ),
      fcParams("headers", 800),
    );
    await expectCleanDatabase(expect);
  });
});
