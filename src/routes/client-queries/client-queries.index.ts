import { createRouter } from "../../lib/router";
import * as handlers from "./client-queries.handlers";
import * as routes from "./client-queries.routes";

/**
 * Client reads and bulk deletes (SPEC §4.7–§4.11, §4.14, §4.15). Registration order matters:
 * literal segments before `{clientId}`. Mounted before `clientsRouter` so that
 * `DELETE /clients/tenant` is not taken for `DELETE /clients/{clientId}`.
 */
export const clientQueriesRouter = createRouter()
  .openapi(routes.getClientsInfoRoute, handlers.getClientsInfoHandler)
  .openapi(routes.deleteTenantClientsRoute, handlers.deleteTenantClientsHandler)
  .openapi(routes.getClientsRoute, handlers.getClientsHandler)
  .openapi(routes.deleteClientsRoute, handlers.deleteClientsHandler)
  .openapi(routes.getClientRoute, handlers.getClientHandler)
  .openapi(routes.getClientInfoRoute, handlers.getClientInfoHandler)
  .openapi(routes.getPublicClientInfoRoute, handlers.getPublicClientInfoHandler);
