/// <reference types="vite/client" />
// vite/client: `import.meta.glob` and `?raw` imports, which test/unit/conformance-matrix.test.ts uses to
// read docs/conformance.md and the test files inside workerd (no node:fs there).
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      /** Migrations read by vitest.config.ts and applied by test/setup/apply-migrations.ts. */
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
