import { OAuthErrorSchema } from "./token";

/**
 * OpenAPI pieces shared by the authorization server's JSON endpoints (token, introspection,
 * revocation, userinfo): the no-store headers every answer carries and an RFC 6749 §5.2 error
 * response with its example.
 */

type HeaderSpec = { description: string; required: boolean; schema: { type: "string"; enum?: string[] } };

export const NO_STORE_HEADERS: Record<string, HeaderSpec> = {
  "Cache-Control": {
    description: "Tokens and errors are never cached (RFC 6749 §5.1).",
    required: true,
    schema: { type: "string", enum: ["no-store"] },
  },
};

/** The `Pragma` header the token endpoint adds for HTTP/1.0 caches. */
export const PRAGMA_HEADER: Record<string, HeaderSpec> = {
  Pragma: { description: "For HTTP/1.0 caches.", required: true, schema: { type: "string", enum: ["no-cache"] } },
};

/** An OAuth error response (`{"error", "error_description"}`) with its example and the no-store headers. */
export const oauthErrorResponseSpec = (
  description: string,
  error: string,
  errorDescription: string,
  extraHeaders: Record<string, HeaderSpec> = {},
) => ({
  description,
  content: {
    "application/json": {
      schema: OAuthErrorSchema,
      example: { error, error_description: errorDescription },
    },
  },
  headers: { ...NO_STORE_HEADERS, ...PRAGMA_HEADER, ...extraHeaders },
});

/** 401 `invalid_client` with the Basic challenge (RFC 6749 §5.2); `causes` says what leads to it here. */
export const invalidClientResponseSpec = (causes: string) =>
  oauthErrorResponseSpec(`invalid_client: ${causes}`, "invalid_client", "Client authentication failed.", {
    "WWW-Authenticate": {
      description: "The Basic challenge (RFC 6749 §5.2).",
      required: true,
      schema: { type: "string" },
    },
  });

/** The answers every form endpoint (token, introspection, revocation) shares: too large, rate limited, unexpected. */
export const FORM_ENDPOINT_ERROR_RESPONSES = {
  413: oauthErrorResponseSpec(
    "The form is larger than 16 KiB.",
    "invalid_request",
    "The request body exceeds 16384 bytes.",
  ),
  429: oauthErrorResponseSpec("Rate limited; see `Retry-After`.", "slow_down", "Rate limit exceeded."),
  500: oauthErrorResponseSpec(
    "An unexpected error; quote the request id when reporting it.",
    "server_error",
    "An unexpected error occurred. Quote the request id when reporting it.",
  ),
};
