import type { OpenApiDocument } from "../lib/openapi-types";
import type { AppRouter } from "../lib/router";
import { authorizeRouter } from "./authorize/authorize.index";
import { clientsRouter } from "./clients/clients.index";
import { clientsByIdRouter } from "./clients-by-id/clients-by-id.index";
import { consentsRouter } from "./consents/consents.index";
import { createDocsRouter } from "./docs/docs.index";
import { introspectionRouter } from "./introspection/introspection.index";
import { INTROSPECTION_PATH } from "./introspection/introspection.routes";
import { jwksRouter } from "./jwks/jwks.index";
import { JWKS_PATH } from "./jwks/jwks.routes";
import { loginRouter } from "./login/login.index";
import { metadataRouter } from "./metadata/metadata.index";
import { METADATA_PATHS } from "./metadata/metadata.routes";
import { oauth2Router } from "./oauth2/oauth2.index";
import { revocationRouter } from "./revocation/revocation.index";
import { REVOCATION_PATH } from "./revocation/revocation.routes";
import { rootRouter } from "./root/root.index";
import { scopesRouter } from "./scopes/scopes.index";
import { tokenRouter } from "./token/token.index";
import { userInfoRouter } from "./userinfo/userinfo.index";
import { USERINFO_PATH } from "./userinfo/userinfo.routes";

/**
 * Every router of the API, in match order — the one place that order is decided. Hono tries
 * routes in registration order, so a literal segment (`/clients/consents`, `/clients/info`,
 * `/clients/tenant`) must be registered before `/clients/{clientId}` or the parameter route would
 * take it (SPEC §4); test/integration/route-order.test.ts proves it for every pair.
 *
 * `documentFor` yields the whole app's OpenAPI document for the docs router.
 */
export function apiRouters(documentFor: () => OpenApiDocument): AppRouter[] {
  return [consentsRouter, clientsRouter, clientsByIdRouter, scopesRouter, oauth2Router, createDocsRouter(documentFor)];
}

/**
 * The authorization server's endpoints, at root paths (AS §1: `/oauth2/…`, not under the API base),
 * in match order, and `GET /login` (AS §3). Not behind the API's rate limiter; token, revocation
 * and introspection are limited per client by `oauthRateLimit` (app.ts), the authorize endpoint by
 * its handler (`takeAuthorizeQuota`), the JWKS and metadata never (AS §9).
 */
export function authorizationServerRouters(): AppRouter[] {
  return [
    jwksRouter,
    metadataRouter,
    authorizeRouter,
    tokenRouter,
    introspectionRouter,
    revocationRouter,
    userInfoRouter,
    loginRouter,
  ];
}

/** The public documents any origin may read (AS §1): the JWKS and the metadata at every discovery path. */
export const PUBLIC_DOCUMENT_PATHS: readonly string[] = [JWKS_PATH, ...Object.values(METADATA_PATHS)];

/** Introspection, revocation and userinfo: CORS and no-store like the token endpoint (AS §1). */
export const OAUTH_TOKEN_MANAGEMENT_PATHS: readonly string[] = [INTROSPECTION_PATH, REVOCATION_PATH, USERINFO_PATH];

/** `GET /`, outside the API: links to the docs (mounted on the app itself, not under the API base). */
export { rootRouter };
