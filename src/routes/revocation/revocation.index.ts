import { oauthValidationHook } from "../../lib/oauth-validation-hook";
import { createRouter } from "../../lib/router";
import * as handlers from "./revocation.handlers";
import * as routes from "./revocation.routes";

/** POST /oauth2/revoke (AS §8), at the root; its validation answers OAuth errors. */
export const revocationRouter = createRouter().openapi(routes.revokeRoute, handlers.revokeHandler, oauthValidationHook);
