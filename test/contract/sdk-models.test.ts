import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createApp } from "../../src/app";
import { buildOpenApiDocument } from "../../src/lib/openapi";
import type { OpenApiDocument, SchemaObject } from "../../src/lib/openapi-types";
import { call, clientBody, createClientAs } from "../helpers/api";
import { operationsOf } from "../helpers/openapi-document";
import { SEEDED_SCOPES } from "../helpers/scopes";
import { type Caller, newCaller } from "../helpers/signature";

/**
 * SDK compatibility: the models of DocSpace's OAuth SDKs as SPEC §4.16 states them, written down
 * here by hand (not derived from our schemas), checked field for field — names, JSON types,
 * nullability, optionality — against both the published document and real JSON from the worker.
 * A field the gateway sends beyond the SDK model must be listed in that model's `additions`,
 * so nothing new reaches clients unnoticed.
 */

type Primitive = "string" | "integer" | "boolean" | "string[]" | "date-time";
type FieldType = Primitive | { model: Model } | { arrayOf: Model };
type Field = { type: FieldType; nullable?: boolean; optional?: boolean };
type Model = { name: string; fields: Record<string, Field>; additions?: Record<string, Field> };

const str = (nullable = false): Field => ({ type: "string", nullable });
const date: Field = { type: "date-time" };
const list: Field = { type: "string[]" };

const CLIENT_RESPONSE: Model = {
  name: "ClientResponse",
  fields: {
    client_id: str(),
    // Only in the createClient response (SPEC §4.1, §12.1).
    client_secret: { type: "string", optional: true },
    name: str(),
    description: str(true),
    tenant: { type: "integer" },
    scopes: list,
    enabled: { type: "boolean" },
    website_url: str(true),
    terms_url: str(true),
    policy_url: str(true),
    logo: str(true),
    authentication_methods: list,
    redirect_uris: list,
    allowed_origins: list,
    logout_redirect_uris: list,
    created_on: date,
    created_by: str(),
    modified_on: date,
    modified_by: str(),
    is_public: { type: "boolean" },
    allow_pkce: { type: "boolean" },
  },
};

const CLIENT_INFO_RESPONSE: Model = {
  name: "ClientInfoResponse",
  fields: {
    client_id: str(),
    name: str(),
    description: str(true),
    scopes: list,
    website_url: str(true),
    terms_url: str(true),
    policy_url: str(true),
    logo: str(true),
    authentication_methods: list,
    is_public: { type: "boolean" },
    created_on: date,
    created_by: str(),
    modified_on: date,
    modified_by: str(),
  },
};

const page = (item: Model): Model => ({
  name: `Page<${item.name}>`,
  fields: {
    data: { type: { arrayOf: item } },
    limit: { type: "integer" },
    last_client_id: str(true),
    last_created_on: { type: "date-time", nullable: true },
  },
});

const CONSENT: Model = {
  name: "Consent",
  fields: {
    registered_client_id: str(),
    scopes: str(),
    modified_at: date,
    client: { type: { model: CLIENT_INFO_RESPONSE }, nullable: true },
  },
};

const CONSENT_PAGE: Model = {
  name: "ConsentPage",
  fields: {
    data: { type: { arrayOf: CONSENT } },
    limit: { type: "integer" },
    last_modified_on: { type: "date-time", nullable: true },
  },
  // The tie-breaker of the consent cursor (SPEC §4.12), beside DocSpace's fields.
  additions: { last_client_id: str(true) },
};

const SCOPE_RESPONSE: Model = { name: "ScopeResponse", fields: { name: str(), group: str(), type: str() } };

const CLIENT_SECRET_RESPONSE: Model = {
  name: "ClientSecretResponse",
  fields: { client_secret: str() },
  // Present only when a grace period was asked for (`grace_period`).
  additions: { previous_secret_expires_at: { type: "date-time", optional: true } },
};

/** The SDK's `object` return type: the gateway answers `{}` (SPEC §4). */
const EMPTY_OBJECT: Model = { name: "object", fields: {} };

const CREATE_CLIENT_REQUEST: Model = {
  name: "CreateClientRequest",
  fields: {
    name: str(),
    description: { type: "string", optional: true },
    logo: { type: "string", optional: true },
    scopes: list,
    allow_pkce: { type: "boolean", optional: true },
    is_public: { type: "boolean", optional: true },
    website_url: { type: "string", optional: true },
    terms_url: { type: "string", optional: true },
    policy_url: { type: "string", optional: true },
    redirect_uris: list,
    allowed_origins: list,
    logout_redirect_uri: { type: "string", optional: true },
  },
};

const UPDATE_CLIENT_REQUEST: Model = {
  name: "UpdateClientRequest",
  fields: {
    name: str(),
    description: { type: "string", optional: true },
    logo: { type: "string", optional: true },
    allow_pkce: { type: "boolean", optional: true },
    is_public: { type: "boolean", optional: true },
    allowed_origins: list,
  },
};

const CHANGE_ACTIVATION_REQUEST: Model = {
  name: "ChangeClientActivationRequest",
  fields: { status: { type: "boolean" } },
};

// ---------------------------------------------------------------------------------------------
// Checking JSON values against a model.

const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function valueViolations(value: unknown, field: Field, at: string): string[] {
  if (value === null) return field.nullable ? [] : [`${at} is null`];
  const { type } = field;
  if (type === "string") return typeof value === "string" ? [] : [`${at} is not a string`];
  if (type === "integer") return Number.isInteger(value) ? [] : [`${at} is not an integer`];
  if (type === "boolean") return typeof value === "boolean" ? [] : [`${at} is not a boolean`];
  if (type === "date-time")
    return typeof value === "string" && ISO_MS_UTC.test(value) && !Number.isNaN(Date.parse(value))
      ? []
      : [`${at} is not an ISO-8601 UTC date with milliseconds`];
  if (type === "string[]")
    return Array.isArray(value) && value.every((v) => typeof v === "string") ? [] : [`${at} is not a string[]`];
  if ("model" in type) return modelViolations(value, type.model, at);
  if (!Array.isArray(value)) return [`${at} is not an array`];
  return value.flatMap((item, i) => modelViolations(item, type.arrayOf, `${at}[${i}]`));
}

/** Every way `value` differs from the model: a missing field, an unknown field, a wrong type. */
function modelViolations(value: unknown, model: Model, at = model.name): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [`${at} is not an object`];
  const fields = { ...model.fields, ...model.additions };
  const record = value as Record<string, unknown>;
  const out: string[] = [];
  for (const [name, field] of Object.entries(fields)) {
    if (!(name in record)) {
      if (!field.optional) out.push(`${at}.${name} is missing`);
      continue;
    }
    out.push(...valueViolations(record[name], field, `${at}.${name}`));
  }
  for (const name of Object.keys(record)) if (!(name in fields)) out.push(`${at}.${name} is not in the SDK model`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checking the document's schemas against a model.

function resolve(document: OpenApiDocument, schema: SchemaObject): SchemaObject {
  const ref = schema.$ref;
  if (typeof ref !== "string") return schema;
  return resolve(document, document.components?.schemas?.[ref.split("/").pop() ?? ""] ?? {});
}

function typesOf(schema: SchemaObject): string[] {
  if (Array.isArray(schema.type)) return schema.type as string[];
  if (typeof schema.type === "string") return [schema.type];
  // zod-to-openapi writes a nullable $ref as anyOf: [{$ref}, {type: "null"}].
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as SchemaObject[]).flatMap((s) => typesOf(s));
  if (typeof schema.$ref === "string") return ["object"];
  return [];
}

function schemaFieldViolations(document: OpenApiDocument, raw: SchemaObject, field: Field, at: string): string[] {
  const schema = resolve(document, raw);
  const types = typesOf(schema);
  const out: string[] = [];
  if (types.includes("null") !== Boolean(field.nullable))
    out.push(`${at}: nullable is ${types.includes("null")}, SDK says ${Boolean(field.nullable)}`);
  const { type } = field;
  const expected =
    type === "string[]"
      ? "array"
      : type === "date-time"
        ? "string"
        : typeof type === "string"
          ? type
          : "model" in type
            ? "object"
            : "array";
  if (!types.includes(expected)) out.push(`${at}: type ${JSON.stringify(types)}, SDK says ${expected}`);
  if (type === "string[]") {
    const items = resolve(document, (schema.items as SchemaObject | undefined) ?? {});
    if (!typesOf(items).includes("string")) out.push(`${at}: items are not strings`);
  }
  if (type === "date-time" && schema.format !== "date-time") out.push(`${at}: not documented as date-time`);
  if (typeof type === "object" && "model" in type) {
    const branch = Array.isArray(schema.anyOf)
      ? ((schema.anyOf as SchemaObject[]).find((s) => !typesOf(s).includes("null")) ?? {})
      : schema;
    out.push(...schemaModelViolations(document, branch, type.model, at));
  }
  if (typeof type === "object" && "arrayOf" in type) {
    out.push(...schemaModelViolations(document, (schema.items as SchemaObject | undefined) ?? {}, type.arrayOf, at));
  }
  return out;
}

/** Every way the documented schema differs from the model (names, types, nullability, required). */
function schemaModelViolations(document: OpenApiDocument, raw: SchemaObject, model: Model, at = model.name): string[] {
  const schema = resolve(document, raw);
  const properties = (schema.properties ?? {}) as Record<string, SchemaObject>;
  const required = new Set((schema.required ?? []) as string[]);
  const fields = { ...model.fields, ...model.additions };
  const out: string[] = [];
  for (const [name, field] of Object.entries(fields)) {
    const property = properties[name];
    if (!property) {
      out.push(`${at}.${name} is not documented`);
      continue;
    }
    if (required.has(name) === Boolean(field.optional))
      out.push(`${at}.${name}: required is ${required.has(name)}, SDK optional is ${Boolean(field.optional)}`);
    out.push(...schemaFieldViolations(document, property, field, `${at}.${name}`));
  }
  for (const name of Object.keys(properties)) if (!(name in fields)) out.push(`${at}.${name} is not in the SDK model`);
  return out;
}

// ---------------------------------------------------------------------------------------------

type Actor = { caller: Caller; clientId: string };

async function newActor(overrides: Record<string, unknown> = {}): Promise<Actor> {
  const caller = newCaller("ADMIN");
  const created = await createClientAs(caller, overrides);
  return { caller, clientId: created.client_id };
}

async function jsonOf(response: Response, status: number): Promise<unknown> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  return JSON.parse(text);
}

// The document GET /api/2.0/openapi.json serves (test/integration/openapi.test.ts proves they are equal).
const DOCUMENT = buildOpenApiDocument(createApp());

/** The SDK's operations, the model of each one's success body, and a call that returns real JSON. */
const RESPONSE_CASES: {
  operationId: string;
  status: number;
  model: Model;
  /** When the body is an array of models. */
  array?: boolean;
  fetch: (actor: Actor) => Promise<unknown>;
}[] = [
  {
    operationId: "createClient",
    status: 201,
    model: CLIENT_RESPONSE,
    fetch: async ({ caller }) => jsonOf(await call("POST", "/clients", { caller, body: clientBody() }), 201),
  },
  {
    operationId: "getClient",
    status: 200,
    model: CLIENT_RESPONSE,
    fetch: async ({ caller, clientId }) => jsonOf(await call("GET", `/clients/${clientId}`, { caller }), 200),
  },
  {
    operationId: "getClients",
    status: 200,
    model: page(CLIENT_RESPONSE),
    fetch: async ({ caller }) => jsonOf(await call("GET", "/clients?limit=1", { caller }), 200),
  },
  {
    operationId: "getClientInfo",
    status: 200,
    model: CLIENT_INFO_RESPONSE,
    fetch: async ({ caller, clientId }) => jsonOf(await call("GET", `/clients/${clientId}/info`, { caller }), 200),
  },
  {
    operationId: "getClientsInfo",
    status: 200,
    model: page(CLIENT_INFO_RESPONSE),
    fetch: async ({ caller }) => jsonOf(await call("GET", "/clients/info?limit=1", { caller }), 200),
  },
  {
    operationId: "getPublicClientInfo",
    status: 200,
    model: CLIENT_INFO_RESPONSE,
    fetch: async ({ clientId }) => jsonOf(await call("GET", `/clients/${clientId}/public/info`), 200),
  },
  {
    operationId: "getConsents",
    status: 200,
    model: CONSENT_PAGE,
    fetch: async ({ caller, clientId }) => {
      await recordConsent(caller, clientId);
      return jsonOf(await call("GET", "/clients/consents?limit=5", { caller }), 200);
    },
  },
  {
    operationId: "getScopes",
    status: 200,
    model: SCOPE_RESPONSE,
    array: true,
    fetch: async ({ caller }) => jsonOf(await call("GET", "/scopes", { caller }), 200),
  },
  {
    operationId: "regenerateSecret",
    status: 200,
    model: CLIENT_SECRET_RESPONSE,
    fetch: async ({ caller, clientId }) =>
      jsonOf(await call("PATCH", `/clients/${clientId}/regenerate`, { caller }), 200),
  },
  {
    operationId: "updateClient",
    status: 200,
    model: EMPTY_OBJECT,
    fetch: async ({ caller, clientId }) =>
      jsonOf(
        await call("PUT", `/clients/${clientId}`, {
          caller,
          body: { name: "Renamed", allowed_origins: ["https://example.com"] },
        }),
        200,
      ),
  },
  {
    operationId: "changeActivation",
    status: 200,
    model: EMPTY_OBJECT,
    fetch: async ({ caller, clientId }) =>
      jsonOf(await call("PATCH", `/clients/${clientId}/activation`, { caller, body: { status: false } }), 200),
  },
  {
    operationId: "revokeUserClient",
    status: 200,
    model: EMPTY_OBJECT,
    fetch: async ({ caller, clientId }) => jsonOf(await call("DELETE", `/clients/${clientId}/revoke`, { caller }), 200),
  },
  {
    operationId: "deleteClient",
    status: 200,
    model: EMPTY_OBJECT,
    fetch: async ({ caller, clientId }) => jsonOf(await call("DELETE", `/clients/${clientId}`, { caller }), 200),
  },
  {
    operationId: "deleteClients",
    status: 200,
    model: EMPTY_OBJECT,
    fetch: async ({ caller }) => jsonOf(await call("DELETE", "/clients", { caller }), 200),
  },
  {
    operationId: "deleteTenantClients",
    status: 200,
    model: EMPTY_OBJECT,
    fetch: async ({ caller }) => jsonOf(await call("DELETE", "/clients/tenant", { caller }), 200),
  },
];

/** A consent for the caller, recorded the way the authorization server does it (service route). */
async function recordConsent(caller: Caller, clientId: string): Promise<void> {
  const response = await call("PUT", "/oauth2/consents", {
    headers: { authorization: `Bearer ${env.SERVICE_TOKENS.split(",")[0]}` },
    body: { client_id: clientId, user_id: caller.userId, tenant_id: caller.tenantId, scopes: ["openid"] },
  });
  if (response.status !== 200) throw new Error(`recordConsent: ${response.status} ${await response.text()}`);
}

function documentedSuccessSchema(document: OpenApiDocument, operationId: string, status: number) {
  const operation = operationsOf(document).find((op) => op.operation.operationId === operationId)?.operation;
  return operation?.responses[String(status)]?.content?.["application/json"]?.schema;
}

function documentedRequestSchema(document: OpenApiDocument, operationId: string) {
  const operation = operationsOf(document).find((op) => op.operation.operationId === operationId)?.operation;
  return operation?.requestBody?.content?.["application/json"]?.schema;
}

describe("the DocSpace SDK's response models", () => {
  it("are all served: every SDK operation is in the document", async ({ expect }) => {
    const ids = operationsOf(DOCUMENT).map((op) => op.operation.operationId);
    expect(ids).toEqual(expect.arrayContaining(RESPONSE_CASES.map((c) => c.operationId)));
  });

  it.for(RESPONSE_CASES)("$operationId: the documented $status schema is the SDK model", async (c, { expect }) => {
    const document = DOCUMENT;
    const schema = documentedSuccessSchema(document, c.operationId, c.status);
    expect(schema, `${c.operationId} documents a JSON ${c.status}`).toBeDefined();
    if (!schema) return;
    if (c.array) {
      const resolved = resolve(document, schema);
      expect(typesOf(resolved)).toEqual(["array"]);
      expect(schemaModelViolations(document, (resolved.items ?? {}) as SchemaObject, c.model)).toEqual([]);
    } else {
      expect(schemaModelViolations(document, schema, c.model)).toEqual([]);
    }
  });

  it.for(RESPONSE_CASES)("$operationId: the worker's JSON is the SDK model, field for field", async (c, { expect }) => {
    const body = await c.fetch(await newActor());
    if (c.array) {
      expect(Array.isArray(body)).toBe(true);
      expect((body as unknown[]).length).toBeGreaterThan(0);
      expect((body as unknown[]).flatMap((item, i) => modelViolations(item, c.model, `${c.model.name}[${i}]`))).toEqual(
        [],
      );
    } else {
      expect(modelViolations(body, c.model)).toEqual([]);
    }
  });

  it("sends client_secret exactly in createClient's response: 36 characters of [A-Za-z0-9]", async ({ expect }) => {
    const actor = await newActor();
    const created = (await jsonOf(
      await call("POST", "/clients", { caller: actor.caller, body: clientBody() }),
      201,
    )) as Record<string, unknown>;
    expect(created.client_secret).toMatch(/^[A-Za-z0-9]{36}$/);
    expect(created.client_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const read = (await jsonOf(
      await call("GET", `/clients/${created.client_id}`, { caller: actor.caller }),
      200,
    )) as Record<string, unknown>;
    expect(read).not.toHaveProperty("client_secret");
    const listed = (await jsonOf(await call("GET", "/clients?limit=50", { caller: actor.caller }), 200)) as {
      data: Record<string, unknown>[];
    };
    expect(listed.data.length).toBeGreaterThan(0);
    expect(listed.data.every((item) => !("client_secret" in item))).toBe(true);
  });

  it("uses null, not a missing field, for unset optional strings (a client made with required fields only)", async ({
    expect,
  }) => {
    const caller = newCaller("USER");
    const response = await call("POST", "/clients", {
      caller,
      body: {
        name: "Bare client",
        redirect_uris: ["https://bare.example/cb"],
        allowed_origins: ["https://bare.example"],
        scopes: ["openid"],
      },
    });
    const body = (await jsonOf(response, 201)) as Record<string, unknown>;
    expect(modelViolations(body, CLIENT_RESPONSE)).toEqual([]);
    for (const field of ["description", "website_url", "terms_url", "policy_url", "logo"]) {
      expect(body[field], field).toBeNull();
    }
    expect(body.logout_redirect_uris).toEqual([]);
    const info = await jsonOf(await call("GET", `/clients/${body.client_id}/public/info`), 200);
    expect(modelViolations(info, CLIENT_INFO_RESPONSE)).toEqual([]);
  });

  it("lists the nine DocSpace scopes with their groups and types", async ({ expect }) => {
    const scopes = (await jsonOf(await call("GET", "/scopes", { caller: newCaller("GUEST") }), 200)) as {
      name: string;
      group: string;
      type: string;
    }[];
    expect(scopes.map((s) => `${s.name} ${s.group} ${s.type}`).sort()).toEqual(
      SEEDED_SCOPES.map((s) => `${s.name} ${s.group} ${s.type}`).sort(),
    );
  });
});

describe("the DocSpace SDK's request models", () => {
  const cases = [
    { operationId: "createClient", model: CREATE_CLIENT_REQUEST },
    { operationId: "updateClient", model: UPDATE_CLIENT_REQUEST },
    { operationId: "changeActivation", model: CHANGE_ACTIVATION_REQUEST },
  ];

  it.for(cases)(
    "$operationId accepts every field of the SDK's request model, by name and type",
    async (c, { expect }) => {
      const document = DOCUMENT;
      const schema = documentedRequestSchema(document, c.operationId);
      expect(schema).toBeDefined();
      const properties = (resolve(document, schema ?? {}).properties ?? {}) as Record<string, SchemaObject>;
      for (const [name, field] of Object.entries(c.model.fields)) {
        expect(properties, `${c.operationId} documents ${name}`).toHaveProperty(name);
        const property = properties[name];
        if (property)
          expect(
            schemaFieldViolations(
              document,
              property,
              { ...field, nullable: typesOf(resolve(document, property)).includes("null") },
              name,
            ),
          ).toEqual([]);
      }
    },
  );

  it("accepts a createClient body with every SDK field set, as a generated client sends it", async ({ expect }) => {
    const caller = newCaller("ADMIN");
    const sdkBody = {
      name: "SDK client",
      description: "Made the way a generated client sends it",
      logo: "data:image/png;base64,iVBORw0KGgo=",
      scopes: ["files:read", "openid"],
      allow_pkce: true,
      is_public: false,
      website_url: "https://sdk.example",
      terms_url: "https://sdk.example/terms",
      policy_url: "https://sdk.example/privacy",
      redirect_uris: ["https://sdk.example/cb"],
      allowed_origins: ["https://sdk.example"],
      logout_redirect_uri: "https://sdk.example/logout",
    };
    expect(Object.keys(sdkBody).sort()).toEqual(Object.keys(CREATE_CLIENT_REQUEST.fields).sort());
    const created = (await jsonOf(await call("POST", "/clients", { caller, body: sdkBody }), 201)) as Record<
      string,
      unknown
    >;
    expect(modelViolations(created, CLIENT_RESPONSE)).toEqual([]);
    // is_public is accepted and ignored, as DocSpace does (SPEC §4.1).
    expect(created).toMatchObject({
      is_public: true,
      allow_pkce: true,
      logout_redirect_uris: [sdkBody.logout_redirect_uri],
    });
    expect(created.authentication_methods).toEqual(expect.arrayContaining(["client_secret_post", "none"]));

    const updateBody = {
      name: "SDK client v2",
      description: null,
      logo: null,
      allow_pkce: false,
      is_public: true,
      allowed_origins: ["https://sdk.example"],
    };
    expect(Object.keys(updateBody).sort()).toEqual(Object.keys(UPDATE_CLIENT_REQUEST.fields).sort());
    expect(await jsonOf(await call("PUT", `/clients/${created.client_id}`, { caller, body: updateBody }), 200)).toEqual(
      {},
    );
  });
});
