import { beforeAll, describe, type ExpectStatic, it } from "vitest";
import { call, clientBody, createClientAs } from "../helpers/api";
import { SEEDED_SCOPES } from "../helpers/scopes";
import { type Caller, newCaller } from "../helpers/signature";
import { auditEventsOfTenant, clientsOfTenant, storedClient, warmUpWorker } from "../helpers/stored-state";

// SPEC §5 and §6: every failing rule is a 400 problem+json naming the field and DocSpace's code,
// and nothing is stored; the transport-level failures (400/404/405/413/415) likewise.

type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  request_id: string;
  errors?: { field: string; code: string; message: string }[];
};

const png = (bytes: number) => `data:image/png;base64,${btoa("\0".repeat(bytes))}`;
const urlOfLength = (length: number, prefix = "https://example.com/") => prefix + "a".repeat(length - prefix.length);
const distinctUris = (n: number) => Array.from({ length: n }, (_, i) => `https://app.example/cb/${i}`);

/** Sends a create as a fresh USER and returns the response plus that caller, whose tenant is otherwise empty. */
async function create(body: unknown): Promise<{ res: Response; caller: Caller }> {
  const caller = newCaller("USER");
  return { res: await call("POST", "/clients", { caller, body }), caller };
}

async function expectNothingStored(caller: Caller, expect: ExpectStatic) {
  expect(await clientsOfTenant(caller.tenantId)).toEqual([]);
  expect(await auditEventsOfTenant(caller.tenantId)).toEqual([]);
}

type RuleCase = readonly [label: string, overrides: Record<string, unknown>, field: string, code: string];

const REJECTED: RuleCase[] = [
  // name
  ["name missing", { name: undefined }, "name", "EmptyFieldError"],
  ["name empty", { name: "" }, "name", "EmptyFieldError"],
  ["name blank", { name: "    " }, "name", "EmptyFieldError"],
  ["name 2 characters", { name: "ab" }, "name", "ErrorName"],
  ["name 2 characters after trimming", { name: "  ab  " }, "name", "ErrorName"],
  ["name 257 characters", { name: "n".repeat(257) }, "name", "ErrorName"],
  // description
  ["description 256 characters", { description: "d".repeat(256) }, "description", "ErrorName"],
  // logo
  ["logo not a data URL", { logo: "https://example.com/logo.png" }, "logo", "ErrorPattern"],
  ["logo of an unsupported type", { logo: "data:image/gif;base64,R0lGODlh" }, "logo", "ErrorPattern"],
  ["logo without base64 marker", { logo: "data:image/png,iVBORw0KGgo=" }, "logo", "ErrorPattern"],
  ["logo with invalid base64 characters", { logo: "data:image/png;base64,@@@@" }, "logo", "ErrorPattern"],
  ["logo with truncated base64", { logo: "data:image/png;base64,iVBORw0KGgo" }, "logo", "ErrorPattern"],
  ["logo with empty data", { logo: "data:image/png;base64," }, "logo", "ErrorPattern"],
  ["logo decoding to 256,001 bytes", { logo: png(256_001) }, "logo", "ErrorName"],
  // absolute http(s) URL fields
  ...(["website_url", "terms_url", "policy_url", "logout_redirect_uri"] as const).flatMap((field): RuleCase[] => [
    [`${field} not a URL`, { [field]: "not a url" }, field, "ErrorWrongURL"],
    [`${field} relative`, { [field]: "/terms" }, field, "ErrorWrongURL"],
    [`${field} ftp`, { [field]: "ftp://example.com/file" }, field, "ErrorWrongURL"],
    [`${field} javascript:`, { [field]: "javascript:alert(1)" }, field, "ErrorWrongURL"],
    [`${field} with userinfo`, { [field]: "https://user:pass@example.com/" }, field, "ErrorWrongURL"],
    [`${field} with a user name only`, { [field]: "https://user@example.com/" }, field, "ErrorWrongURL"],
    [`${field} 2,049 characters`, { [field]: urlOfLength(2049) }, field, "ErrorName"],
  ]),
  // redirect_uris
  ["redirect_uris missing", { redirect_uris: undefined }, "redirect_uris", "EmptyFieldError"],
  ["redirect_uris empty", { redirect_uris: [] }, "redirect_uris", "EmptyFieldError"],
  ["redirect_uris 13 items", { redirect_uris: distinctUris(13) }, "redirect_uris", "ErrorName"],
  ["redirect URI 2,049 characters", { redirect_uris: [urlOfLength(2049)] }, "redirect_uris", "ErrorName"],
  [
    "redirect URI with a fragment",
    { redirect_uris: ["https://app.example/cb#frag"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  [
    "redirect URI with an empty fragment",
    { redirect_uris: ["https://app.example/cb#"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  [
    "redirect URI with a host wildcard",
    { redirect_uris: ["https://*.example.com/cb"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  ["redirect URI with a path wildcard", { redirect_uris: ["https://app.example/*"] }, "redirect_uris", "ErrorWrongURL"],
  ["redirect URI with userinfo", { redirect_uris: ["https://u:p@app.example/cb"] }, "redirect_uris", "ErrorWrongURL"],
  [
    "redirect URI http on a public host",
    { redirect_uris: ["http://app.example/cb"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  [
    "redirect URI http on a look-alike of localhost",
    { redirect_uris: ["http://localhost.evil.example/cb"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  [
    "redirect URI http on 127.0.0.1 as a subdomain",
    { redirect_uris: ["http://127.0.0.1.nip.io/cb"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  ["redirect URI relative", { redirect_uris: ["/callback"] }, "redirect_uris", "ErrorWrongURL"],
  ["redirect URI protocol-relative", { redirect_uris: ["//app.example/cb"] }, "redirect_uris", "ErrorWrongURL"],
  ["redirect URI not a URI", { redirect_uris: ["callback"] }, "redirect_uris", "ErrorWrongURL"],
  ["redirect URI with white space", { redirect_uris: ["https://app.example/c b"] }, "redirect_uris", "ErrorWrongURL"],
  [
    "redirect URI javascript:",
    { redirect_uris: ["javascript:alert(document.domain)"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  [
    "redirect URI JavaScript: in mixed case",
    { redirect_uris: ["JavaScript:alert(1)"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  [
    "redirect URI data:",
    { redirect_uris: ["data:text/html,<script>alert(1)</script>"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  ["redirect URI vbscript:", { redirect_uris: ["vbscript:msgbox(1)"] }, "redirect_uris", "ErrorWrongURL"],
  ["redirect URI file:", { redirect_uris: ["file:///etc/passwd"] }, "redirect_uris", "ErrorWrongURL"],
  ["redirect URI blob:", { redirect_uris: ["blob:https://app.example/uuid"] }, "redirect_uris", "ErrorWrongURL"],
  ["redirect URI about:", { redirect_uris: ["about:blank"] }, "redirect_uris", "ErrorWrongURL"],
  [
    "one bad redirect URI among good ones",
    { redirect_uris: ["https://app.example/cb", "http://app.example/cb"] },
    "redirect_uris",
    "ErrorWrongURL",
  ],
  // allowed_origins
  ["allowed_origins missing", { allowed_origins: undefined }, "allowed_origins", "EmptyFieldError"],
  ["allowed_origins empty", { allowed_origins: [] }, "allowed_origins", "EmptyFieldError"],
  [
    "allowed_origins 13 items",
    { allowed_origins: Array.from({ length: 13 }, (_, i) => `https://o${i}.example`) },
    "allowed_origins",
    "ErrorName",
  ],
  ["origin with a path", { allowed_origins: ["https://app.example/path"] }, "allowed_origins", "ErrorWrongURL"],
  ["origin with a query", { allowed_origins: ["https://app.example?x=1"] }, "allowed_origins", "ErrorWrongURL"],
  ["origin with a fragment", { allowed_origins: ["https://app.example#x"] }, "allowed_origins", "ErrorWrongURL"],
  [
    "origin with two trailing slashes",
    { allowed_origins: ["https://app.example//"] },
    "allowed_origins",
    "ErrorWrongURL",
  ],
  ["origin with userinfo", { allowed_origins: ["https://u:p@app.example"] }, "allowed_origins", "ErrorWrongURL"],
  ["origin http on a public host", { allowed_origins: ["http://app.example"] }, "allowed_origins", "ErrorWrongURL"],
  [
    "origin with a private-use scheme but no authority",
    { allowed_origins: ["com.example.app:/x"] },
    "allowed_origins",
    "ErrorWrongURL",
  ],
  ["origin not a URL", { allowed_origins: ["app.example"] }, "allowed_origins", "ErrorWrongURL"],
  ["origin wildcard", { allowed_origins: ["*"] }, "allowed_origins", "ErrorWrongURL"],
  // scopes
  ["scopes missing", { scopes: undefined }, "scopes", "EmptyFieldError"],
  ["scopes empty", { scopes: [] }, "scopes", "EmptyFieldError"],
  ["an unknown scope", { scopes: ["files:read", "files:delete"] }, "scopes", "ErrorInvalidScope"],
  ["an empty scope name", { scopes: [""] }, "scopes", "ErrorInvalidScope"],
  ["a scope in the wrong case", { scopes: ["OPENID"] }, "scopes", "ErrorInvalidScope"],
  // wrong types
  ["name as a number", { name: 12345 }, "name", "ErrorType"],
  ["description as an array", { description: ["x"] }, "description", "ErrorType"],
  ["redirect_uris as a string", { redirect_uris: "https://app.example/cb" }, "redirect_uris", "ErrorType"],
  ["a redirect URI as a number", { redirect_uris: [42] }, "redirect_uris", "ErrorType"],
  ["allowed_origins as an object", { allowed_origins: { a: "https://app.example" } }, "allowed_origins", "ErrorType"],
  ["scopes as a string", { scopes: "openid files:read" }, "scopes", "ErrorType"],
  ["allow_pkce as a string", { allow_pkce: "true" }, "allow_pkce", "ErrorType"],
  ["is_public as a number", { is_public: 1 }, "is_public", "ErrorType"],
  ["website_url as a boolean", { website_url: true }, "website_url", "ErrorType"],
];

beforeAll(warmUpWorker, 60_000);

describe("createClient: each failing rule of SPEC §6 is a 400 naming the field and code", () => {
  it.for(REJECTED)("%s", async ([, overrides, field, code], { expect }) => {
    const { res, caller } = await create(clientBody(overrides));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as Problem;
    expect(problem).toMatchObject({ status: 400, title: "Bad Request", instance: "/api/2.0/clients" });
    expect(problem.request_id).toBe(res.headers.get("x-request-id"));
    expect(problem.errors).toContainEqual({ field, code, message: expect.any(String) });
    await expectNothingStored(caller, expect);
  });

  it("reports every failing field at once", async ({ expect }) => {
    const { res, caller } = await create({
      name: "x",
      description: "d".repeat(300),
      website_url: "nope",
      redirect_uris: [],
      allowed_origins: ["http://app.example"],
      scopes: [],
    });
    expect(res.status).toBe(400);
    const fields = ((await res.json()) as Problem).errors?.map((e) => e.field).sort();
    expect(fields).toEqual(["allowed_origins", "description", "name", "redirect_uris", "scopes", "website_url"]);
    await expectNothingStored(caller, expect);
  });

  it("a body that is not a JSON object is 400", async ({ expect }) => {
    for (const rawBody of ["[]", "null", "42", '"client"']) {
      const caller = newCaller("USER");
      const res = await call("POST", "/clients", { caller, rawBody, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      await expectNothingStored(caller, expect);
    }
  });
});

describe("createClient: the boundaries and allowed shapes are accepted", () => {
  it.for([
    ["name of exactly 3 characters", { name: "abc" }],
    ["name of exactly 256 characters", { name: "n".repeat(256) }],
    ["description of exactly 255 characters", { description: "d".repeat(255) }],
    ["an empty description", { description: "" }],
    ["null optional fields", { description: null, logo: null, website_url: null, logout_redirect_uri: null }],
    ["a jpeg logo", { logo: "data:image/jpeg;base64,/9j/4AAQ" }],
    ["a jpg logo", { logo: "data:image/jpg;base64,/9j/4AAQ" }],
    ["an svg logo", { logo: "data:image/svg+xml;base64,PHN2Zy8+" }],
    ["a logo decoding to exactly 256,000 bytes", { logo: png(256_000) }],
    ["URL fields of exactly 2,048 characters", { website_url: urlOfLength(2048), terms_url: urlOfLength(2048) }],
    ["http URL fields", { website_url: "http://example.com", policy_url: "http://example.com/p" }],
    ["12 redirect URIs", { redirect_uris: distinctUris(12) }],
    ["13 redirect URIs that collapse to 12", { redirect_uris: [...distinctUris(12), "https://app.example/cb/0"] }],
    ["a redirect URI of exactly 2,048 characters", { redirect_uris: [urlOfLength(2048)] }],
    ["every scope", { scopes: SEEDED_SCOPES.map((s) => s.name) }],
    ["is_public false (ignored)", { is_public: false }],
  ] as const)("%s", async ([, overrides], { expect }) => {
    const { res } = await create(clientBody(overrides));
    expect(res.status).toBe(201);
  });

  it.for([
    "https://app.example/callback",
    "https://app.example:8443/oauth/cb?state=fixed",
    "http://127.0.0.1/cb",
    "http://127.0.0.1:49152/cb",
    "http://[::1]:8080/cb",
    "http://localhost/cb",
    "http://localhost:3000/oauth/callback",
    "com.example.app:/oauth2redirect",
    "com.example.app:/cb",
    "claude://cb",
    "msauth.com.example.app://auth",
  ])("redirect URI %s is accepted and stored as sent", async (uri, { expect }) => {
    const { res } = await create(clientBody({ redirect_uris: [uri] }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { client_id: string; redirect_uris: string[] };
    expect(body.redirect_uris).toEqual([uri]);
    expect(JSON.parse((await storedClient(body.client_id))?.redirect_uris ?? "null")).toEqual([uri]);
  });

  it.for([
    ["https://app.example", "https://app.example"],
    ["https://app.example/", "https://app.example"],
    ["https://app.example:8443/", "https://app.example:8443"],
    ["https://app.example:443", "https://app.example"],
    ["https://APP.Example", "https://app.example"],
    ["http://localhost:3000/", "http://localhost:3000"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
    ["http://[::1]:5173/", "http://[::1]:5173"],
    ["com.example.app://x", "com.example.app://x"],
  ] as const)("origin %s is stored as %s", async ([origin, stored], { expect }) => {
    const { res } = await create(clientBody({ allowed_origins: [origin] }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { client_id: string; allowed_origins: string[] };
    expect(body.allowed_origins).toEqual([stored]);
    expect(JSON.parse((await storedClient(body.client_id))?.allowed_origins ?? "null")).toEqual([stored]);
  });

  it("origins that differ only by a trailing slash collapse into one", async ({ expect }) => {
    const { res } = await create(
      clientBody({ allowed_origins: ["https://a.example/", "https://a.example", "https://b.example/"] }),
    );
    expect(res.status).toBe(201);
    expect(((await res.json()) as { allowed_origins: string[] }).allowed_origins).toEqual([
      "https://a.example",
      "https://b.example",
    ]);
  });

  it("unknown fields are ignored, not stored, not echoed", async ({ expect }) => {
    const { res } = await create(clientBody({ color: "blue", secret: "x", __proto__: { admin: true } }));
    expect(res.status).toBe(201);
    const text = await res.clone().text();
    expect(text).not.toContain("color");
    const body = (await res.json()) as { client_id: string };
    expect(JSON.stringify(await storedClient(body.client_id))).not.toContain("blue");
  });
});

describe("request-level failures", () => {
  it("malformed JSON is 400 and stores nothing", async ({ expect }) => {
    for (const rawBody of ["{", '{"name": "x",}', "{'name': 'x'}", "", "\u0000"]) {
      const caller = newCaller("USER");
      const res = await call("POST", "/clients", { caller, rawBody, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
      const problem = (await res.json()) as Problem;
      expect(problem.detail).not.toMatch(/Unexpected|SyntaxError|position/);
      await expectNothingStored(caller, expect);
    }
  });

  it("a body that is not application/json is 415 and stores nothing", async ({ expect }) => {
    const json = JSON.stringify(clientBody());
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", undefined]) {
      const caller = newCaller("USER");
      const res = await call("POST", "/clients", {
        caller,
        rawBody: json,
        headers: contentType ? { "content-type": contentType } : {},
      });
      expect(res.status).toBe(415);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      await expectNothingStored(caller, expect);
    }
  });

  it("a body over 1 MiB is 413 and stores nothing", async ({ expect }) => {
    const caller = newCaller("USER");
    const body = JSON.stringify(clientBody({ description: "d".repeat(1024 * 1024) }));
    const res = await call("POST", "/clients", {
      caller,
      rawBody: body,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    await expectNothingStored(caller, expect);
  });

  it("a streamed body over 1 MiB without Content-Length is 413", async ({ expect }) => {
    const caller = newCaller("USER");
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 20) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const res = await call("POST", "/clients", {
      caller,
      rawBody: stream,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(413);
    await expectNothingStored(caller, expect);
  });

  it("a body of exactly 1 MiB is not refused for its size", async ({ expect }) => {
    const caller = newCaller("USER");
    const base = JSON.stringify(clientBody());
    const padded = `${base.slice(0, -1)}${" ".repeat(1024 * 1024 - base.length)}}`;
    expect(new TextEncoder().encode(padded).length).toBe(1024 * 1024);
    const res = await call("POST", "/clients", {
      caller,
      rawBody: padded,
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(201);
  });

  it("unknown and malformed client ids are 404 on every operation", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const ids = [crypto.randomUUID(), "not-a-uuid", "00000000-0000-0000-0000-000000000000x", "%20", "1"];
    const update = { name: "Whatever", allowed_origins: ["https://example.com"] };
    for (const id of ids) {
      const cases: [string, string, unknown][] = [
        ["PUT", `/clients/${id}`, update],
        ["DELETE", `/clients/${id}`, undefined],
        ["PATCH", `/clients/${id}/regenerate`, undefined],
        ["PATCH", `/clients/${id}/activation`, { status: true }],
      ];
      for (const [method, path, body] of cases) {
        const res = await call(method, path, { caller: admin, body });
        expect(res.status, `${method} ${path}`).toBe(404);
        const problem = (await res.json()) as Problem;
        expect(problem.status).toBe(404);
      }
    }
    // A malformed id is indistinguishable from an unknown one, even with a bad body.
    const res = await call("PUT", "/clients/not-a-uuid", { caller: admin, body: { name: 1 } });
    expect(res.status).toBe(404);
  });

  it("a wrong method on a known path is 405 with Allow", async ({ expect }) => {
    const admin = newCaller("ADMIN");
    const created = await createClientAs(admin);
    const cases: [string, string, string][] = [
      ["POST", `/clients/${created.client_id}/regenerate`, "PATCH"],
      ["PUT", `/clients/${created.client_id}/activation`, "PATCH"],
      ["GET", `/clients/${created.client_id}/revoke`, "DELETE"],
      ["PATCH", "/clients", "POST"],
    ];
    for (const [method, path, allowed] of cases) {
      const res = await call(method, path, { caller: admin });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("allow")?.split(/,\s*/)).toContain(allowed);
    }
    expect(await storedClient(created.client_id)).toMatchObject({ enabled: 1 });
  });

  it("an unknown route is 404", async ({ expect }) => {
    const res = await call("GET", "/no-such-thing", { caller: newCaller("ADMIN") });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});
