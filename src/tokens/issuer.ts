/**
 * The authorization server's issuer identifier (AS §2): `{origin}/oauth2`, where origin is the
 * request's scheme, host and port. DocSpace puts `{tenant_url}/oauth2` in its tokens, and one host
 * serves one tenant, so the two agree.
 */
export function issuerFor(origin: string): string {
  return `${origin}/oauth2`;
}
