/** `z.core` without `core.locales`, for src/lib/zod-without-locales.ts (bundle only). */
export * from "zod/v4/core";

/** Deliberately empty: zod's message locales are not in the Worker bundle. */
export const locales = {};
