import { createRouter } from "../../lib/router";
import { loginPageHandler } from "./login.handlers";
import * as routes from "./login.routes";

/** GET /login (AS §3), at the root; documented only, like /oauth2/authorize (no input to validate). */
export const loginRouter = createRouter();
loginRouter.openAPIRegistry.registerPath(routes.getLoginPageRoute);
loginRouter.get(routes.LOGIN_PATH, loginPageHandler);
