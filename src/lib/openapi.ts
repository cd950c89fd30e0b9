import packageJson from "../../package.json";
import { addMissingExamples } from "./openapi-examples";
import { addCrossCuttingResponses } from "./openapi-responses";
import type { OpenApiDocument } from "./openapi-types";
import type { AppRouter } from "./router";

/**
 * The published contract (GET /api/2.0/openapi.json): an OpenAPI 3.1 document generated at run
 * time from the route contracts (`createRoute` + zod schemas) registered on the app, then
 * finished in one place with what no single contract owns: security schemes, the headers and
 * statuses global middleware adds, and examples derived from the schemas.
 */

/**
 * How callers authenticate. DocSpace reads the `x-signature` cookie first and the header only
 * when no such cookie exists (SPEC §3); browsers cannot set a Cookie header from script, so
 * Swagger UI's "try it out" uses the header scheme.
 */
export const SECURITY_SCHEMES = {
  xSignatureCookie: {
    type: "apiKey",
    in: "cookie",
    name: "x-signature",
    description:
      "HS256 JWS minted by the DocSpace backend for the current user (≈5 min). Read first; the header is used only when no such cookie exists.",
  },
  xSignatureHeader: {
    type: "apiKey",
    in: "header",
    name: "x-signature",
    description:
      "The same x-signature as a request header. For local development: `npm run sign -- --admin` (or `--user`, `--guest`).",
  },
  serviceBearer: {
    type: "http",
    scheme: "bearer",
    description:
      "A service token from the `SERVICE_TOKENS` Workers secret (comma-separated list). Only for /oauth2/* routes; never accepted on user routes.",
  },
  accessTokenBearer: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token this authorization server issued (AS §5.1), for /oauth2/userinfo (RFC 6750).",
  },
} as const;

const DESCRIPTION = `The OAuth 2.0 client-management API of ONLYOFFICE DocSpace, served at the edge.

* **Authentication**: an \`x-signature\` (HS256 JWS from DocSpace) as a cookie or header; a missing, invalid or expired one is **403**. Locally, \`npm run sign -- --admin\` prints one; paste it under *Authorize* (\`xSignatureHeader\`).
* **Errors** are RFC 9457 \`application/problem+json\` with \`request_id\`; validation errors add \`errors[]\` with DocSpace's codes. Problem types are described at [/api/2.0/docs/problems](/api/2.0/docs/problems).
* **Rate limits** per caller and HTTP method: every response under /api/2.0 carries \`RateLimit-Policy\` and \`RateLimit\`; a 429 adds \`Retry-After\`. \`/oauth2/jwks\` is not limited.
* Every response carries \`x-request-id\`.`;

/** Sections of the docs page, in reading order, with what each is for; a tag not listed here follows them. */
const TAG_DESCRIPTIONS: Record<string, string> = {
  "Client management": "DocSpace's OAuth20ClientManagementApi: register, change, disable and delete clients.",
  "Client querying": "DocSpace's OAuth20ClientQueryingApi: read clients, their public info and the caller's consents.",
  "Scope management": "The scopes a client may ask for.",
  "Authorization server": "Calls of the authorization server (service bearer token), not of users.",
  "OAuth 2.1 authorization server":
    "The built-in authorization server's own endpoints (AS §1), at root paths rather than under /api/2.0.",
  Documentation: "This document and the pages that render it.",
};

function documentTags(document: OpenApiDocument): { name: string; description?: string }[] {
  const used = new Set<string>();
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) for (const tag of operation?.tags ?? []) used.add(tag);
  }
  const known = Object.keys(TAG_DESCRIPTIONS);
  const rank = (tag: string) => (known.includes(tag) ? known.indexOf(tag) : known.length);
  return [...used]
    .sort((a, b) => rank(a) - rank(b))
    .map((name) => (TAG_DESCRIPTIONS[name] ? { name, description: TAG_DESCRIPTIONS[name] } : { name }));
}

/** Generates the document for an app (every route registered on it, at the moment of the call). */
export function buildOpenApiDocument(app: AppRouter): OpenApiDocument {
  const document = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "ONLYOFFICE DocSpace OAuth 2.0 client management",
      version: packageJson.version,
      description: DESCRIPTION,
    },
    // Relative to the document's own URL, so "try it out" and generated SDKs call this gateway.
    servers: [{ url: "/", description: "This gateway" }],
  }) as unknown as OpenApiDocument;
  document.components ??= {};
  document.components.securitySchemes = { ...SECURITY_SCHEMES };
  document.tags = documentTags(document);
  addCrossCuttingResponses(document);
  addMissingExamples(document);
  return document;
}

const documents = new WeakMap<AppRouter, OpenApiDocument>();

/**
 * The app's document, built once on first use: routes are all mounted before the first request,
 * and generation walks every schema, so it is not worth repeating per request.
 */
export function openApiDocumentFor(app: AppRouter): OpenApiDocument {
  let document = documents.get(app);
  if (!document) {
    document = buildOpenApiDocument(app);
    documents.set(app, document);
  }
  return document;
}
