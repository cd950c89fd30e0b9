import fc from "fast-check";
import { beforeAll, describe, type ExpectStatic, it } from "vitest";
import { normaliseOrigin, redirectUriProblem } from "../../src/schemas/url-rules";
import { call, clientBody, createClientAs } from "../helpers/api";
import { type Caller, newCaller } from "../helpers/signature";
import { auditEventsOfTenant, clientsOfTenant, storedClient, warmUpWorker } from "../helpers/stored-state";
import { validOrigin, validRedirect } from "../property/arbitraries";

// Issue 12 (SPEC §6): URLs that two parsers read differently, wildcard and private-use origins,
// names and descriptions that spoof, and a JavaScript Set that reached the API as `{}`. Every
// refusal is a 400 problem naming the field and DocSpace's code, and nothing is stored.

type FieldError = { field: string; code: string; message: string };
type Problem = { status: number; errors?: FieldError[] };
type Case = readonly [label: string, value: string];

const HTTP_URL_FIELDS = ["website_url", "terms_url", "policy_url", "logout_redirect_uri"] as const;

/** Written so that WHATWG (browsers, workerd) reads another URL than RFC 3986 or a string compare does. */
const AMBIGUOUS_URLS: Case[] = [
  ["a backslash before @", "https://evil.example\\@good.example/cb"],
  ["slash-backslash after the scheme", "https:/\\evil.example/cb"],
  ["no slashes after the scheme", "https:evil.example/cb"],
  ["one slash after the scheme", "https:/evil.example/cb"],
  ["three slashes after the scheme", "https:///evil.example/cb"],
  ["backslashes for slashes", "https:\\\\evil.example"],
  ["a newline in the host", "https://exa\nmple.com/"],
  ["a tab in the path", "https://example.com/c\tb"],
  ["a trailing newline", "https://example.com/cb\n"],
  ["a leading space", " https://example.com/cb"],
  ["a no-break space", "https://example.com/c\u00A0b"],
  ["an ideographic space", "https://example.com/c\u3000b"],
  ["NUL", "https://example.com/cb\u0000"],
  ["DEL", "https://example.com/c\u007Fb"],
  ["a C1 control", "https://example.com/c\u0085b"],
  ["a zero-width space in the host", "https://exa\u200Bmple.com/cb"],
  ["a bidi override in the path", "https://example.com/\u202Egnp.exe"],
  ["IPv4 in hex", "http://0x7f000001/cb"],
  ["IPv4 in short form", "https://127.1/cb"],
  ["a percent-encoded host", "https://ex%61mple.com/cb"],
  ["a Unicode host (IDNA differs between parsers)", "https://пример.рф/cb"],
  ["dot segments", "https://example.com/a/../cb"],
  ["empty user information", "https://@example.com/cb"],
  ["a port with a leading zero", "https://example.com:0443/cb"],
  ["an empty port", "https://example.com:/cb"],
];

const REDIRECT_ONLY: Case[] = [
  ["a user name", "https://user@app.example/cb"],
  ["user information on a private-use scheme", "com.example.app://u:p@host/cb"],
  ["empty user information on a private-use scheme", "claude://@cb"],
  ["dot segments on a private-use scheme", "claude://cb/../x"],
  ["a backslash on a private-use scheme", "com.example.app:\\cb"],
];

const AMBIGUOUS_ORIGINS: Case[] = [
  ["a backslash before @", "https://evil.example\\@good.example"],
  ["slash-backslash after the scheme", "https:/\\evil.example"],
  ["no slashes after the scheme", "https:evil.example"],
  ["three slashes after the scheme", "https:///evil.example"],
  ["a newline in the host", "https://exa\nmple.com"],
  ["a trailing space", "https://example.com "],
  ["NUL", "https://example.com\u0000"],
  ["a zero-width space in the host", "https://exa\u200Bmple.com"],
  ["IPv4 in hex", "http://0x7f000001"],
  ["IPv4 in short form", "https://127.1"],
  ["a percent-encoded host", "https://ex%61mple.com"],
  ["a Unicode host", "https://пример.рф"],
  ["empty user information", "https://@app.example"],
  ["a port with a leading zero", "https://app.example:0443"],
  ["an empty port", "https://app.example:"],
  ["a private-use port with a leading zero", "claude://host:0080"],
];

const WILDCARD_ORIGINS: Case[] = [
  ["a subdomain wildcard", "https://*.example.com"],
  ["only wildcards", "https://*.*"],
  ["a TLD wildcard", "https://app.*"],
  ["a wildcard host", "https://*"],
  ["a wildcard port", "https://app.example:*"],
  ["a wildcard on a private-use scheme", "claude://*.example.com"],
  ["a bare wildcard", "*"],
];

const REFUSED_ORIGIN_SCHEMES: Case[] = [
  ...["javascript", "data", "vbscript", "file", "blob", "about", "ws", "wss", "ftp"].map(
    (scheme): Case => [`the ${scheme} scheme`, `${scheme}://app.example`],
  ),
  ["http on a public host", "http://app.example"],
  ["a private-use scheme without //", "claude:app.example"],
  ["a private-use scheme without a host", "claude://"],
  ["a private-use scheme with a path", "claude://app.example/path"],
  ["a private-use scheme with a query", "claude://app.example?x=1"],
  ["a private-use scheme with user information", "claude://u@app.example"],
  ["a host that is not a host name", "claude://a!b"],
  ["an https host that is not a host name", "https://a!b.example"],
];

const REFUSED_NAMES: readonly (readonly [string, string, string])[] = [
  ["a right-to-left override", "Payroll\u202Etxt.exe", "ErrorPattern"],
  ...["\u202A", "\u202B", "\u202C", "\u202D", "\u2066", "\u2067", "\u2068", "\u2069"].map(
    (c) => [`bidi control U+${c.codePointAt(0)?.toString(16).toUpperCase()}`, `Pay${c}roll`, "ErrorPattern"] as const,
  ),
  ["NUL", "ab\u0000cd", "ErrorPattern"],
  ["BEL", "Reports\u0007", "ErrorPattern"],
  ["a newline inside", "Pay\nroll", "ErrorPattern"],
  ["a tab inside", "Pay\troll", "ErrorPattern"],
  ["DEL", "Pay\u007Froll", "ErrorPattern"],
  ["a C1 control", "Pay\u0085roll", "ErrorPattern"],
  ["zero-width spaces only", "\u200B\u200B\u200B", "ErrorName"],
  ["zero-width joiners around one letter", "\u200Da\u200D", "ErrorName"],
  ["Hangul fillers only", "\u3164\u3164\u3164", "ErrorName"],
  ["blank Braille patterns only", "\u2800\u2800\u2800", "ErrorName"],
  ["soft hyphens only", "\u00AD\u00AD\u00AD", "ErrorName"],
  ["combining marks on one letter", "e\u0301\u0301", "ErrorName"],
  ["two letters and a space", "a b", "ErrorName"],
];

/** Sends a create as a fresh USER and returns the response plus that caller, whose tenant is otherwise empty. */
async function create(body: unknown): Promise<{ res: Response; caller: Caller }> {
  const caller = newCaller("USER");
  return { res: await call("POST", "/clients", { caller, body }), caller };
}

/** Asserts a 400 naming `field` with `code`, that nothing was stored, and returns that field's errors. */
async function expectRefused(expect: ExpectStatic, body: unknown, field: string, code: string): Promise<FieldError[]> {
  const { res, caller } = await create(body);
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const errors = ((await res.json()) as Problem).errors ?? [];
  expect(errors).toContainEqual({ field, code, message: expect.any(String) });
  expect(await clientsOfTenant(caller.tenantId)).toEqual([]);
  expect(await auditEventsOfTenant(caller.tenantId)).toEqual([]);
  return errors.filter((e) => e.field === field);
}

/** Creates a client with `overrides`, expects 201, and returns the response body and the stored row. */
async function expectCreated(expect: ExpectStatic, overrides: Record<string, unknown>) {
  const { res } = await create(clientBody(overrides));
  expect(res.status).toBe(201);
  const body = (await res.json()) as Record<string, unknown> & { client_id: string };
  return { body, row: await storedClient(body.client_id) };
}

beforeAll(warmUpWorker, 60_000);

describe("item 1: a URL two parsers can read differently is refused in every URL field", () => {
  const cases = [
    ...HTTP_URL_FIELDS.flatMap((field) => AMBIGUOUS_URLS.map(([label, value]) => [field, label, value] as const)),
    ...[...AMBIGUOUS_URLS, ...REDIRECT_ONLY].map(([label, value]) => ["redirect_uris", label, value] as const),
    ...AMBIGUOUS_ORIGINS.map(([label, value]) => ["allowed_origins", label, value] as const),
  ];
  it.for(cases)("%s: %s", async ([field, , value], { expect }) => {
    const input = field === "redirect_uris" || field === "allowed_origins" ? [value] : value;
    await expectRefused(expect, clientBody({ [field]: input }), field, "ErrorWrongURL");
  });

  it("the message says how a parser reads the URL", async ({ expect }) => {
    const errors = await expectRefused(
      expect,
      clientBody({ redirect_uris: ["http://0x7f000001/cb"] }),
      "redirect_uris",
      "ErrorWrongURL",
    );
    expect(errors[0]?.message).toBe("redirect_uris[0] is ambiguous: a URL parser reads it as http://127.0.0.1/cb");
  });

  it.for([
    ["website_url", "https://example.com"],
    ["website_url", "https://Example.COM/Path?q=1#frag"],
    ["terms_url", "https://example.com:443/terms"],
    ["policy_url", "http://example.com"],
    ["policy_url", "https://example.com?x=1"],
    ["website_url", "https://xn--e1afmkfd.xn--p1ai/"],
    ["website_url", "https://[2001:db8::1]/x"],
    ["logout_redirect_uri", "https://example.com/%7Euser/logout"],
  ] as const)("%s %s is accepted and stored as sent", async ([field, value], { expect }) => {
    const { row } = await expectCreated(expect, { [field]: value });
    expect(row?.[field]).toBe(value);
  });

  it.for([
    "https://APP.example/cb",
    "https://app.example:443/cb",
    "http://127.0.0.1:8080/cb",
    "claude://CB",
    "Com.Example.App:/cb",
  ])("redirect URI %s (case and default port are read alike everywhere) is stored as sent", async (uri, { expect }) => {
    const { row } = await expectCreated(expect, { redirect_uris: [uri] });
    expect(JSON.parse(row?.redirect_uris ?? "null")).toEqual([uri]);
  });
});

describe("item 2: an origin never contains a wildcard", () => {
  it.for(WILDCARD_ORIGINS)("%s: %s", async ([, origin], { expect }) => {
    const errors = await expectRefused(
      expect,
      clientBody({ allowed_origins: ["https://ok.example", origin] }),
      "allowed_origins",
      "ErrorWrongURL",
    );
    expect(errors[0]?.message).toMatch(/allowed_origins\[1\] /);
  });
});

describe("item 18: origins with a private-use scheme, normalised as scheme://host[:port]", () => {
  it.for([
    ["claude://example.com", "claude://example.com"],
    ["claude://example.com/", "claude://example.com"],
    ["CLAUDE://Example.COM/", "claude://example.com"],
    ["com.example.app://connector", "com.example.app://connector"],
    ["claude://localhost:8080", "claude://localhost:8080"],
    ["claude://127.0.0.1", "claude://127.0.0.1"],
    ["claude://[::1]:9000/", "claude://[::1]:9000"],
  ] as const)("origin %s is stored as %s", async ([origin, stored], { expect }) => {
    const { body, row } = await expectCreated(expect, { allowed_origins: [origin] });
    expect(body.allowed_origins).toEqual([stored]);
    expect(JSON.parse(row?.allowed_origins ?? "null")).toEqual([stored]);
  });

  it("private-use origins that differ only in case or a trailing slash collapse into one", async ({ expect }) => {
    const { body } = await expectCreated(expect, {
      allowed_origins: ["claude://a.example", "CLAUDE://A.example/", "https://a.example"],
    });
    expect(body.allowed_origins).toEqual(["claude://a.example", "https://a.example"]);
  });

  it.for(REFUSED_ORIGIN_SCHEMES)("%s is refused: %s", async ([, origin], { expect }) => {
    await expectRefused(expect, clientBody({ allowed_origins: [origin] }), "allowed_origins", "ErrorWrongURL");
  });

  it("updateClient accepts a private-use origin and stores it normalised", async ({ expect }) => {
    const caller = newCaller("USER");
    const created = await createClientAs(caller);
    const body = { name: "Desktop connector", allowed_origins: ["Claude://Desktop.Example/"] };
    const res = await call("PUT", `/clients/${created.client_id}`, { caller, body });
    expect(res.status).toBe(200);
    expect(JSON.parse((await storedClient(created.client_id))?.allowed_origins ?? "null")).toEqual([
      "claude://desktop.example",
    ]);
  });
});

describe("item 3: names and descriptions that spoof what a person reads", () => {
  it.for(REFUSED_NAMES)("name with %s is refused", async ([, name, code], { expect }) => {
    await expectRefused(expect, clientBody({ name }), "name", code);
  });

  it.for([
    ["NUL", "Reads files\u0000"],
    ["a carriage return", "Line one\r\nLine two"],
    ["a right-to-left override", "Reads \u202Eselif"],
    ["a bidi isolate", "Reads \u2066files\u2069"],
    ["a C1 control", "Reads\u0085files"],
  ] as const)("description with %s is refused", async ([, description], { expect }) => {
    await expectRefused(expect, clientBody({ description }), "description", "ErrorPattern");
  });

  it.for([
    ["Unicode letters", "Zürich 東京 app", "Zürich 東京 app"],
    ["Arabic", "مرحبا بالعالم", "مرحبا بالعالم"],
    ["Devanagari with combining signs", "नमस्ते", "नमस्ते"],
    ["an emoji sequence with a zero-width joiner", "👩‍💻 tools", "👩‍💻 tools"],
    ["three letters and padding", "  abc  ", "abc"],
    ["a trailing newline, which trimming removes", "Reports\n", "Reports"],
  ] as const)("name with %s is accepted and stored trimmed", async ([, name, stored], { expect }) => {
    const { row } = await expectCreated(expect, { name });
    expect(row?.name).toBe(stored);
  });

  it("a description keeps its newlines and tabs", async ({ expect }) => {
    const description = "Reads rooms.\n\tWrites files: Zürich 東京.";
    const { row } = await expectCreated(expect, { description });
    expect(row?.description).toBe(description);
  });

  it("both codes at once: a forbidden character and too few visible characters", async ({ expect }) => {
    const errors = await expectRefused(expect, clientBody({ name: "\u202E\u200B\u200B" }), "name", "ErrorPattern");
    expect(errors.map((e) => e.code).sort()).toEqual(["ErrorName", "ErrorPattern"]);
  });

  it("updateClient applies the same rules and changes nothing when they fail", async ({ expect }) => {
    const caller = newCaller("USER");
    const created = await createClientAs(caller);
    const before = await storedClient(created.client_id);
    for (const body of [
      { name: "Payroll\u202Etxt.exe", allowed_origins: ["https://example.com"] },
      { name: "\u200B\u200B\u200B", allowed_origins: ["https://example.com"] },
      { name: "Fine name", description: "bell\u0007", allowed_origins: ["https://example.com"] },
      { name: "Fine name", allowed_origins: ["https://*.example.com"] },
    ]) {
      const res = await call("PUT", `/clients/${created.client_id}`, { caller, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await storedClient(created.client_id)).toEqual(before);
  });
});

describe("item 17: an array field that received {} (a serialised JavaScript Set) says so", () => {
  const SET_MESSAGE = "expected an array (a JavaScript Set serialises to {} — pass an array)";

  it.for(["redirect_uris", "allowed_origins", "scopes"])("createClient %s: {}", async (field, { expect }) => {
    const body = JSON.parse(JSON.stringify(clientBody({ [field]: new Set(["x"]) })));
    expect(body[field]).toEqual({});
    const errors = await expectRefused(expect, body, field, "ErrorType");
    expect(errors).toEqual([{ field, code: "ErrorType", message: `${field}: ${SET_MESSAGE}` }]);
  });

  it("updateClient allowed_origins: {}", async ({ expect }) => {
    const caller = newCaller("USER");
    const created = await createClientAs(caller);
    const body = { name: "Renamed", allowed_origins: {} };
    const res = await call("PUT", `/clients/${created.client_id}`, { caller, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors).toContainEqual({
      field: "allowed_origins",
      code: "ErrorType",
      message: `allowed_origins: ${SET_MESSAGE}`,
    });
  });

  it("an object with keys is not mistaken for a Set", async ({ expect }) => {
    const errors = await expectRefused(expect, clientBody({ scopes: { 0: "openid" } }), "scopes", "ErrorType");
    expect(errors[0]?.message).not.toContain("Set");
  });
});

describe("the property suites' valid values satisfy these rules", () => {
  // validName filters with nameProblems itself; the URL generators are hand-picked lists.
  it("validOrigin and validRedirect produce only valid values", ({ expect }) => {
    for (const origin of fc.sample(validOrigin, 100)) expect(normaliseOrigin(origin), origin).toHaveProperty("origin");
    for (const uri of fc.sample(validRedirect, 100)) expect(redirectUriProblem(uri), uri).toBeUndefined();
  });
});
