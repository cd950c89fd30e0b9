/**
 * URL rules of SPEC §6: one home for every URL field (website, terms, policy, logout redirect,
 * redirect URIs, allowed origins). The principle: no input that two parsers can read differently.
 * A WHATWG parser (browsers, workerd) repairs backslashes, missing or extra slashes, tabs and
 * newlines, IPv4 in hex or short forms and Unicode hosts; an RFC 3986 parser, a string compare or
 * a log reader does not. So a URL is accepted only when it is already written the way the WHATWG
 * parser serialises it, up to what every parser agrees on (the case of scheme and host, a default
 * port, the "/" after a bare host), and what is stored is exactly what was validated.
 */

export const MAX_URL_LENGTH = 2048;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);
/** Schemes that run code or read local data wherever they are followed. */
const FORBIDDEN_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:"]);
/** Web schemes other than http(s): a native app's private-use scheme must not pose as one. */
const UNSUPPORTED_SCHEMES = new Set(["ws:", "wss:", "ftp:"]);
/** WHATWG special schemes and their default ports: only these have their host parsed and normalised. */
const DEFAULT_PORTS = new Map([
  ["http:", "80"],
  ["https:", "443"],
  ["ws:", "80"],
  ["wss:", "443"],
  ["ftp:", "21"],
]);
/** RFC 3986 scheme; private-use schemes for native apps are reverse-DNS or simple app names. */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
/** `scheme://authority` with at most one trailing "/": the only shape of an origin. */
const ORIGIN = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)\/?$/i;
/** A host a DNS resolver or a socket can use: dot-separated labels (IPv4 included), or an IPv6 literal. */
const REAL_HOST =
  /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?$|^\[[0-9a-f:.]+\]$/i;

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** Backslashes, white space (Unicode's too) and control characters: each is read differently by some parser. */
function ambiguousCharacterProblem(value: string): string | undefined {
  if (value.includes("\\")) return "must not contain a backslash";
  if (/\s/u.test(value)) return "must not contain white space";
  if (/\p{Cc}/u.test(value)) return "must not contain control characters";
  return undefined;
}

/** The authority as written (`//` after the scheme up to the first `/`, `?` or `#`), or `undefined` if there is none. */
function writtenAuthority(value: string, protocol: string): string | undefined {
  const rest = value.slice(protocol.length);
  if (!rest.startsWith("//")) return undefined;
  const end = rest.slice(2).search(/[/?#]/);
  return end === -1 ? rest.slice(2) : rest.slice(2, 2 + end);
}

/** Lower-cased authority without a written default port, for comparison with the parsed `url.host`. */
function comparableAuthority(authority: string, url: URL): string {
  const lower = authority.toLowerCase();
  const defaultPort = DEFAULT_PORTS.get(url.protocol);
  return defaultPort && url.port === "" && lower === `${url.host}:${defaultPort}` ? url.host : lower;
}

/**
 * Why `value` is not written the way the parser serialises `url`, or `undefined`. Tolerated: the case
 * of the scheme and of a special scheme's host, a written default port, and the "/" a special URL
 * gets when its path is empty. `https:evil.example`, `https:///evil.example`, `http://0x7f000001`,
 * `https://пример.рф`, `https://a/b/../c` and `https://@a` are all refused here.
 */
function writtenFormProblem(value: string, url: URL): string | undefined {
  if (value.slice(0, url.protocol.length).toLowerCase() !== url.protocol) return "must be an absolute URL";
  let written = url.protocol + value.slice(url.protocol.length);
  if (DEFAULT_PORTS.has(url.protocol)) {
    const authority = writtenAuthority(value, url.protocol);
    if (authority === undefined) return `must be written ${url.protocol}//host…`;
    let tail = value.slice(url.protocol.length + 2 + authority.length);
    if (!tail.startsWith("/")) tail = `/${tail}`;
    written = `${url.protocol}//${comparableAuthority(authority, url)}${tail}`;
  }
  return written === url.href ? undefined : `is ambiguous: a URL parser reads it as ${url.href}`;
}

function userinfoProblem(value: string, url: URL): string | undefined {
  const hasUserinfo = url.username || url.password || writtenAuthority(value, url.protocol)?.includes("@");
  return hasUserinfo ? "must not contain user information" : undefined;
}

/** Why a non-http(s) scheme may not be used for a native app, or `undefined`. `protocol` is lower-case with ":". */
function privateUseSchemeProblem(protocol: string): string | undefined {
  if (FORBIDDEN_SCHEMES.has(protocol)) return `the ${protocol} scheme is not allowed`;
  if (UNSUPPORTED_SCHEMES.has(protocol)) return "unsupported scheme";
  return undefined;
}

/** Why an absolute http(s) URL (website, terms, policy, logout redirect) is invalid, or `undefined`. */
export function httpUrlProblem(value: string): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  const character = ambiguousCharacterProblem(value);
  if (character) return character;
  const url = parseUrl(value);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) return "must be an absolute http(s) URL";
  return userinfoProblem(value, url) ?? writtenFormProblem(value, url);
}

/** Why a redirect URI breaks OAuth 2.1 / RFC 9700 rules (SPEC §6, §12.5), or `undefined`. */
export function redirectUriProblem(value: string): string | undefined {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  if (!SCHEME.test(value)) return "must be an absolute URI";
  if (value.includes("*")) return "must not contain wildcards";
  if (value.includes("#")) return "must not contain a fragment";
  const character = ambiguousCharacterProblem(value);
  if (character) return character;
  const url = parseUrl(value);
  if (!url) return "must be an absolute URI";
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `the ${url.protocol} scheme is not allowed`;
  const problem = userinfoProblem(value, url) ?? writtenFormProblem(value, url);
  if (problem) return problem;
  if (url.protocol === "https:") return url.hostname ? undefined : "must name a host";
  if (url.protocol === "http:")
    return LOOPBACK_HOSTS.has(url.hostname) ? undefined : "http is allowed only on a loopback host";
  // A private-use scheme (RFC 8252 §7.1) identifies a native app.
  return privateUseSchemeProblem(url.protocol);
}

const NOT_AN_ORIGIN = "must be an origin: scheme://host[:port] with no path, query or fragment";

/**
 * The normalised origin (`scheme://host[:port]`, lower-case, no trailing slash), or a reason it is
 * not one. https, http on a loopback host, or a private-use scheme as for redirect URIs (desktop
 * connectors register `claude://…`). WHATWG gives a non-special scheme the opaque origin "null",
 * so that origin is built here from the checked parts.
 */
export function normaliseOrigin(value: string): { origin: string } | { problem: string } {
  if (value.length > MAX_URL_LENGTH) return { problem: `must be at most ${MAX_URL_LENGTH} characters` };
  if (value.includes("*")) return { problem: "must not contain wildcards" };
  const character = ambiguousCharacterProblem(value);
  if (character) return { problem: character };
  const match = ORIGIN.exec(value);
  const url = match ? parseUrl(value) : undefined;
  if (!match || !url) return { problem: NOT_AN_ORIGIN };
  const authority = match[2] ?? "";
  const schemeProblem =
    url.protocol === "https:" || url.protocol === "http:" ? undefined : privateUseSchemeProblem(url.protocol);
  if (schemeProblem) return { problem: schemeProblem };
  if (url.username || url.password || authority.includes("@")) return { problem: "must not contain user information" };
  if (!url.hostname) return { problem: "must name a host" };
  const special = DEFAULT_PORTS.has(url.protocol);
  // A non-special host is opaque to WHATWG (kept as written, case and all); only its port is parsed.
  const host = special ? url.host : `${url.hostname}${url.port ? `:${url.port}` : ""}`.toLowerCase();
  if (comparableAuthority(authority, url) !== host)
    return { problem: `is ambiguous: a URL parser reads its host as ${special ? url.host : url.host.toLowerCase()}` };
  if (!REAL_HOST.test(url.hostname)) return { problem: "must name a real host" };
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname))
    return { problem: "http is allowed only on a loopback host" };
  return { origin: special ? url.origin : `${url.protocol}//${host}` };
}
