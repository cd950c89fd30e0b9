import { exports } from "cloudflare:workers";
import type { AppFetcher } from "./app";
import { type Caller, docspaceExp, signFor } from "./signature";

export const BASE = "http://gateway.test/api/2.0";

type CallOptions = {
  caller?: Caller;
  signature?: string;
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
  /** Call a different fetch (e.g. an app built with an injected clock or faulty env). */
  fetcher?: AppFetcher;
};

/**
 * Calls the deployed worker through its default export, signing as `caller` when given: valid for
 * 5 minutes from the fetcher's injected clock when it has one, else from the real clock.
 */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const clock = options.fetcher?.clock;
  const signature =
    options.signature ??
    (options.caller ? await signFor(options.caller, clock ? { exp: docspaceExp(clock()) } : {}) : undefined);
  if (signature !== undefined && !headers.has("x-signature")) headers.set("x-signature", signature);
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const request = new Request(`${BASE}${path}`, { method, headers, body });
  return options.fetcher ? options.fetcher(request) : exports.default.fetch(request);
}

/** A valid createClient body; override any field. */
export function clientBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "Test client",
    description: "A client made by a test",
    website_url: "https://example.com",
    terms_url: "https://example.com/terms",
    policy_url: "https://example.com/privacy",
    logout_redirect_uri: "https://example.com/logout",
    redirect_uris: ["https://example.com/callback"],
    allowed_origins: ["https://example.com"],
    scopes: ["files:read", "openid"],
    allow_pkce: false,
    ...overrides,
  };
}

/** Creates a client as `caller` and returns the 201 body. */
export async function createClientAs(caller: Caller, overrides: Record<string, unknown> = {}) {
  const response = await call("POST", "/clients", { caller, body: clientBody(overrides) });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown> & { client_id: string; client_secret: string };
}
