import { call } from "./api";

/** The two service tokens configured for tests in vitest.config.ts (`SERVICE_TOKENS`), as during a rotation. */
export const SERVICE_TOKEN = "test-service-token-primary-0123456789";
export const SECOND_SERVICE_TOKEN = "test-service-token-secondary-0123456789";

type ServiceCallOptions = {
  /** The bearer token; `null` sends no Authorization header. Defaults to `SERVICE_TOKEN`. */
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  fetcher?: (request: Request) => Promise<Response>;
};

/** Calls a service route (/oauth2/*) as the authorization server: `Authorization: Bearer <token>`. */
export function serviceCall(method: string, path: string, options: ServiceCallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? SERVICE_TOKEN : options.token;
  if (token !== null && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
  return call(method, path, { body: options.body, headers, fetcher: options.fetcher });
}

/** POST /oauth2/tokens/status and its JSON body. */
export async function tokenStatusOf(
  token: { client_id: string; user_id: string; issued_at: number },
  fetcher?: (request: Request) => Promise<Response>,
): Promise<{ status: number; body: { active?: boolean; reason?: string } }> {
  const response = await serviceCall("POST", "/oauth2/tokens/status", { body: token, fetcher });
  return { status: response.status, body: (await response.json()) as { active?: boolean; reason?: string } };
}

/** POST /oauth2/clients/{id}/authenticate with a secret; the status code. */
export async function authenticateStatus(
  clientId: string,
  secret: string,
  fetcher?: (request: Request) => Promise<Response>,
): Promise<number> {
  const response = await serviceCall("POST", `/oauth2/clients/${clientId}/authenticate`, {
    body: { client_secret: secret },
    fetcher,
  });
  await response.body?.cancel();
  return response.status;
}
