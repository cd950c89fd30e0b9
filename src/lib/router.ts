import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationHook } from "./validation-hook";

/**
 * The one router factory: every router shares the validation hook, so every bad input has the
 * same problem+json shape. `strict: false` lets `/clients/` match `/clients`.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({ strict: false, defaultHook: validationHook });
}

export type AppRouter = ReturnType<typeof createRouter>;
