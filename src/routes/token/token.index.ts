import { oauthValidationHook } from "../../lib/oauth-validation-hook";
import { createRouter } from "../../lib/router";
import * as handlers from "./token.handlers";
import * as routes from "./token.routes";

/** POST /oauth2/token (AS §6), at the root; its validation answers OAuth errors, not problem+json. */
export const tokenRouter = createRouter().openapi(routes.tokenRoute, handlers.tokenHandler, oauthValidationHook);
