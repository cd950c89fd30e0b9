import { createRoute, z } from "@hono/zod-openapi";
import { PROBLEM_RESPONSES, TAGS } from "../../lib/openapi-responses";

/** Contract of the local sign-in help page (AS §3). */

export const LOGIN_PATH = "/login";

export const getLoginPageRoute = createRoute({
  method: "get",
  path: LOGIN_PATH,
  operationId: "getLoginPage",
  summary: "How to sign in locally (loopback hosts only)",
  description:
    "The default LOGIN_URL. Only when the request's host is localhost, 127.0.0.1 or [::1]: a page that explains `npm run sign -- --cookie` and where the cookie goes, and links back to the authorize URL saved in the `x-redirect-authorization-uri` cookie. Anywhere else 404, like any unknown route. Never mints a signature.",
  tags: TAGS.oauth,
  security: [],
  "x-not-rate-limited": "a static help page served only to loopback hosts (a developer's machine).",
  responses: {
    200: {
      description: "The help page.",
      content: { "text/html": { schema: z.string().openapi({ example: "<!doctype html>…" }) } },
    },
    404: PROBLEM_RESPONSES[404],
  },
});
