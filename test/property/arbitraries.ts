import fc from "fast-check";
import { nameProblems } from "../../src/schemas/text-rules";
import { encodeAny } from "../helpers/reliability";
import { SEEDED_SCOPES } from "../helpers/scopes";

/**
 * Generators of hostile input for the property suites: strings that break naive code (NUL, lone
 * surrogates, bidi overrides, combining marks, huge), numbers at the edges, values of the wrong
 * type, URLs of every shape, logos that are almost base64 and raw JSON texts that `JSON.stringify`
 * could never produce (duplicate keys, `__proto__`, deep nesting, raw control characters).
 */

export const SCOPES = SEEDED_SCOPES.map((s) => s.name);

const NASTY_STRINGS = [
  "",
  " ",
  "   \t\n ",
  "\u0000",
  "ab\u0000cd",
  "\uFEFFname",
  "\u202Eevil\u202C",
  "\uD800",
  "x\uDFFFy",
  "𝕏𝕐𝕫",
  "e\u0301\u0301\u0301",
  "İıß",
  "\r\n\r\n",
  "\u2028\u2029",
  "%00",
  "../../etc/passwd",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose.
  "${7*7}{{7*7}}",
  "<script>alert(1)</script>",
  "' OR '1'='1'; --",
  "null",
  "undefined",
  "NaN",
  "true",
  "__proto__",
  "constructor",
  "🙂".repeat(100),
  "ﷺ".repeat(90),
];

/** Strings that break naive code, plus arbitrary ones of every unit. */
export const nastyString = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_STRINGS), weight: 3 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }), weight: 1 },
);

/** Strings at and past every length limit, up to past the 1 MiB body limit (rarely). */
export const hugeString = fc.oneof(
  { arbitrary: fc.constantFrom(257, 2049, 5000, 20_000).map((n) => "x".repeat(n)), weight: 8 },
  { arbitrary: fc.constant("é".repeat(130_000)), weight: 1 },
  { arbitrary: fc.constant("w".repeat(1_100_000)), weight: 1 },
);

/** Numbers where parsers and databases misbehave. */
export const edgeNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    1e308,
    -1e308,
    5e-324,
    0.1,
  ),
  fc.double(),
  fc.integer(),
);

/** Any JSON value of the wrong type for a field (and some of the right type, for good measure). */
export const wrongType = fc.oneof(
  edgeNumber,
  fc.boolean(),
  fc.constant(null),
  fc.array(nastyString, { maxLength: 5 }),
  fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
);

const URL_SHAPES = [
  "https://example.com/cb",
  "https://EXAMPLE.com:443/Cb?x=1",
  "http://localhost:3000/cb",
  "http://127.0.0.1/cb",
  "http://[::1]:8080/cb",
  "http://127.0.0.2/cb",
  "http://localhost.evil.com/cb",
  "http://0x7f000001/cb",
  "http://example.com/cb",
  "https://user:pass@example.com/cb",
  "https://example.com/cb#fragment",
  "https://example.com/cb#",
  "https://*.example.com/cb",
  "https://example.com/*",
  "com.example.app:/oauth2redirect",
  "claude://cb",
  "myapp:cb",
  "javascript:alert(1)",
  "JavaScript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "vbscript:msgbox(1)",
  "file:///etc/passwd",
  "blob:https://example.com/uuid",
  "about:blank",
  "ws://example.com/cb",
  "ftp://example.com/cb",
  "//example.com/cb",
  "/relative/cb",
  "https:/example.com",
  "https://",
  "https://example.com:99999/cb",
  "https://exa mple.com/cb",
  " https://example.com/cb",
  "https://example.com/cb ",
  "https://example.com/%zz",
  "https://example.com/\u0000",
  "https://xn--80ak6aa92e.com/cb",
  "https://пример.рф/cb",
  "https://example.com",
  "https://example.com/",
  "https://example.com:8443",
  "https://example.com/path",
  "https://example.com?x",
  "http://localhost",
  "http://localhost/",
  "https://[::1]",
  "https://1.2.3.4:5",
  // Read differently by WHATWG and RFC 3986 parsers (issue 12).
  "https://evil.example\\@good.example/cb",
  "https:/\\evil.example/cb",
  "https:evil.example/cb",
  "https:///evil.example/cb",
  "https://exa\nmple.com/",
  "https:\\\\evil.example",
  "https://127.1/cb",
  "https://ex%61mple.com",
  "https://*.*",
  "claude://example.com",
  "CLAUDE://Example.com/",
  "claude://*.example.com",
  "claude://u@example.com",
  `https://example.com/${"a".repeat(2040)}`,
  `https://example.com/${"a".repeat(2100)}`,
];

/** URLs of every shape: valid, nearly valid, dangerous schemes, userinfo, fragments, huge. */
export const anyUrl = fc.oneof(
  { arbitrary: fc.constantFrom(...URL_SHAPES), weight: 4 },
  {
    arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true, validSchemes: ["http", "https"] }),
    weight: 2,
  },
  {
    arbitrary: fc.webUrl({ validSchemes: ["javascript", "data", "file", "ws", "com.example.app", "claude"] }),
    weight: 1,
  },
  { arbitrary: nastyString, weight: 1 },
);

const VALID_PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/** Logos: valid data URLs and every way of almost being one. */
export const anyLogo = fc.oneof(
  fc.constantFrom(
    VALID_PNG,
    "data:image/svg+xml;base64,PHN2Zy8+",
    "data:image/jpeg;base64,/9j/",
    "data:image/jpg;base64,AAAA",
    "data:image/png;base64,",
    "data:image/png;base64,!!!!",
    "data:image/png;base64,AAA",
    "data:image/png;base64,AA==AA==",
    "data:image/png;base64,AA-_",
    "data:image/png;base64, AAAA",
    "data:image/png;base64,AAAA\n",
    "data:image/gif;base64,R0lGODlh",
    "data:text/html;base64,PHNjcmlwdD4=",
    "data:image/png,rawbytes",
    "DATA:IMAGE/PNG;BASE64,AAAA",
    "iVBORw0KGgo=",
    "https://example.com/logo.png",
  ),
  fc.constantFrom(341_336, 341_340, 400_000).map((n) => `data:image/png;base64,${"A".repeat(n)}`),
  fc.base64String({ maxLength: 64 }).map((b) => `data:image/png;base64,${b}`),
  nastyString,
);

/** A field that is valid most of the time and hostile otherwise. */
export function mostlyValid<T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: hostile, weight: 1 });
}

const hostile = fc.oneof(
  { arbitrary: wrongType, weight: 3 },
  { arbitrary: nastyString, weight: 3 },
  { arbitrary: hugeString, weight: 1 },
);
const hostileUrlList = fc.oneof(fc.array(anyUrl, { maxLength: 14 }), hostile);

/** Names that pass every SPEC §6 rule (length, visible characters, no control or bidi characters). */
export const validName = fc
  .oneof(fc.string({ minLength: 3, maxLength: 60 }), fc.string({ unit: "grapheme", minLength: 3, maxLength: 30 }))
  .filter((s) => nameProblems(s).length === 0);
export const validOrigin = fc.constantFrom(
  "https://a.example",
  "https://b.example:8443",
  "https://b.example:8443/",
  "http://localhost:3000",
  "http://127.0.0.1",
  "http://[::1]:9000",
  "claude://connector.example",
  "com.example.app://host:7000/",
);
export const validRedirect = fc.constantFrom(
  "https://a.example/cb",
  "https://a.example/cb?x=1",
  "com.example.app:/cb",
  "http://localhost/cb",
  "http://127.0.0.1:8080/cb",
  "claude://cb",
);

/** Generated createClient bodies: each field omitted, valid, or hostile. */
export const createBody = fc.record(
  {
    name: mostlyValid(validName, hostile),
    description: mostlyValid(fc.oneof(fc.string({ maxLength: 255 }), fc.constant(null)), hostile),
    logo: mostlyValid(fc.constant(VALID_PNG), anyLogo),
    website_url: mostlyValid(fc.constant("https://a.example"), anyUrl),
    terms_url: mostlyValid(fc.constant("https://a.example/terms"), anyUrl),
    policy_url: mostlyValid(fc.constant("https://a.example/privacy"), anyUrl),
    logout_redirect_uri: mostlyValid(fc.constant("https://a.example/logout"), anyUrl),
    redirect_uris: mostlyValid(fc.array(validRedirect, { minLength: 1, maxLength: 14 }), hostileUrlList),
    allowed_origins: mostlyValid(fc.array(validOrigin, { minLength: 1, maxLength: 14 }), hostileUrlList),
    scopes: mostlyValid(
      fc.array(fc.constantFrom(...SCOPES), { minLength: 1, maxLength: 12 }),
      fc.oneof(fc.array(nastyString, { maxLength: 4 }), hostile),
    ),
    allow_pkce: mostlyValid(fc.boolean(), hostile),
    is_public: mostlyValid(fc.boolean(), hostile),
    tenant: fc.oneof(edgeNumber, nastyString),
    created_by: nastyString,
    enabled: wrongType,
  },
  { requiredKeys: [] },
);

/** Generated updateClient bodies. */
export const updateBody = fc.record(
  {
    name: mostlyValid(validName, hostile),
    description: mostlyValid(fc.oneof(fc.string({ maxLength: 255 }), fc.constant(null)), hostile),
    logo: mostlyValid(fc.oneof(fc.constant(VALID_PNG), fc.constant(null)), anyLogo),
    allowed_origins: mostlyValid(fc.array(validOrigin, { minLength: 1, maxLength: 14 }), hostileUrlList),
    allow_pkce: mostlyValid(fc.boolean(), hostile),
    is_public: mostlyValid(fc.boolean(), hostile),
    redirect_uris: fc.array(anyUrl, { maxLength: 3 }),
    scopes: fc.array(nastyString, { maxLength: 3 }),
    enabled: wrongType,
  },
  { requiredKeys: [] },
);

/** Generated changeActivation bodies. */
export const activationBody = fc.oneof(
  fc.record({ status: mostlyValid(fc.boolean(), hostile) }, { requiredKeys: [] }),
  fc.record({ status: fc.boolean(), revoke_tokens: wrongType }, { requiredKeys: ["status"] }),
  wrongType,
);

function nested(depth: number, open: string, close: string, inner: string): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

const VALID_TAIL =
  '"redirect_uris":["https://a.example/cb"],"allowed_origins":["https://a.example"],"scopes":["openid"]';

/**
 * Raw JSON (and not-quite-JSON) texts: duplicate keys, prototype-pollution keys, nesting up to
 * 20,000 deep, raw NUL and control characters, BOMs, comments, huge numbers, truncation.
 */
export const rawJsonText = fc.oneof(
  fc
    .tuple(validName, fc.jsonValue({ maxDepth: 2 }))
    .map(([first, second]) => `{"name":${JSON.stringify(first)},"name":${JSON.stringify(second)},${VALID_TAIL}}`),
  fc
    .tuple(validName, validName)
    .map(([a, b]) => `{"name":${JSON.stringify(a)},${VALID_TAIL},"name":${JSON.stringify(b)},"status":true}`),
  fc.constantFrom(
    `{"__proto__":{"enabled":false,"tenant":1,"is_admin":true,"polluted":"yes"},"name":"Proto client",${VALID_TAIL}}`,
    `{"constructor":{"prototype":{"polluted":"yes"}},"name":"Ctor client",${VALID_TAIL}}`,
    `{"name":"Proto two","__proto__":null,${VALID_TAIL},"status":false}`,
    `{"__proto__":{"status":true},"status":"false"}`,
    `{"prototype":{"polluted":1},"toString":"x","valueOf":1,"hasOwnProperty":"x","name":"Methods",${VALID_TAIL}}`,
  ),
  fc
    .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom("array", "object", "field"))
    .map(([depth, kind]) =>
      kind === "array"
        ? nested(depth, "[", "]", "1")
        : kind === "object"
          ? nested(depth, '{"a":', "}", "1")
          : `{"name":${nested(depth, "[", "]", '"abc"')},${VALID_TAIL}}`,
    ),
  fc.constantFrom(
    `{"name":"ab\u0000c",${VALID_TAIL}}`,
    `{"name":"ab\\u0000c",${VALID_TAIL}}`,
    `{"name":"tab\there",${VALID_TAIL}}`,
    `{"name":"line\nbreak",${VALID_TAIL}}`,
    `\uFEFF{"name":"With BOM",${VALID_TAIL}}`,
    `{"name":"Comment" /* c */,${VALID_TAIL}}`,
    `{'name':'single quotes'}`,
    `{"name":"Trailing",${VALID_TAIL},}`,
    `{"status":NaN}`,
    `{"status":1e999}`,
    `{"allow_pkce":1e999,"name":"Big number",${VALID_TAIL}}`,
    `{"name":"Unterminated`,
    `{"name":"abc"}garbage`,
    "",
    "   ",
    "null",
    "[]",
    '"a string"',
    "12",
    "true",
    `{"name":"\\uD800\\uDC00 pair, \\uDFFF lone",${VALID_TAIL}}`,
  ),
  fc.string({ unit: "binary", maxLength: 200 }),
);

/** Query strings: pagination keys with hostile values, pollution keys, repeats, broken escapes. */
export const queryString = fc.oneof(
  fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(
            "limit",
            "last_client_id",
            "last_created_on",
            "last_modified_on",
            "grace_period",
            "__proto__",
            "constructor",
            "a[b]",
            "",
          ),
          fc.string({ maxLength: 10 }),
        ),
        fc.oneof(
          edgeNumber.map(String),
          nastyString,
          fc.constantFrom("", "0", "1", "50", "51", "-1", "1.5", "1e2", "0x10", " 5", "2026-11-28T12:00:00.000Z"),
          fc.constantFrom("not-a-date", "9999-99-99T99:99:99Z", "x".repeat(5000)),
          fc.uuid(),
        ),
      ),
      { maxLength: 6 },
    )
    .map((pairs) => `?${pairs.map(([k, v]) => `${encodeAny(k)}=${encodeAny(v)}`).join("&")}`),
  fc.constantFrom("?%", "?%zz=1", "?limit=%", "?limit", "?&&&", "?limit=1&limit=2", "?=", "?limit=5#frag", "?a=%00"),
);

/**
 * Header values a request can carry: visible ASCII, spaces and tabs. (workerd also accepts
 * Latin-1 bytes but re-encodes them as UTF-8 with a warning per request, which only adds noise.)
 */
export const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 150 }),
  fc.constantFrom("", " ", "a".repeat(129), "ok-id_1.2:3", "../../x", "<script>", "\t"),
);
