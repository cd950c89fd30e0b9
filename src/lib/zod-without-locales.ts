/**
 * zod's classic API without its message locales. wrangler.toml `[alias]` points the Worker bundle's bare
 * `zod` import here, and vitest.config.ts does the same for the tests; TypeScript still types it as the
 * real package, so `z.locales.xx()` would typecheck and then fail (the tests would catch it).
 *
 * `@hono/zod-openapi` passes the whole `z` namespace to `extendZodWithOpenApi(z)`, so the bundler must
 * keep every export of that namespace, including `z.locales`: ~45 languages, ~260 KiB of the minified
 * script that the gateway never uses (its messages are its own, and zod registers English by importing
 * `locales/en.js` directly). A local export shadows the same name from `export *`, so this namespace
 * is zod's minus the locales (in `z` and in `z.core`), and the script is ~40 % smaller (BENCHMARKS.md).
 */
export * from "zod/v4";

import * as core from "./zod-core-without-locales";
import * as z from "./zod-without-locales";

/** Deliberately empty: `z.locales.xx()` is not available in the Worker bundle. */
export const locales = {};

/** `z.core` re-exports the locales as well; it gets the same treatment. */
export { core, z, z as default };
