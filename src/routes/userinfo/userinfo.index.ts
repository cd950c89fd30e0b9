import { createRouter } from "../../lib/router";
import * as handlers from "./userinfo.handlers";
import * as routes from "./userinfo.routes";

/** GET and POST /oauth2/userinfo (OIDC Core §5.3), at the root; errors are RFC 6750's. */
export const userInfoRouter = createRouter()
  .openapi(routes.getUserInfoRoute, handlers.userInfoHandler)
  .openapi(routes.postUserInfoRoute, handlers.userInfoHandler);
