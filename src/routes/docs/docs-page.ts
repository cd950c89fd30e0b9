import { API_BASE } from "../../lib/paths";

/**
 * The HTML of the docs pages. Swagger UI's JS and CSS are Workers static assets copied from the
 * swagger-ui-dist package into dist-assets/ (scripts/copy-swagger-ui.mjs) and served under
 * DOCS_ASSETS_PATH, so the page works with no internet access.
 */

/** Where the docs router serves the static assets, relative to the API base. */
export const DOCS_ASSETS_ROUTE = "/docs/assets";
/** URL prefix of the static assets (the docs router fetches them from the ASSETS binding). */
export const DOCS_ASSETS_PATH = `${API_BASE}${DOCS_ASSETS_ROUTE}`;

/**
 * Only same-origin scripts (no inline script: the initializer is an asset), same-origin fetches
 * (the document and "try it out"). Swagger UI sets inline styles and uses data: images.
 */
export const DOCS_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers of every HTML page the gateway serves. */
export const HTML_PAGE_HEADERS = {
  "content-security-policy": DOCS_PAGE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The Swagger UI page; the initializer reads the document's URL from `data-spec-url`. */
export function renderDocsPage(specUrl: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>DocSpace OAuth 2.0 client management API</title>
    <link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${DOCS_ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="${DOCS_ASSETS_PATH}/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui" data-spec-url="${escapeHtml(specUrl)}"></div>
    <script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_ASSETS_PATH}/swagger-initializer.js"></script>
  </body>
</html>
`;
}

/** What each problem `type` means, keyed by the fragment of its URI (lib/problem.ts PROBLEM_TYPES). */
const PROBLEM_DESCRIPTIONS: Record<string, string> = {
  "bad-request": "The request could not be read: malformed JSON, a body that is not an object, or bad query values.",
  "validation-failed":
    "A field broke a rule. `errors[]` lists each field with DocSpace's code: EmptyFieldError, ErrorName, ErrorWrongURL, ErrorPattern, ErrorInvalidScope, ErrorType.",
  "invalid-signature": "The x-signature is missing, malformed, expired, or its MAC does not verify.",
  forbidden: "The caller's role may not call this operation.",
  unauthorized: "A service token is missing or invalid.",
  "invalid-client": "The client's credentials are not valid.",
  "client-disabled": "The client is disabled and can get no new tokens.",
  conflict: "The request conflicts with the current state of the resource.",
  "not-found": "No such client for this caller (also for a malformed id), or no such route.",
  "method-not-allowed": "The path exists but not with this method; see the Allow header.",
  "payload-too-large": "The body is larger than 1 MiB.",
  "unsupported-media-type": "The body is not application/json.",
  "quota-exceeded": "The caller's rate limit for this method is used up; wait Retry-After seconds.",
  "dependency-unavailable":
    "D1, KV or the rate limiter is unavailable; the operation was not applied. Retry after Retry-After seconds.",
  "internal-error": "An unexpected error. Nothing internal is shown; quote the request_id when reporting it.",
};

/** A page with one anchored entry per problem type, so every `type` URI the gateway emits resolves. */
export function renderProblemTypesPage(problemTypes: readonly string[]): string {
  const items = problemTypes
    .map((uri) => {
      const fragment = uri.slice(uri.indexOf("#") + 1);
      const text = PROBLEM_DESCRIPTIONS[fragment] ?? "See the operation's documentation.";
      return `      <dt id="${escapeHtml(fragment)}"><code>${escapeHtml(uri)}</code></dt>\n      <dd>${escapeHtml(text)}</dd>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Problem types — DocSpace OAuth 2.0 client management API</title>
  </head>
  <body>
    <h1>Problem types</h1>
    <p>Every error is RFC 9457 <code>application/problem+json</code>; its <code>type</code> is one of these.
      See also the <a href="${API_BASE}/docs">API reference</a>.</p>
    <dl>
${items}
    </dl>
  </body>
</html>
`;
}
