import { createRouter } from "../../lib/router";
import * as handlers from "./jwks.handlers";
import * as routes from "./jwks.routes";

/** GET /oauth2/jwks (AS §1, §5.3), mounted at the root, not under the API base. */
export const jwksRouter = createRouter().openapi(routes.getJwksRoute, handlers.getJwksHandler);
