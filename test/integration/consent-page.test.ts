import { exports } from "cloudflare:workers";
import { describe, it } from "vitest";
import { authorize, authorizeParams, consentFields, newAuthorizeClient, ORIGIN } from "../helpers/authorize";
import { newCaller, signFor } from "../helpers/signature";

// The consent page (AS §4 step 6) as HTML: exact security headers, every client string escaped,
// the logo only as an <img> of a data: URL, scopes in plain words grouped by the scopes table,
// one form with accessible buttons; its stylesheet route; the local sign-in page (AS §3).

const CONSENT_CSP =
  "default-src 'none'; style-src 'self'; img-src data:; form-action 'self' https://app.example; frame-ancestors 'none'";
const LOGO =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

async function consentPage(
  overrides: Record<string, unknown> = {},
  scope = "files:read files:write openid",
  redirectUri: string | null = "https://app.example/cb",
) {
  const { client } = await newAuthorizeClient(overrides);
  const caller = newCaller("USER");
  const signature = await signFor(caller, { tenant_url: ORIGIN, user_name: 'Ann "<b>O\'Neil</b>"' });
  const response = await authorize(authorizeParams(client.client_id, { scope, redirect_uri: redirectUri }), {
    signature,
  });
  return { response, html: await response.text(), client };
}

describe("headers", () => {
  it("exact CSP (the redirect URI's origin in form-action), no framing, no caching, no referrer", async ({
    expect,
  }) => {
    const { response } = await consentPage();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(response.headers.get("content-security-policy")).toBe(CONSENT_CSP);
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("a private-use scheme redirect URI is named by its scheme in form-action", async ({ expect }) => {
    const { response } = await consentPage({ redirect_uris: ["com.example.app:/cb"] }, "files:read", null);
    // redirect_uri omitted: the client's only one.
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toContain("form-action 'self' com.example.app:;");
  });
});

describe("content", () => {
  it("escapes every client-provided string and the user's name; no script anywhere", async ({ expect }) => {
    const { html } = await consentPage({
      name: "<script>alert(1)</script>",
      description: `He said "hi" & 'bye' <img src=x onerror=alert(2)>`,
      website_url: "https://example.com/?a=1&b=2",
    });
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img src=x/i);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("He said &quot;hi&quot; &amp; &#39;bye&#39; &lt;img src=x onerror=alert(2)&gt;");
    expect(html).toContain('href="https://example.com/?a=1&amp;b=2"');
    expect(html).toContain("Ann &quot;&lt;b&gt;O&#39;Neil&lt;/b&gt;&quot;");
    expect(html).not.toMatch(/<[^>]*\son\w+=/i);
    expect(html).not.toContain("style=");
  });

  it("the logo only as an <img> of its data: URL; none without a logo", async ({ expect }) => {
    const withLogo = await consentPage({ logo: LOGO });
    const images = [...withLogo.html.matchAll(/<img [^>]*>/g)].map((m) => m[0]);
    expect(images).toHaveLength(1);
    expect(images[0]).toContain(`src="${LOGO}"`);
    expect(images[0]).toMatch(/alt="[^"]+ logo"/);
    const without = await consentPage({ logo: null });
    expect(without.html).not.toContain("<img");
  });

  it("shows the client, the user, links, and the scopes in plain words grouped by the scopes table", async ({
    expect,
  }) => {
    const { html } = await consentPage({ name: "Acme Sync" });
    expect(html).toContain("Acme Sync");
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
    expect(html).toContain('href="https://example.com/terms"');
    expect(html).toContain('href="https://example.com/privacy"');
    expect(html).toContain("See your files and folders");
    expect(html).toContain("Create, change and delete your files and folders");
    expect(html).toContain("Know who you are");
    // Two groups: files (both files scopes under one heading), then sign-in.
    const headings = [...html.matchAll(/<h3>([^<]+)<\/h3>/g)].map((m) => m[1]);
    expect(headings).toEqual(["Files", "Sign-in"]);
    expect(html).toMatch(/<h3>Files<\/h3><ul><li data-scope="files:read">[^<]+<\/li><li data-scope="files:write">/);
  });

  it("one POST form to /oauth2/authorize with hidden id and CSRF token and two named buttons", async ({ expect }) => {
    const { html } = await consentPage();
    expect(html.match(/<form /g)).toHaveLength(1);
    expect(html).toContain('<form method="post" action="/oauth2/authorize">');
    const { requestId, csrfToken } = consentFields(html);
    expect(requestId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfToken).not.toBe(requestId);
    expect(html).toMatch(/<button type="submit" name="decision" value="allow"[^>]*>Allow<\/button>/);
    expect(html).toMatch(/<button type="submit" name="decision" value="deny"[^>]*>Deny<\/button>/);
    // Every input is hidden (nothing to label).
    const inputs = [...html.matchAll(/<input [^>]*>/g)].map((m) => m[0]);
    expect(inputs).toHaveLength(2);
    for (const input of inputs) expect(input).toContain('type="hidden"');
  });

  it("links only the stylesheet, same-origin, which is served as cacheable CSS", async ({ expect }) => {
    const { html } = await consentPage();
    const sources = [...html.matchAll(/<(?:link|script|img)[^>]*(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual(["/oauth2/assets/consent.css"]);
    const css = await exports.default.fetch(new Request(`${ORIGIN}/oauth2/assets/consent.css`));
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(css.headers.get("cache-control")).toBe("public, max-age=86400");
    expect(await css.text()).toContain("@media");
    expect((await exports.default.fetch(new Request(`${ORIGIN}/oauth2/assets/other.css`))).status).toBe(404);
  });
});

describe("GET /login (AS §3)", () => {
  const login = (origin: string, cookie?: string) =>
    exports.default.fetch(
      new Request(`${origin}/login?type=oauth2&client_id=x`, { headers: cookie ? { cookie } : {} }),
    );
  const b64 = (text: string) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  it("is a 404 like any unknown route on a non-loopback host", async ({ expect }) => {
    const response = await login(ORIGIN);
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("on loopback explains npm run sign -- --cookie and links back to the saved authorize URL", async ({ expect }) => {
    for (const origin of ["http://localhost:8093", "http://127.0.0.1:8092", "http://[::1]:8092"]) {
      const back = `${origin}/oauth2/authorize?response_type=code&client_id=abc&state=a%26b`;
      const response = await login(origin, `x-redirect-authorization-uri=${b64(back)}`);
      expect(response.status, origin).toBe(200);
      expect(response.headers.get("content-security-policy")).toBe(
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
      );
      const html = await response.text();
      // A signature counts only on its tenant_url's origin: any origin but npm start's needs --tenant-url.
      expect(html).toContain(`<pre class="command">npm run sign -- --cookie --tenant-url ${origin}</pre>`);
      expect(html).toContain(`href="${back.replace(/&/g, "&amp;")}"`);
      expect(html).not.toMatch(/<script/i);
    }
  });

  it("on npm start's own origin the plain command", async ({ expect }) => {
    const html = await (await login("http://localhost:8092")).text();
    expect(html).toContain('<pre class="command">npm run sign -- --cookie</pre>');
  });

  it.for([
    ["another origin", "http://evil.example/oauth2/authorize?x=1"],
    ["another path", "http://localhost:8092/somewhere"],
    ["javascript:", "javascript:alert(1)"],
    ["not base64url", null],
  ] as const)("does not link a saved URL on %s", async ([, saved], { expect }) => {
    const cookie = `x-redirect-authorization-uri=${saved === null ? "%%%" : b64(saved)}`;
    const html = await (await login("http://localhost:8092", cookie)).text();
    expect(html).not.toContain('class="continue"');
    expect(html).not.toContain("evil.example");
    expect(html).not.toContain("javascript:");
  });
});
