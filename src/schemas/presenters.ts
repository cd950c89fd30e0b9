import type { ClientRow, ConsentRow, PublicSigningJwk, ScopeRow } from "../db/schema";
import type {
  ClientInfoPage,
  ClientInfoResponse,
  ClientPage,
  ConsentPage,
  ConsentResponse,
  ScopeResponse,
} from "./client-queries";
import type { ClientResponse } from "./clients";
import { toIsoDate } from "./common";
import type { Jwks, PublicJwk } from "./jwks";
import type { AuthenticatedClient, ConsentRecord } from "./oauth2";
import type { RowPage } from "./pagination";

/**
 * Presenters: stored rows → the wire objects of the schemas beside this file (SPEC §4.16). Only
 * handlers call them; services return rows and never know the wire format.
 */

/** `client_secret_post`, plus `none` when the client may use PKCE instead of a secret. */
export function authenticationMethods(allowPkce: boolean): string[] {
  return allowPkce ? ["client_secret_post", "none"] : ["client_secret_post"];
}

const logoutRedirectUris = (row: ClientRow): string[] => (row.logoutRedirectUri ? [row.logoutRedirectUri] : []);

/** DocSpace's ClientResponse; `secret` only in the createClient response. */
export function toClientResponse(row: ClientRow, secret?: string): ClientResponse {
  return {
    client_id: row.clientId,
    ...(secret === undefined ? {} : { client_secret: secret }),
    name: row.name,
    description: row.description,
    tenant: row.tenant,
    scopes: row.scopes,
    enabled: row.enabled,
    website_url: row.websiteUrl,
    terms_url: row.termsUrl,
    policy_url: row.policyUrl,
    logo: row.logo,
    authentication_methods: authenticationMethods(row.allowPkce),
    redirect_uris: row.redirectUris,
    allowed_origins: row.allowedOrigins,
    logout_redirect_uris: logoutRedirectUris(row),
    created_on: toIsoDate(row.createdOn),
    created_by: row.createdBy,
    modified_on: toIsoDate(row.modifiedOn),
    modified_by: row.modifiedBy,
    is_public: row.isPublic,
    allow_pkce: row.allowPkce,
  };
}

/** DocSpace's ClientInfoResponse: what a consent screen shows. */
export function toClientInfoResponse(row: ClientRow): ClientInfoResponse {
  return {
    client_id: row.clientId,
    name: row.name,
    description: row.description,
    scopes: row.scopes,
    website_url: row.websiteUrl,
    terms_url: row.termsUrl,
    policy_url: row.policyUrl,
    logo: row.logo,
    authentication_methods: authenticationMethods(row.allowPkce),
    is_public: row.isPublic,
    created_on: toIsoDate(row.createdOn),
    created_by: row.createdBy,
    modified_on: toIsoDate(row.modifiedOn),
    modified_by: row.modifiedBy,
  };
}

/** A consent with its client's info, or `null` for the client when it no longer exists. */
export function toConsentResponse(consent: ConsentRow, client: ClientRow | null): ConsentResponse {
  return {
    registered_client_id: consent.clientId,
    scopes: consent.scopes,
    modified_at: toIsoDate(consent.modifiedOn),
    client: client ? toClientInfoResponse(client) : null,
  };
}

function clientPage<T>(page: RowPage<ClientRow>, render: (row: ClientRow) => T) {
  return {
    data: page.items.map(render),
    limit: page.limit,
    last_client_id: page.last ? page.last.clientId : null,
    last_created_on: page.last ? toIsoDate(page.last.createdOn) : null,
  };
}

/** A page of clients (getClients); the cursor is null exactly when nothing follows. */
export const toClientPage = (page: RowPage<ClientRow>): ClientPage => clientPage(page, (row) => toClientResponse(row));

/** A page of client info (getClientsInfo). */
export const toClientInfoPage = (page: RowPage<ClientRow>): ClientInfoPage => clientPage(page, toClientInfoResponse);

/** A page of the caller's consents (getConsents). */
export function toConsentPage(page: RowPage<{ consent: ConsentRow; client: ClientRow | null }>): ConsentPage {
  return {
    data: page.items.map(({ consent, client }) => toConsentResponse(consent, client)),
    limit: page.limit,
    last_modified_on: page.last ? toIsoDate(page.last.consent.modifiedOn) : null,
    last_client_id: page.last ? page.last.consent.clientId : null,
  };
}

/** A scope as getScopes lists it. */
export const toScopeResponse = (row: ScopeRow): ScopeResponse => ({ name: row.name, group: row.group, type: row.type });

/** What an authorization server needs about a client it has just authenticated. */
export function toAuthenticatedClient(row: ClientRow): AuthenticatedClient {
  return {
    client_id: row.clientId,
    tenant: row.tenant,
    scopes: row.scopes,
    redirect_uris: row.redirectUris,
    allowed_origins: row.allowedOrigins,
    logout_redirect_uris: logoutRedirectUris(row),
    authentication_methods: authenticationMethods(row.allowPkce),
    allow_pkce: row.allowPkce,
    enabled: row.enabled,
  };
}

/** A consent as the authorization server's recordConsent answers it. */
export function toConsentRecord(row: ConsentRow): ConsentRecord {
  return {
    client_id: row.clientId,
    user_id: row.userId,
    tenant_id: row.tenant,
    scopes: row.scopes.split(" "),
    modified_at: toIsoDate(row.modifiedOn),
  };
}

const JWK_WIRE_MEMBERS = ["kty", "kid", "alg", "use", "crv", "x", "y", "n", "e"] as const;

/**
 * The JWKS (RFC 7517) of the published keys. Only the public members listed in `PublicJwkSchema`
 * are copied, so nothing else a stored key might hold can reach the wire.
 */
export function toJwks(keys: PublicSigningJwk[]): Jwks {
  return {
    keys: keys.map(
      (key) =>
        Object.fromEntries(
          JWK_WIRE_MEMBERS.filter((name) => key[name] !== undefined).map((name) => [name, key[name]]),
        ) as PublicJwk,
    ),
  };
}
