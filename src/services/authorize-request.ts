import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { guardD1 } from "../db/errors";
import { type ClientRow, clients } from "../db/schema";
import { GUID_PATTERN } from "../lib/ids";
import type { OAuthErrorCode } from "../lib/oauth-error";

/**
 * The checks of GET /oauth2/authorize (AS §4 steps 1–4), in the order the spec gives them. The
 * outcome is a typed value, not a thrown error, because the same failure is rendered two ways: before
 * the redirect URI is trusted it must be an HTML page (never a redirect: an open redirector), after it
 * it must be a redirect to that URI (RFC 6749 §4.1.2.1). The route's zod schema only documents the
 * query; a zod hook cannot tell which of the two a failure needs.
 */

/** Every parameter this endpoint reads; each may appear at most once (RFC 6749 §3.1). */
export const AUTHORIZE_PARAMETERS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method",
  "nonce",
] as const;

/** RFC 7636 §4.2: a challenge is 43–128 characters; S256 gives base64url (43 for SHA-256). */
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43,128}$/;

/** http loopback hosts whose port may differ from the registered one (RFC 8252 §7.3); not `localhost`. */
const PORT_AGNOSTIC_LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]"]);

/** A request that passed every check: what the code (or the pending request) will be bound to. */
export type ValidAuthorizationRequest = {
  client: ClientRow;
  /** The redirect URI as sent (with its own port on a loopback host), or the only registered one. */
  redirectUri: string;
  scopes: string[];
  state: string | null;
  codeChallenge: string | null;
  nonce: string | null;
};

/** The outcome of checking GET /oauth2/authorize's query. */
export type AuthorizeRequestCheck =
  /** The client or redirect URI is not trusted: an HTML error page (400), never a redirect. */
  | { kind: "page"; title: string; message: string }
  /** The redirect URI is trusted: the error goes back to the client (RFC 6749 §4.1.2.1, RFC 9207). */
  | { kind: "redirect_error"; redirectUri: string; state: string | null; error: OAuthErrorCode; description: string }
  | { kind: "valid"; request: ValidAuthorizationRequest };

/** The page every unusable client gets: unknown, malformed, disabled or not public look the same. */
const UNKNOWN_CLIENT = {
  kind: "page",
  title: "Unknown application",
  message: "The application that sent you here is not registered, or it has been disabled.",
} as const;

/**
 * Checks an authorization request from its raw query (duplicates are only visible there). Reads the
 * client once; the rest is pure.
 */
export async function checkAuthorizeRequest(db: Database, query: URLSearchParams): Promise<AuthorizeRequestCheck> {
  const counts = new Map<string, number>();
  for (const name of query.keys()) counts.set(name, (counts.get(name) ?? 0) + 1);
  const repeated = AUTHORIZE_PARAMETERS.filter((name) => (counts.get(name) ?? 0) > 1);

  // 1. The client (AS §4 step 1). A repeated client_id cannot name one client.
  const clientId = query.get("client_id") ?? "";
  if (repeated.includes("client_id") || !GUID_PATTERN.test(clientId)) return UNKNOWN_CLIENT;
  const client = await guardD1(db.select().from(clients).where(eq(clients.clientId, clientId.toLowerCase())).get());
  if (!client?.enabled || !client.isPublic) return UNKNOWN_CLIENT;

  // 2. The redirect URI (step 2): still no redirect if it is wrong.
  if (repeated.includes("redirect_uri")) {
    return {
      kind: "page",
      title: "Invalid redirect address",
      message: "The request names more than one redirect_uri.",
    };
  }
  const requested = query.get("redirect_uri");
  const redirectUri = requested === null ? onlyRegisteredUri(client) : matchRedirectUri(client.redirectUris, requested);
  if (redirectUri === undefined) {
    return {
      kind: "page",
      title: "Invalid redirect address",
      message:
        requested === null
          ? "The application has several redirect addresses and did not say which one to use (redirect_uri)."
          : "The redirect address (redirect_uri) is not one the application registered.",
    };
  }

  // 3. From here every error goes back to the client, with the state it sent (first value if repeated).
  const state = query.get("state");
  const fail = (error: OAuthErrorCode, description: string): AuthorizeRequestCheck => ({
    kind: "redirect_error",
    redirectUri,
    state,
    error,
    description,
  });
  if (repeated.length > 0) return fail("invalid_request", `Repeated parameter: ${repeated.join(", ")}.`);
  const responseType = query.get("response_type");
  if (!responseType) return fail("invalid_request", "response_type is required.");
  if (responseType !== "code") return fail("unsupported_response_type", "Only response_type=code is supported.");

  const codeChallenge = query.get("code_challenge");
  const method = query.get("code_challenge_method");
  if (codeChallenge === null) {
    if (method !== null) return fail("invalid_request", "code_challenge_method was sent without code_challenge.");
  } else {
    // RFC 7636 §4.3: a missing method means "plain", which OAuth 2.1 servers need not (and this one does not) support.
    if (method !== "S256") return fail("invalid_request", "code_challenge_method must be S256.");
    if (!CODE_CHALLENGE.test(codeChallenge)) {
      return fail("invalid_request", "code_challenge must be 43 to 128 base64url characters.");
    }
  }

  // 4. Scope: space-delimited; none means every scope of the client (DocSpace).
  const asked = [...new Set((query.get("scope") ?? "").split(" ").filter((s) => s !== ""))];
  const registered = new Set(client.scopes);
  const unknown = asked.filter((s) => !registered.has(s));
  if (unknown.length > 0) {
    return fail("invalid_scope", `Scope not registered for this client: ${unknown.slice(0, 5).join(", ")}.`);
  }
  const scopes = asked.length > 0 ? asked : [...client.scopes];

  return {
    kind: "valid",
    request: { client, redirectUri, scopes, state, codeChallenge, nonce: query.get("nonce") },
  };
}

/** The client's one redirect URI when it has exactly one (AS §4 step 2: then redirect_uri is optional). */
function onlyRegisteredUri(client: ClientRow): string | undefined {
  return client.redirectUris.length === 1 ? client.redirectUris[0] : undefined;
}

/**
 * The requested redirect URI if it matches a registered one: the exact string (RFC 9700 §2.1), or,
 * for an `http` URI on 127.0.0.1 or [::1], the same URI with any port (RFC 8252 §7.3: native apps
 * listen on an ephemeral port). Only a URI written exactly as the URL parser serialises it is
 * compared by parts, so two parsers can never read it differently.
 */
export function matchRedirectUri(registered: readonly string[], requested: string): string | undefined {
  if (registered.includes(requested)) return requested;
  const asked = loopbackWithoutPort(requested);
  if (asked === undefined) return undefined;
  return registered.some((uri) => loopbackWithoutPort(uri) === asked) ? requested : undefined;
}

/** An http loopback URI (127.0.0.1 or [::1]) with its port removed, or undefined for anything else. */
function loopbackWithoutPort(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.href !== uri || url.protocol !== "http:" || !PORT_AGNOSTIC_LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  if (url.username !== "" || url.password !== "" || url.hash !== "") return undefined;
  url.port = "";
  return url.href;
}
