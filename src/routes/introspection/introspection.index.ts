import { oauthValidationHook } from "../../lib/oauth-validation-hook";
import { createRouter } from "../../lib/router";
import * as handlers from "./introspection.handlers";
import * as routes from "./introspection.routes";

/** POST /oauth2/introspect (AS §7), at the root; its validation answers OAuth errors. */
export const introspectionRouter = createRouter().openapi(
  routes.introspectRoute,
  handlers.introspectHandler,
  oauthValidationHook,
);
