/**
 * Where the authorization endpoint sends a user it cannot serve yet (AS §3, §4 step 8), from the
 * Worker's vars. Plain values only; the router sets the cookies.
 */

/** Hosts a developer's browser treats as secure without TLS; cookies there are not `Secure` (AS §3). */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Whether `hostname` (as URL.hostname writes it) is a loopback host. */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK_HOSTS.has(hostname);

/** The tenant URL `npm run sign` writes by default (scripts/sign-args.ts DEFAULT_TENANT_URL): `npm start`'s origin. */
export const DEV_TENANT_URL = "http://localhost:8092";

/**
 * The command that signs a developer in on `origin`: a signature only counts on its tenant URL's
 * origin (AS §2), so any origin but `npm start`'s needs `--tenant-url`.
 */
export const devSignCommand = (origin: string): string =>
  origin === DEV_TENANT_URL ? "npm run sign -- --cookie" : `npm run sign -- --cookie --tenant-url ${origin}`;

/** Who asks for consent: `CONSENT_UI`, where anything but "docspace" means the built-in page. */
export type ConsentUi = "builtin" | "docspace";
export const consentUiOf = (value: string | undefined): ConsentUi =>
  value?.trim().toLowerCase() === "docspace" ? "docspace" : "builtin";

/**
 * `LOGIN_URL` (absolute, or relative to the request's origin; empty or unparsable means
 * `{origin}/login`) with `type=oauth2&client_id=…` added to whatever query it already has.
 */
export function loginUrlFor(loginUrl: string | undefined, origin: string, clientId: string): string {
  let url: URL;
  try {
    url = new URL(loginUrl?.trim() || "/login", origin);
  } catch {
    url = new URL("/login", origin);
  }
  url.searchParams.set("type", "oauth2");
  url.searchParams.set("client_id", clientId);
  return url.href;
}

/** Whether a signature minted for `tenantUrl` may act on `origin` (AS §2: one tenant per host). */
export function isTenantOrigin(tenantUrl: string, origin: string): boolean {
  try {
    return new URL(tenantUrl).origin === origin;
  } catch {
    return false;
  }
}

/** base64url (no padding) of a string's UTF-8 bytes: the `x-redirect-authorization-uri` cookie's value. */
export function base64UrlOf(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The inverse of `base64UrlOf`; undefined for anything that is not base64url of UTF-8. */
export function fromBase64Url(value: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) return undefined;
  try {
    const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return undefined;
  }
}
