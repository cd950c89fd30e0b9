import { defineConfig } from "drizzle-kit";

/** drizzle-kit generates SQL migrations from src/db/schema.ts; wrangler applies them to D1. */
export default defineConfig({
  dialect: "sqlite",
  driver: "d1-http",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
