import { eq } from "drizzle-orm";
import { guardD1 } from "../db/errors";
import { type ClientRow, clientSecrets, clients } from "../db/schema";
import { GUID_PATTERN } from "../lib/ids";
import { invalidClient, invalidGrant, invalidRequest } from "../lib/oauth-error";
import type { ServiceDeps } from "./deps";
import { matchesLiveSecret } from "./secret-rotation";

/**
 * Client authentication at the authorization server's endpoints (AS §6, RFC 6749 §2.3): the OAuth
 * variant of `authenticateClient` (token-lifecycle.ts), which keeps its problem+json contract for
 * the `/api/2.0` service route. Every failure to authenticate is the one 401 `invalid_client`
 * (`invalidClient()`), after the same work for an unknown client, a malformed id and a wrong secret.
 */

/** How the client authenticated (AS §2 `token_endpoint_auth_methods_supported`). */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "none";

/** The credentials a request carried, as read from its `Authorization` header and form. */
export type ClientCredentialsInput = {
  /** The raw `Authorization` header, if any. */
  authorization?: string;
  /** The form's `client_id` and `client_secret`. */
  clientId?: string;
  clientSecret?: string;
};

/** An authenticated (or, with `none`, identified) client. */
export type AuthenticatedTokenClient = { client: ClientRow; method: ClientAuthMethod };

type Credentials = { method: ClientAuthMethod; clientId: string; secret?: string };

/** `application/x-www-form-urlencoded` decoding of one Basic component (RFC 6749 §2.3.1); undefined when malformed. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** The client id and secret of a Basic `Authorization` header; undefined for anything malformed. */
function parseBasic(header: string): { clientId: string; secret: string } | undefined {
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match?.[1]) return undefined;
  let decoded: string;
  try {
    const binary = atob(match[1]);
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (ch) => ch.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  const clientId = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || secret === undefined) return undefined;
  return { clientId, secret };
}

/**
 * Which method the request used. Two methods at once (Basic and a form secret) are refused
 * (RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request"); a form
 * `client_id` beside Basic must name the same client. A malformed Basic header is a failed
 * authentication (401), never a fall-back to the form.
 */
function credentialsOf(input: ClientCredentialsInput): Credentials {
  const authorization = input.authorization?.trim();
  if (authorization) {
    if (!/^basic\s/i.test(authorization)) throw invalidClient();
    if (input.clientSecret !== undefined) {
      throw invalidRequest("Use one client authentication method: client_secret_basic or client_secret_post.");
    }
    const basic = parseBasic(authorization);
    if (!basic) throw invalidClient();
    if (input.clientId !== undefined && input.clientId !== basic.clientId) {
      throw invalidRequest("client_id does not match the client of the Authorization header.");
    }
    return { method: "client_secret_basic", clientId: basic.clientId, secret: basic.secret };
  }
  if (input.clientId === undefined) throw invalidClient();
  if (input.clientSecret !== undefined) {
    return { method: "client_secret_post", clientId: input.clientId, secret: input.clientSecret };
  }
  return { method: "none", clientId: input.clientId };
}

/** The client and its stored secrets in one round trip; nothing for a malformed or unknown id. */
async function findClientWithSecrets(
  deps: Pick<ServiceDeps, "db">,
  clientId: string,
): Promise<{ client: ClientRow | undefined; stored: { hash: string; expiresOn: number | null }[] }> {
  if (!GUID_PATTERN.test(clientId)) return { client: undefined, stored: [] };
  const id = clientId.toLowerCase();
  const [rows, secrets] = await guardD1(
    deps.db.batch([
      deps.db.select().from(clients).where(eq(clients.clientId, id)),
      deps.db
        .select({ hash: clientSecrets.hash, expiresOn: clientSecrets.expiresOn })
        .from(clientSecrets)
        .where(eq(clientSecrets.clientId, id)),
    ]),
  );
  const client = rows[0];
  return { client, stored: client ? secrets : [] };
}

/**
 * Authenticates the client of a token request (AS §6): `client_secret_basic`, `client_secret_post`
 * (the secret checked against the current and grace-period hashes in constant time, the same HMAC
 * and comparisons for an unknown client), or `none` — a `client_id` alone, accepted only for
 * `allow_pkce` clients and only when `allowNone` (a code grant then requires PKCE itself). Any failure
 * is 401 `invalid_client`. A client that authenticated but is disabled is 400 `invalid_grant`:
 * only a caller who proved the secret learns that.
 */
export async function authenticateTokenClient(
  deps: Pick<ServiceDeps, "db" | "now" | "pepper">,
  input: ClientCredentialsInput,
  options: { allowNone: boolean },
): Promise<AuthenticatedTokenClient> {
  const credentials = credentialsOf(input);
  const { client, stored } = await findClientWithSecrets(deps, credentials.clientId);
  if (credentials.secret === undefined) {
    if (!options.allowNone || !client?.allowPkce) throw invalidClient();
  } else {
    const matched = await matchesLiveSecret(credentials.secret, stored, deps.now, deps.pepper);
    if (!client || !matched) throw invalidClient();
  }
  if (!client.enabled) throw invalidGrant("The client is disabled.");
  return { client, method: credentials.method };
}
