import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { JWKS_CACHE_SECONDS } from "../../keys/signing-keys";
import { toAuthorizationServerMetadata } from "../../schemas/metadata";
import { authorizationServerFacts } from "../../services/discovery";
import type { getOpenIdConfigurationRoute } from "./metadata.routes";

/** Cached as long as the JWKS (AS §2: 5 minutes), readable from any origin, never with credentials (AS §1). */
const METADATA_HEADERS = {
  "cache-control": `public, max-age=${JWKS_CACHE_SECONDS}`,
  "access-control-allow-origin": "*",
};

/** Every discovery path serves this one handler: the document for the request's origin. */
export const getMetadataHandler: RouteHandler<typeof getOpenIdConfigurationRoute, AppEnv> = async (c) =>
  c.json(
    toAuthorizationServerMetadata(await authorizationServerFacts(c.var.deps, new URL(c.req.url).origin)),
    200,
    METADATA_HEADERS,
  );
