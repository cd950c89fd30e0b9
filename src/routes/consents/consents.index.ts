import { createRouter } from "../../lib/router";
import * as handlers from "./consents.handlers";
import * as routes from "./consents.routes";

/** The consent listing, `/clients/consents` (SPEC §4.12); mounted before `/clients/{clientId}` (routes/index.ts). */
export const consentsRouter = createRouter().openapi(routes.getConsentsRoute, handlers.getConsentsHandler);
