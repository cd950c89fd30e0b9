import { createRouter } from "../../lib/router";
import * as handlers from "./consents.handlers";
import * as routes from "./consents.routes";

/** The consent listing (SPEC §4.12); mounted before any `/clients/{clientId}` route. */
export const consentsRouter = createRouter().openapi(routes.getConsentsRoute, handlers.getConsentsHandler);
