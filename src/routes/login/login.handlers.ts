import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../../env";
import { notFound } from "../../lib/problem";
import { devSignCommand, fromBase64Url, isLoopbackHost } from "../../lib/sign-in";
import { renderLoginPage } from "../../pages/login-page";
import { PAGE_CSP } from "../../pages/page-style";

/**
 * The authorize URL saved before the bounce to LOGIN_URL, if it is an http(s) URL of this origin's
 * /oauth2/authorize; anything else (a cookie set by someone else, another site) is not linked.
 */
function returnTo(cookie: string | undefined, origin: string): string | null {
  const decoded = cookie === undefined ? undefined : fromBase64Url(cookie);
  if (decoded === undefined) return null;
  try {
    const url = new URL(decoded);
    const ok =
      (url.protocol === "http:" || url.protocol === "https:") &&
      url.origin === origin &&
      url.pathname === "/oauth2/authorize";
    return ok ? url.href : null;
  } catch {
    return null;
  }
}

/** GET /login: on a loopback host, how to sign in locally; elsewhere the 404 of any unknown route. */
export async function loginPageHandler(c: Context<AppEnv>) {
  const url = new URL(c.req.url);
  if (!isLoopbackHost(url.hostname)) throw notFound("No such route.");
  const html = renderLoginPage({
    returnTo: returnTo(getCookie(c, "x-redirect-authorization-uri"), url.origin),
    origin: url.origin,
    command: devSignCommand(url.origin),
  });
  return c.html(html, 200, {
    "content-security-policy": PAGE_CSP,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
  });
}
