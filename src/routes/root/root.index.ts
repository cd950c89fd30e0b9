import { Hono } from "hono";
import type { AppEnv } from "../../env";
import { API_BASE } from "../../lib/paths";
import { HTML_PAGE_HEADERS } from "../docs/docs-page";

/**
 * `GET /`: where to start. Not part of the API (so not in the OpenAPI document and not rate
 * limited): a browser gets a small page with links, anything else a JSON object of the same links.
 */

const LINKS = {
  docs: `${API_BASE}/docs`,
  openapi: `${API_BASE}/openapi.json`,
  problems: `${API_BASE}/docs/problems`,
};

const ROOT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>DocSpace OAuth 2.0 client-management gateway</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5">
<h1>DocSpace OAuth 2.0 client-management gateway</h1>
<p>The API lives under <code>${API_BASE}</code>.</p>
<ul>
<li><a href="${LINKS.docs}">API reference</a> (interactive, works offline)</li>
<li><a href="${LINKS.openapi}">OpenAPI 3.1 document</a></li>
<li><a href="${LINKS.problems}">Problem types</a> (what each error <code>type</code> means)</li>
</ul>
</body>
</html>`;

/** Whether the caller prefers HTML (a browser's navigation) over JSON. */
function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const html = accept.indexOf("text/html");
  const json = accept.indexOf("application/json");
  return html !== -1 && (json === -1 || html < json);
}

export const rootRouter = new Hono<AppEnv>().get("/", (c) =>
  prefersHtml(c.req.header("accept"))
    ? c.html(ROOT_PAGE, 200, HTML_PAGE_HEADERS)
    : c.json({ name: "DocSpace OAuth 2.0 client-management gateway", api: API_BASE, ...LINKS }, 200),
);
