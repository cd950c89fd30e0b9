import { env, exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createApp } from "../../src/app";
import { isOAuthJsonPath } from "../../src/lib/oauth-error";
import { buildOpenApiDocument } from "../../src/lib/openapi";
import type { OpenApiDocument, OperationObject, SchemaObject } from "../../src/lib/openapi-types";
import { API_BASE } from "../../src/lib/paths";
import { PROBLEM_TYPES } from "../../src/lib/problem";
import { createClientAs } from "../helpers/api";
import { appFetcher } from "../helpers/app";
import {
  authorize,
  authorizeParams,
  consentFields,
  cookieValue,
  newAuthorizeClient,
  postDecision,
  postDocSpaceDecision,
  setCookies,
} from "../helpers/authorize";
import { unreachableDurableObjects } from "../helpers/faults";
import { grant, USERINFO_URL } from "../helpers/introspection";
import {
  fetchDocument,
  type Operation,
  operationsOf,
  SchemaChecker,
  validateOpenApiDocument,
} from "../helpers/openapi-document";
import { type Caller, newCaller, signFor } from "../helpers/signature";

/**
 * The published contract (GET /api/2.0/openapi.json) against the real worker. Everything here is
 * derived from the app and its document, so routes added later are covered without editing
 * this file: the document is valid OpenAPI 3.1; its operations and the app's routes are the same
 * set; every operation answers a success and its error cases with exactly what it documents
 * (status, media type, body schema, headers); every example validates against its schema.
 */

// Built synchronously from a fresh app so the operation list is known when tests are collected;
// a test below proves the worker serves this same document.
const DOCUMENT: OpenApiDocument = buildOpenApiDocument(createApp());
const OPERATIONS = operationsOf(DOCUMENT);
const GATEWAY = "http://gateway.test";
const SDK_OPERATION_IDS = [
  "createClient",
  "updateClient",
  "deleteClient",
  "regenerateSecret",
  "changeActivation",
  "revokeUserClient",
];

/**
 * Browser navigations answering HTML pages and redirects rather than JSON (AS §3, §4): their errors
 * are HTML pages, their success a 302 or a page, so the JSON sweep below does not fit them; they get
 * their own test ("the browser operations") against the same document.
 */
const BROWSER_OPERATIONS = new Set(["authorize", "decideAuthorization", "getLoginPage"]);
/**
 * Operations authorized by one of our access tokens (RFC 6750), not by the x-signature or a
 * service token: the sweep's actors hold none, so they get their own test ("the bearer operations").
 */
const BEARER_OPERATIONS = new Set(["getUserInfo", "postUserInfo"]);
const JSON_OPERATIONS = OPERATIONS.filter((op) => !BROWSER_OPERATIONS.has(op.id) && !BEARER_OPERATIONS.has(op.id));

type Fetcher = (request: Request) => Promise<Response>;
const workerFetch: Fetcher = (request) => exports.default.fetch(request);

/** A fresh admin in a fresh tenant, with one client of its own (data isolation per test). */
type Actor = { caller: Caller; signature: string; client: Awaited<ReturnType<typeof createClientAs>>; ip: string };

async function newActor(): Promise<Actor> {
  const caller = newCaller("ADMIN");
  const client = await createClientAs(caller);
  const ip = `2001:db8::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}`;
  // Signed for the gateway's origin: the token endpoint counts a signature only there (AS §2).
  return { caller, signature: await signFor(caller, { tenant_url: GATEWAY }), client, ip };
}

const serviceToken = () => (env.SERVICE_TOKENS ?? "").split(",")[0]?.trim() ?? "";

/** Puts the actor's own ids and secret where an example names them, so the example request can succeed. */
function personalise(example: unknown, actor: Actor): unknown {
  if (example === null || typeof example !== "object" || Array.isArray(example)) return example;
  const own: Record<string, unknown> = {
    client_id: actor.client.client_id,
    client_secret: actor.client.client_secret,
    user_id: actor.caller.userId,
    tenant_id: actor.caller.tenantId,
  };
  return Object.fromEntries(Object.entries(example).map(([key, value]) => [key, key in own ? own[key] : value]));
}

type Variant = {
  /** Omit credentials. */
  anonymous?: boolean;
  /** Value for every path parameter. */
  pathValue?: string;
  /** Value for every declared query parameter (default: the example of each required one). */
  queryValue?: string;
  body?: BodyInit;
  contentType?: string;
};

function requestFor({ method, path, operation }: Operation, actor: Actor, variant: Variant = {}): Request {
  const url = new URL(
    path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(variant.pathValue ?? (name === "clientId" ? actor.client.client_id : "x")),
    ),
    GATEWAY,
  );
  for (const parameter of operation.parameters ?? []) {
    if (parameter.in !== "query") continue;
    const example = parameter.example ?? parameter.schema?.example;
    if (variant.queryValue !== undefined) url.searchParams.set(parameter.name, variant.queryValue);
    else if (parameter.required) url.searchParams.set(parameter.name, String(example ?? "1"));
  }
  const headers = new Headers({ "cf-connecting-ip": actor.ip });
  const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
  if (!variant.anonymous) {
    if (schemes.includes("xSignatureHeader")) headers.set("x-signature", actor.signature);
    else if (schemes.includes("serviceBearer")) headers.set("authorization", `Bearer ${serviceToken()}`);
  }
  let body = variant.body;
  const media = operation.requestBody?.content?.["application/json"];
  if (body === undefined && media) body = JSON.stringify(personalise(media.example, actor));
  const form = operation.requestBody?.content?.[FORM];
  if (form) {
    // A form endpoint of the authorization server (the token endpoint): the documented parameter
    // examples with the actor's client, and the actor's x-signature (the personal_access_token grant).
    if (body === undefined)
      body = new URLSearchParams(personalise(formExample(form.schema), actor) as Record<string, string>);
    if (!variant.anonymous) headers.set("x-signature", actor.signature);
    headers.set("content-type", variant.contentType ?? FORM);
  } else if (body !== undefined) headers.set("content-type", variant.contentType ?? "application/json");
  return new Request(url, { method: method.toUpperCase(), headers, body });
}

const FORM = "application/x-www-form-urlencoded";

/** The example of each property of a form schema that has one. */
function formExample(schema: SchemaObject | undefined): Record<string, unknown> {
  const ref = typeof schema?.$ref === "string" ? schema.$ref.split("/").pop() : undefined;
  const resolved: SchemaObject | undefined = ref ? DOCUMENT.components?.schemas?.[ref] : schema;
  const properties = (resolved?.properties ?? {}) as Record<string, SchemaObject>;
  return Object.fromEntries(
    Object.entries(properties)
      .filter(([, property]) => property.example !== undefined)
      .map(([name, property]) => [name, property.example]),
  );
}

const hasFormBody = (operation: OperationObject) => operation.requestBody?.content?.[FORM] !== undefined;

const hasJsonBody = (operation: OperationObject) => operation.requestBody?.content?.["application/json"] !== undefined;

function requiredFields(document: OpenApiDocument, operation: OperationObject): string[] {
  const schema = operation.requestBody?.content?.["application/json"]?.schema;
  const ref = typeof schema?.$ref === "string" ? schema.$ref.split("/").pop() : undefined;
  const resolved: SchemaObject | undefined = ref ? document.components?.schemas?.[ref] : schema;
  return Array.isArray(resolved?.required) ? (resolved.required as string[]) : [];
}

describe("the document", () => {
  it("is what GET /api/2.0/openapi.json serves, as JSON with the standard headers", async ({ expect }) => {
    const response = await workerFetch(new Request(`${GATEWAY}/api/2.0/openapi.json`));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(response.headers.get("ratelimit-policy")).toMatch(/^"get";q=\d+;w=\d+$/);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(DOCUMENT)));
  });

  it("is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)", async ({ expect }) => {
    const result = await validateOpenApiDocument(await fetchDocument());
    expect(result.errors).toBeUndefined();
    expect(result).toMatchObject({ valid: true, version: "3.1" });
    expect(DOCUMENT.openapi).toBe("3.1.0");
  });

  it("lists exactly the routes registered on the app", async ({ expect }) => {
    const routed = new Set(
      createApp()
        // The API's routes and the authorization server's root endpoints; `GET /` only points at the
        // docs and is not part of either.
        .routes.filter((route) => route.method !== "ALL" && !route.path.includes("*") && route.path !== "/")
        .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}").replace(/(.)\/$/, "$1")}`),
    );
    const documented = new Set(OPERATIONS.map((op) => `${op.method.toUpperCase()} ${op.path}`));
    expect([...documented].filter((entry) => !routed.has(entry))).toEqual([]);
    expect([...routed].filter((entry) => !documented.has(entry))).toEqual([]);
    expect(documented.size).toBeGreaterThanOrEqual(SDK_OPERATION_IDS.length + 3);
    // Both halves are really there: the API under its base, the authorization server at the root (AS §1).
    expect([...documented].filter((entry) => !entry.includes(` ${API_BASE}/`)).sort()).toEqual([
      "GET /.well-known/oauth-authorization-server",
      "GET /.well-known/oauth-authorization-server/oauth2",
      "GET /.well-known/openid-configuration",
      "GET /login",
      "GET /oauth2/.well-known/openid-configuration",
      "GET /oauth2/authorize",
      "GET /oauth2/jwks",
      "GET /oauth2/userinfo",
      "POST /oauth2/authorize",
      "POST /oauth2/introspect",
      "POST /oauth2/revoke",
      "POST /oauth2/token",
      "POST /oauth2/userinfo",
    ]);
  });

  it("names every operation once, with the DocSpace SDK names for the SDK's operations", ({ expect }) => {
    const ids = OPERATIONS.map((op) => op.operation.operationId);
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining([...SDK_OPERATION_IDS, "getOpenApiDocument", "getDocsPage"]));
  });

  it("files every operation under a declared, described tag", ({ expect }) => {
    const declared = new Map((DOCUMENT.tags ?? []).map((tag) => [tag.name, tag.description]));
    for (const { id, operation } of OPERATIONS) {
      expect(operation.tags?.length, `${id} has a tag`).toBeGreaterThan(0);
      for (const tag of operation.tags ?? []) expect(declared.get(tag), `${id}: tag ${tag}`).toBeTruthy();
    }
    expect([...declared.keys()][0]).toBe("Client management");
  });

  it("declares the security schemes and applies one per route", ({ expect }) => {
    const schemes = DOCUMENT.components?.securitySchemes ?? {};
    expect(schemes.xSignatureCookie).toMatchObject({ type: "apiKey", in: "cookie", name: "x-signature" });
    expect(schemes.xSignatureHeader).toMatchObject({ type: "apiKey", in: "header", name: "x-signature" });
    expect(schemes.serviceBearer).toMatchObject({ type: "http", scheme: "bearer" });
    for (const { id, path, operation } of OPERATIONS) {
      const used = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
      for (const name of used) expect(schemes, `${id} uses ${name}`).toHaveProperty(name);
      // A signed route accepts the x-signature both ways; a service route only the bearer token.
      if (used.includes("xSignatureHeader")) expect(used, id).toContain("xSignatureCookie");
      if (path.startsWith("/api/2.0/oauth2/")) expect(used, id).toEqual(["serviceBearer"]);
    }
  });

  it("documents 429 and 500 on every operation, 503 on every write, and the standard headers on every response", ({
    expect,
  }) => {
    for (const { id, method, path, operation } of OPERATIONS) {
      const statuses = Object.keys(operation.responses);
      // A route never behind the limiter (the JWKS, AS §9) documents no 429 and no quota headers.
      const limited = operation["x-not-rate-limited"] === undefined;
      expect(statuses, id).toEqual(expect.arrayContaining(limited ? ["429", "500"] : ["500"]));
      if (!limited) expect(statuses, id).not.toContain("429");
      if (method !== "get") expect(statuses, id).toContain("503");
      expect(
        statuses.some((s) => s.startsWith("2")),
        id,
      ).toBe(true);
      for (const [status, response] of Object.entries(operation.responses)) {
        const headers = Object.keys(response.headers ?? {});
        expect(headers, `${id} ${status}`).toEqual(
          expect.arrayContaining(limited ? ["x-request-id", "RateLimit-Policy", "RateLimit"] : ["x-request-id"]),
        );
        if (!limited) expect(headers, `${id} ${status}`).not.toContain("RateLimit-Policy");
        if (status === "429") expect(headers, `${id} ${status}`).toContain("Retry-After");
        if (status.startsWith("4") || status.startsWith("5")) {
          const media = Object.keys(response.content ?? {});
          // A browser page's own errors are HTML pages (AS §4 steps 1–2: never JSON, never a redirect);
          // the authorization server's JSON endpoints answer RFC 6749 errors, not problem+json (AS §1).
          if (BROWSER_OPERATIONS.has(id) && media[0] === "text/html")
            expect(media, `${id} ${status}`).toEqual(["text/html"]);
          else if (isOAuthJsonPath(path)) expect(media, `${id} ${status}`).toEqual(["application/json"]);
          else expect(media, `${id} ${status}`).toEqual(["application/problem+json"]);
        }
      }
    }
  });

  it("gives every JSON request and response an example that validates against its schema", ({ expect }) => {
    const checker = new SchemaChecker(DOCUMENT);
    let examples = 0;
    for (const { id, operation } of OPERATIONS) {
      const bodies = [
        ["request", operation.requestBody?.content ?? {}] as const,
        ...Object.entries(operation.responses).map(([status, r]) => [status, r.content ?? {}] as const),
      ];
      for (const [where, content] of bodies) {
        for (const [mediaType, media] of Object.entries(content)) {
          if (!/json$/.test(mediaType) || !media.schema) continue;
          expect(media.example, `${id} ${where} ${mediaType} has an example`).toBeDefined();
          expect(checker.check(media.schema, media.example), `${id} ${where} example`).toBeUndefined();
          examples += 1;
        }
      }
    }
    expect(examples).toBeGreaterThan(OPERATIONS.length * 3);
  });

  it("shows each problem example with the status it is documented under", ({ expect }) => {
    for (const { id, operation } of OPERATIONS) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const example = response.content?.["application/problem+json"]?.example as { status?: number } | undefined;
        if (example) expect(example.status, `${id} ${status}`).toBe(Number(status));
      }
    }
  });
});

describe("the response check itself", () => {
  // Guards against a vacuous check: each of these responses breaks the createClient contract.
  const createClient = () => {
    const op = OPERATIONS.find((o) => o.operation.operationId === "createClient");
    if (!op) throw new Error("createClient is not documented");
    return op.operation;
  };
  const standardHeaders = { "x-request-id": "abc", "ratelimit-policy": '"post";q=10;w=60' };

  it.for([
    { label: "an undocumented status", status: 418, type: "application/json", body: "{}", headers: standardHeaders },
    {
      label: "a body missing fields",
      status: 201,
      type: "application/json",
      body: '{"client_id":"x"}',
      headers: standardHeaders,
    },
    {
      label: "a problem without request_id",
      status: 400,
      type: "application/problem+json",
      body: '{"type":"t","title":"Bad Request","status":400,"detail":"d","instance":"/"}',
      headers: standardHeaders,
    },
    {
      label: "an errors[] entry without code",
      status: 400,
      type: "application/problem+json",
      body: '{"type":"t","title":"Bad Request","status":400,"detail":"d","instance":"/","request_id":"r","errors":[{"field":"name","message":"m"}]}',
      headers: standardHeaders,
    },
    { label: "an undocumented media type", status: 400, type: "text/plain", body: "oops", headers: standardHeaders },
    {
      label: "a 429 without Retry-After",
      status: 429,
      type: "application/problem+json",
      body: '{"type":"t","title":"Too Many Requests","status":429,"detail":"d","instance":"/","request_id":"r"}',
      headers: standardHeaders,
    },
    {
      label: "a malformed RateLimit-Policy",
      status: 403,
      type: "application/problem+json",
      body: '{"type":"t","title":"Forbidden","status":403,"detail":"d","instance":"/","request_id":"r"}',
      headers: { "x-request-id": "abc", "ratelimit-policy": "10 per minute" },
    },
  ])("rejects $label", async (bad, { expect }) => {
    const response = new Response(bad.body, {
      status: bad.status,
      headers: { ...bad.headers, "content-type": bad.type },
    });
    expect(await new SchemaChecker(DOCUMENT).responseViolations(createClient(), response)).not.toEqual([]);
  });
});

describe("every operation answers as documented", () => {
  it.for(JSON_OPERATIONS)("$id: success and error responses match the documented schemas", async (op, { expect }) => {
    const checker = new SchemaChecker(DOCUMENT);
    const seen: string[] = [];
    const expectDocumented = async (label: string, request: Request, fetcher: Fetcher = workerFetch) => {
      const response = await fetcher(request);
      const problemBody = response.headers.get("content-type")?.startsWith("application/problem+json")
        ? ((await response.clone().json()) as { errors?: unknown[]; status?: number })
        : undefined;
      expect(await checker.responseViolations(op.operation, response), `${op.id} ${label}`).toEqual([]);
      if (problemBody) expect(problemBody.status, `${op.id} ${label}: body status`).toBe(response.status);
      seen.push(`${label}=${response.status}`);
      return { status: response.status, problemBody };
    };

    // The documented example request, with this test's own ids and secret filled in, succeeds.
    const success = await expectDocumented("example request", requestFor(op, await newActor()));
    expect(success.status, `${op.id} example request`).toBeGreaterThanOrEqual(200);
    expect(success.status, `${op.id} example request`).toBeLessThan(300);

    const secured = (op.operation.security ?? []).length > 0;
    if (secured) {
      const { status } = await expectDocumented(
        "no credentials",
        requestFor(op, await newActor(), { anonymous: true }),
      );
      expect([401, 403], `${op.id} no credentials`).toContain(status);
    }

    if (op.path.includes("{")) {
      const actor = await newActor();
      const malformed = await expectDocumented("malformed id", requestFor(op, actor, { pathValue: "not-an-id" }));
      expect(malformed.status, `${op.id} malformed id`).toBeGreaterThanOrEqual(400);
      await expectDocumented("unknown id", requestFor(op, actor, { pathValue: crypto.randomUUID() }));
    }

    if ((op.operation.parameters ?? []).some((p) => p.in === "query")) {
      await expectDocumented("garbage query", requestFor(op, await newActor(), { queryValue: "garbage" }));
    }

    if (hasJsonBody(op.operation)) {
      const actor = await newActor();
      const invalid = await expectDocumented("empty object body", requestFor(op, actor, { body: "{}" }));
      if (requiredFields(DOCUMENT, op.operation).length > 0) {
        expect(invalid.status, `${op.id} empty object body`).toBe(400);
        expect(invalid.problemBody?.errors?.length, `${op.id} errors[]`).toBeGreaterThan(0);
      }
      const broken = await expectDocumented("malformed JSON", requestFor(op, actor, { body: '{"name": ' }));
      expect(broken.status, `${op.id} malformed JSON`).toBe(400);
      const wrongType = await expectDocumented(
        "text/plain body",
        requestFor(op, actor, { body: "name=x", contentType: "text/plain" }),
      );
      expect(wrongType.status, `${op.id} text/plain`).toBe(415);
      const huge = JSON.stringify({ name: "x".repeat(1024 * 1024 + 16) });
      const tooLarge = await expectDocumented("oversized body", requestFor(op, actor, { body: huge }));
      expect(tooLarge.status, `${op.id} oversized`).toBe(413);
    }

    if (hasFormBody(op.operation)) {
      const actor = await newActor();
      const empty = await expectDocumented("empty form", requestFor(op, actor, { body: "" }));
      expect(empty.status, `${op.id} empty form`).toBe(400);
      const wrongType = await expectDocumented(
        "JSON instead of a form",
        requestFor(op, actor, { body: "{}", contentType: "application/json" }),
      );
      expect(wrongType.status, `${op.id} JSON body`).toBe(400);
      const tooLarge = await expectDocumented(
        "oversized form",
        requestFor(op, actor, { body: `scope=${"x".repeat(1024 * 1024)}` }),
      );
      expect(tooLarge.status, `${op.id} oversized form`).toBe(413);
    }

    // Over quota: with a quota of one request, the second answers 429 (or, for a route that is
    // deliberately not limited, succeeds again); either way exactly as documented.
    const onePerWindow = appFetcher({
      env: {
        RATE_LIMIT_GET: "1",
        RATE_LIMIT_POST: "1",
        RATE_LIMIT_PUT: "1",
        RATE_LIMIT_PATCH: "1",
        RATE_LIMIT_DELETE: "1",
        RATE_LIMIT_SERVICE: "1",
        RATE_LIMIT_TOKEN: "1",
      } as Partial<Env>,
    });
    const limitedActor = await newActor();
    await onePerWindow(requestFor(op, limitedActor));
    const limited = await expectDocumented("over quota", requestFor(op, limitedActor), onePerWindow);
    expect([429, success.status], `${op.id} over quota`).toContain(limited.status);

    // The limiter unreachable: reads fail open, writes fail closed with 503 (SPEC §10).
    const offline = unreachableDurableObjects(env.RATE_LIMITER as unknown as DurableObjectNamespace);
    const noLimiter = appFetcher({ env: { RATE_LIMITER: offline as unknown as Env["RATE_LIMITER"] } });
    const outage = await expectDocumented("limiter unreachable", requestFor(op, await newActor()), noLimiter);
    if (op.method === "get") expect(outage.status, `${op.id} limiter unreachable`).toBe(success.status);
    else expect([503, success.status], `${op.id} limiter unreachable`).toContain(outage.status);

    expect(seen.length).toBeGreaterThanOrEqual(3);
  });
});

describe("the bearer operations answer as documented", () => {
  it.for([...BEARER_OPERATIONS])(
    "%s: 200, 401 without or with a bad token, 403 without openid",
    async (id, { expect }) => {
      const op = OPERATIONS.find((o) => o.id === id);
      if (!op) throw new Error(`${id} is not documented`);
      const checker = new SchemaChecker(DOCUMENT);
      const send = (token?: string) =>
        workerFetch(
          new Request(USERINFO_URL.replace("http://localhost:8092", GATEWAY), {
            method: op.method.toUpperCase(),
            headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
          }),
        );
      const withOpenid = await grant();
      const withoutOpenid = await grant({ scopes: ["files:read"] });
      // Tokens are issued for the token endpoint's origin; userinfo judges them for its own.
      const sendAt = (token: string) =>
        workerFetch(
          new Request(USERINFO_URL, { method: op.method.toUpperCase(), headers: { authorization: `Bearer ${token}` } }),
        );
      const seen: number[] = [];
      for (const response of [
        await sendAt(withOpenid.accessToken),
        await send(),
        await send("garbage"),
        await sendAt(withoutOpenid.accessToken),
      ]) {
        expect(await checker.responseViolations(op.operation, response), `${id} ${response.status}`).toEqual([]);
        seen.push(response.status);
      }
      expect(seen).toEqual([200, 401, 401, 403]);
    },
  );
});

describe("the browser operations answer as documented", () => {
  const operation = (id: string) => {
    const op = OPERATIONS.find((o) => o.id === id);
    if (!op) throw new Error(`${id} is not documented`);
    return op.operation;
  };
  const violations = async (id: string, response: Response) =>
    new SchemaChecker(DOCUMENT).responseViolations(operation(id), response);

  it("authorize: consent page, error page, redirects", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const seen: number[] = [];
    for (const [query, options] of [
      [authorizeParams(client.client_id), { caller }],
      [authorizeParams(client.client_id, { scope: "openid" }), { caller }],
      [authorizeParams(client.client_id), {}],
      [authorizeParams(client.client_id, { response_type: "token" }), { caller }],
      [authorizeParams(crypto.randomUUID()), { caller }],
    ] as const) {
      const response = await authorize(query, options);
      seen.push(response.status);
      expect(await violations("authorize", response), String(response.status)).toEqual([]);
    }
    expect(seen).toEqual([200, 302, 302, 302, 400]);
  });

  it("decideAuthorization: 302, 200 with X-Redirect-URI, 400, 403", async ({ expect }) => {
    const { client } = await newAuthorizeClient();
    const caller = newCaller("USER");
    const page = await authorize(authorizeParams(client.client_id), { caller });
    const state = cookieValue(setCookies(page).get("client_state"));
    const fields = consentFields(await page.text());
    const form = { request_id: fields.requestId, csrf_token: fields.csrfToken, decision: "allow" };
    const crossSite = await postDecision(form, { caller, headers: { origin: "https://evil.example" } });
    const allowed = await postDecision(form, { caller });
    const replayed = await postDecision(form, { caller });
    const second = await authorize(authorizeParams(client.client_id, { scope: "files:write" }), { caller });
    const docspace = await postDocSpaceDecision(
      {
        client_id: client.client_id,
        state: cookieValue(setCookies(second).get("client_state")),
        scope: ["files:write"],
      },
      { caller },
    );
    expect(state).not.toBe("");
    const responses = [crossSite, allowed, replayed, docspace];
    expect(responses.map((r) => r.status)).toEqual([403, 302, 400, 200]);
    for (const response of responses) {
      expect(await violations("decideAuthorization", response), String(response.status)).toEqual([]);
    }
  });

  it("getLoginPage: the page on loopback, 404 elsewhere", async ({ expect }) => {
    const local = await workerFetch(new Request("http://127.0.0.1:8092/login"));
    const remote = await workerFetch(new Request(`${GATEWAY}/login`));
    expect([local.status, remote.status]).toEqual([200, 404]);
    expect(await violations("getLoginPage", local)).toEqual([]);
    expect(await violations("getLoginPage", remote)).toEqual([]);
  });
});

describe("the docs pages", () => {
  it("serves Swagger UI from the gateway's own assets, under a CSP that allows nothing else", async ({ expect }) => {
    const response = await workerFetch(new Request(`${GATEWAY}/api/2.0/docs`));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:/);
    const html = await response.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual(
      expect.arrayContaining([
        "/api/2.0/docs/assets/swagger-ui-bundle.js",
        "/api/2.0/docs/assets/swagger-initializer.js",
        "/api/2.0/docs/assets/swagger-ui.css",
      ]),
    );
    // Nothing is loaded from another origin.
    expect(sources.every((src) => src?.startsWith("/api/2.0/docs/assets/"))).toBe(true);
    expect(html).toContain('data-spec-url="/api/2.0/openapi.json"');
  });

  it("gives every problem type URI the gateway emits an anchor on /api/2.0/docs/problems", async ({ expect }) => {
    const response = await workerFetch(new Request(`${GATEWAY}/api/2.0/docs/problems`));
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const uri of Object.values(PROBLEM_TYPES)) {
      expect(uri.startsWith("/api/2.0/docs/problems#"), uri).toBe(true);
      expect(html, uri).toContain(`id="${uri.split("#")[1]}"`);
    }
  });
});
