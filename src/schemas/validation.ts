import type { z } from "@hono/zod-openapi";
import type { ValidationCode } from "../lib/problem";

/**
 * Field rules of SPEC §6, shared by create and update. Each failing rule reports a custom zod
 * issue whose `params.code` is the DocSpace validation code; lib/validation-hook.ts turns
 * issues into `errors[]`.
 */

export const MAX_URL_LENGTH = 2048;
export const MAX_LIST_ITEMS = 12;
export const MAX_LOGO_BYTES = 256_000;
export const MAX_DESCRIPTION_LENGTH = 255;

type RefinementCtx = z.core.$RefinementCtx;

/** Adds a custom issue carrying a DocSpace code. */
export function addRuleIssue(
  ctx: RefinementCtx,
  code: ValidationCode,
  message: string,
  path: PropertyKey[] = [],
): void {
  ctx.addIssue({ code: "custom", message, params: { code }, path });
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);
const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:"]);
/** RFC 3986 scheme; private-use schemes for native apps are reverse-DNS or simple app names. */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** Why an absolute http(s) URL (website, terms, policy, logout redirect) is invalid, or `undefined`. */
export function httpUrlProblem(value: string): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  const url = parseUrl(value);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) return "must be an absolute http(s) URL";
  if (url.username || url.password) return "must not contain user information";
  return undefined;
}

/** Why a redirect URI breaks OAuth 2.1 / RFC 9700 rules (SPEC §6, §12.5), or `undefined`. */
export function redirectUriProblem(value: string): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  if (!SCHEME.test(value)) return "must be an absolute URI";
  if (value.includes("*")) return "must not contain wildcards";
  if (value.includes("#")) return "must not contain a fragment";
  if (/\s/.test(value)) return "must not contain white space";
  const url = parseUrl(value);
  if (!url) return "must be an absolute URI";
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `the ${url.protocol} scheme is not allowed`;
  if (url.username || url.password) return "must not contain user information";
  if (url.protocol === "https:") return url.hostname ? undefined : "must name a host";
  if (url.protocol === "http:")
    return LOOPBACK_HOSTS.has(url.hostname) ? undefined : "http is allowed only on a loopback host";
  // A private-use scheme (RFC 8252 §7.1) identifies a native app; it must not pose as a web scheme.
  if (url.protocol === "ws:" || url.protocol === "wss:" || url.protocol === "ftp:") return "unsupported scheme";
  return undefined;
}

/** The normalised origin (`scheme://host[:port]`, no trailing slash), or a reason it is not one. */
export function normaliseOrigin(value: string): { origin: string } | { problem: string } {
  if (value.length > MAX_URL_LENGTH) return { problem: `must be at most ${MAX_URL_LENGTH} characters` };
  const url = parseUrl(value);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) return { problem: "must be an http(s) origin" };
  if (url.username || url.password) return { problem: "must not contain user information" };
  const bare = value.endsWith("/") ? value.slice(0, -1) : value;
  if (
    url.pathname !== "/" ||
    url.search ||
    url.hash ||
    bare.includes("/", url.protocol.length + 2) ||
    bare.includes("?") ||
    bare.includes("#")
  )
    return { problem: "must be an origin: scheme://host[:port] with no path, query or fragment" };
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname))
    return { problem: "http is allowed only on a loopback host" };
  return { origin: url.origin };
}

const LOGO = /^data:image\/(png|jpeg|jpg|svg\+xml);base64,([A-Za-z0-9+/]*={0,2})$/;

/** Checks a logo data URL: format (`ErrorPattern`) and decoded size (`ErrorName`). */
export function logoProblem(value: string): { code: ValidationCode; message: string } | undefined {
  const match = LOGO.exec(value);
  const data = match?.[2];
  if (!data || data.length % 4 !== 0) {
    return { code: "ErrorPattern", message: "must be data:image/(png|jpeg|jpg|svg+xml);base64,<data>" };
  }
  const decodedBytes = (data.length / 4) * 3 - (data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0);
  if (decodedBytes > MAX_LOGO_BYTES)
    return { code: "ErrorName", message: `must decode to at most ${MAX_LOGO_BYTES} bytes` };
  try {
    atob(data);
  } catch {
    return { code: "ErrorPattern", message: "the base64 data does not decode" };
  }
  return undefined;
}

/** Array fields are sets (SPEC §5): duplicates collapse, first occurrence wins. */
export function uniqueInOrder(values: string[]): string[] {
  return [...new Set(values)];
}
