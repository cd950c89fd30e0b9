import { errorDescriptionText } from "./oauth-error";

/**
 * The redirect back to the client (RFC 6749 §4.1.2, §4.1.2.1) with `iss` (RFC 9207). The registered
 * URI is kept byte for byte, its own query included; the new parameters are form-encoded by
 * URLSearchParams and appended after `&` (or `?`). DocSpace concatenates `?code=` even when the URI
 * has a query and does not encode `state` (AS §12.1).
 */
export function authorizationResponseUrl(redirectUri: string, params: Record<string, string>, issuer: string): string {
  const described =
    params.error_description === undefined
      ? params
      : { ...params, error_description: errorDescriptionText(params.error_description) };
  const query = new URLSearchParams({ ...described, iss: issuer }).toString();
  // Registered redirect URIs have no fragment (SPEC §6); URL tells whether a query is already there.
  const hasQuery = new URL(redirectUri).search !== "";
  if (hasQuery) return `${redirectUri}&${query}`;
  return redirectUri.endsWith("?") ? `${redirectUri}${query}` : `${redirectUri}?${query}`;
}
