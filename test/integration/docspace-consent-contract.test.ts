import { describe, it } from "vitest";
import { type AppFetcher, appFetcher } from "../helpers/app";
import {
  AUTHORIZE,
  authorize,
  authorizeParams,
  cookieValue,
  newAuthorizeClient,
  ORIGIN,
  setCookies,
  signatureAt,
  VERIFIER,
} from "../helpers/authorize";
import { type Caller, newCaller } from "../helpers/signature";

/**
 * DocSpace's consent contract, byte for byte (issue 14, AS §4 step 8): the GET sets the two cookies
 * DocSpace-client reads and bounces to LOGIN_URL; DocSpace-client then posts a browser-made
 * multipart body (a WebKit boundary, CRLF lines, one `scope` part per granted scope) with
 * `X-Disable-Redirect: true` and the signature as a header, and gets 200 with `X-Redirect-URI`.
 * The body below is written out by hand, as Chromium serialises `FormData`, not built by the runtime.
 */

const BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
const part = (name: string, value: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const multipart = (fields: [string, string][]) => `${fields.map(([n, v]) => part(n, v)).join("")}--${BOUNDARY}--\r\n`;

const ISSUER_PARAM = "iss=https%3A%2F%2Fdocspace.test%2Foauth2";
const COOKIE_ATTRIBUTES = "; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Lax";

const docspace = () => appFetcher({ env: { CONSENT_UI: "docspace" } as Partial<Env> });

/** The consent step as DocSpace runs it: the GET, and what the browser then holds. */
async function pending(fetcher: AppFetcher, scope = "files:read files:write openid") {
  const { client } = await newAuthorizeClient();
  const caller = newCaller("USER");
  const query = authorizeParams(client.client_id, { scope });
  const get = await authorize(query, { caller, fetcher });
  return { client, caller, query, get, cookies: setCookies(get) };
}

/** DocSpace-client's POST: these exact headers and bytes (the signature header left out when `signed` is false). */
async function post(
  fetcher: AppFetcher,
  caller: Caller,
  cookies: Map<string, string>,
  body: string,
  signed = true,
): Promise<Response> {
  const headers = new Headers({
    accept: "application/json, text/plain, */*",
    "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
    "x-disable-redirect": "true",
    cookie: ["client_state", "x-redirect-authorization-uri"]
      .map((name) => `${name}=${cookieValue(cookies.get(name))}`)
      .join("; "),
    origin: ORIGIN,
    referer: `${ORIGIN}/login/consent`,
    "sec-fetch-site": "same-origin",
    "sec-fetch-mode": "cors",
  });
  if (signed) headers.set("x-signature", await signatureAt(caller, ORIGIN, fetcher));
  return fetcher(new Request(AUTHORIZE, { method: "POST", headers, body, redirect: "manual" }));
}

describe("DocSpace's consent contract, byte for byte", () => {
  it("GET: 302 to LOGIN_URL, client_state = the pending id, x-redirect-authorization-uri = base64url of the request", async ({
    expect,
  }) => {
    const { client, query, get } = await pending(docspace());
    expect(get.status).toBe(302);
    expect(get.headers.get("location")).toBe(`${ORIGIN}/login?type=oauth2&client_id=${client.client_id}`);
    const lines = get.headers.getSetCookie();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(`^client_state=[A-Za-z0-9_-]{43}${COOKIE_ATTRIBUTES.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`),
    );
    const uri = lines.find((l) => l.startsWith("x-redirect-authorization-uri="));
    expect(uri?.endsWith(COOKIE_ATTRIBUTES)).toBe(true);
    const encoded = cookieValue(uri);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    const decoded = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
    expect(decoded).toBe(`${AUTHORIZE}?${query}`);
    expect(get.headers.get("cache-control")).toBe("no-store");
  });

  it("POST, a subset grant: 200, empty body, X-Redirect-URI = redirect_uri?code&state&iss exactly; the code redeems for those scopes", async ({
    expect,
  }) => {
    const fetcher = docspace();
    const { client, caller, cookies } = await pending(fetcher);
    const state = cookieValue(cookies.get("client_state"));
    const body = multipart([
      ["client_id", client.client_id],
      ["state", state],
      ["scope", "files:read"],
      ["scope", "openid"],
    ]);
    const response = await post(fetcher, caller, cookies, body);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    expect(response.headers.get("location")).toBeNull();
    expect(response.headers.get("cache-control")).toBe("no-store");
    const target = response.headers.get("x-redirect-uri") ?? "";
    expect(target).toMatch(
      new RegExp(`^https://app\\.example/cb\\?code=[A-Za-z0-9_-]{43}&state=st-123&${ISSUER_PARAM}$`),
    );
    const code = new URL(target).searchParams.get("code") ?? "";
    const token = await fetcher(
      new Request(`${ORIGIN}/oauth2/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: "https://app.example/cb",
          code_verifier: VERIFIER,
          client_id: client.client_id,
          client_secret: String(client.client_secret),
        }),
      }),
    );
    expect(token.status).toBe(200);
    expect(((await token.json()) as { scope: string }).scope).toBe("files:read openid");
  });

  it("POST without any scope part: a denial, X-Redirect-URI = redirect_uri?error=access_denied…&state&iss", async ({
    expect,
  }) => {
    const fetcher = docspace();
    const { client, caller, cookies } = await pending(fetcher);
    const body = multipart([
      ["client_id", client.client_id],
      ["state", cookieValue(cookies.get("client_state"))],
    ]);
    const response = await post(fetcher, caller, cookies, body);
    expect(response.status).toBe(200);
    const target = new URL(response.headers.get("x-redirect-uri") ?? "");
    expect(`${target.origin}${target.pathname}`).toBe("https://app.example/cb");
    expect(target.searchParams.get("error")).toBe("access_denied");
    expect(target.searchParams.get("state")).toBe("st-123");
    expect(target.search.endsWith(`&${ISSUER_PARAM}`)).toBe(true);
  });

  it("the same bytes with the signature only in the cookie (what a cross-site form could send) are refused and decide nothing", async ({
    expect,
  }) => {
    const fetcher = docspace();
    const { client, caller, cookies } = await pending(fetcher);
    const body = multipart([
      ["client_id", client.client_id],
      ["state", cookieValue(cookies.get("client_state"))],
      ["scope", "files:read"],
    ]);
    const forged = await fetcher(
      new Request(AUTHORIZE, {
        method: "POST",
        redirect: "manual",
        body,
        headers: {
          "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
          "x-disable-redirect": "true",
          cookie: `x-signature=${await signatureAt(caller, ORIGIN, fetcher)}; client_state=${cookieValue(cookies.get("client_state"))}`,
        },
      }),
    );
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.headers.get("x-redirect-uri")).toBeNull();
    // The rightful post still decides.
    const response = await post(fetcher, caller, cookies, body);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-redirect-uri")).toMatch(/\?code=/);
  });
});
