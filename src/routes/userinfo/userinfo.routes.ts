import { createRoute } from "@hono/zod-openapi";
import { jsonResponse, TAGS } from "../../lib/openapi-responses";
import { NO_STORE_HEADERS, oauthErrorResponseSpec as oauthError, PRAGMA_HEADER } from "../../schemas/oauth-responses";
import { UserInfoResponseSchema } from "../../schemas/token-management";

/** Contract of the UserInfo endpoint (OIDC Core §5.3), GET and POST alike. */

export const USERINFO_PATH = "/oauth2/userinfo";

const BEARER_CHALLENGE = {
  "WWW-Authenticate": {
    description: 'The Bearer challenge (RFC 6750 §3): `error="invalid_token"`, or none when no token was sent.',
    required: true,
    schema: { type: "string" as const },
  },
};

const userInfoRoute = (method: "get" | "post", operationId: string) =>
  createRoute({
    method,
    path: USERINFO_PATH,
    operationId,
    summary: `UserInfo (OIDC Core §5.3), ${method.toUpperCase()}`,
    description:
      "The user of an active access token with scope `openid` (active by introspection's rule, AS §7): `sub`, and `name` and `email` as DocSpace's x-signature carried them when the user consented (absent for a personal access token). The token goes in `Authorization: Bearer`. Not rate limited (AS §9). CORS: a response reflects `Origin` when it is one of the token's client's `allowed_origins`.",
    tags: TAGS.oauth,
    security: [{ accessTokenBearer: [] }],
    "x-not-rate-limited": "userinfo is not limited (AS §9).",
    responses: {
      200: {
        ...jsonResponse(UserInfoResponseSchema, "The user's claims."),
        headers: { ...NO_STORE_HEADERS, ...PRAGMA_HEADER },
      },
      401: oauthError(
        "No Bearer token (a challenge without an error), or invalid_token: malformed, expired, revoked, of another issuer.",
        "invalid_token",
        "The access token is invalid, expired or revoked.",
        BEARER_CHALLENGE,
      ),
      403: oauthError(
        "insufficient_scope: the token lacks `openid`.",
        "insufficient_scope",
        "The access token lacks the openid scope.",
        BEARER_CHALLENGE,
      ),
      500: oauthError(
        "An unexpected error; quote the request id when reporting it.",
        "server_error",
        "An unexpected error occurred. Quote the request id when reporting it.",
      ),
      503: oauthError(
        "The database, the revocation list or the signing keys are unavailable.",
        "temporarily_unavailable",
        "The revocation list could not be read.",
      ),
    },
  });

export const getUserInfoRoute = userInfoRoute("get", "getUserInfo");
export const postUserInfoRoute = userInfoRoute("post", "postUserInfo");
