import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig, type Plugin } from "vitest/config";

/**
 * Vite inlines `import.meta.env` (with every `VITE_*` shell variable) into each module it transforms,
 * and vitest's on-disk module cache (`fsModuleCache`, node_modules/.vitest-cache) does not key on
 * those values. Without this key, the first run's `VITE_FC_SEED` / `VITE_FC_SCALE` stay baked into
 * the cached test helpers, so a replay silently runs a fresh seed (docs/reliability.md).
 */
function viteEnvInModuleCacheKey(): Plugin {
  return {
    name: "vite-env-in-module-cache-key",
    configureVitest({ defineCacheKeyGenerator }) {
      const viteEnv = Object.entries(process.env)
        .filter(([name]) => name.startsWith("VITE_"))
        .sort(([a], [b]) => a.localeCompare(b));
      defineCacheKeyGenerator(() => JSON.stringify(viteEnv));
    },
  };
}

/**
 * Every test runs inside workerd with the bindings of wrangler.toml (real D1, KV and Durable
 * Objects from Miniflare). Migrations are read here, in Node, and applied inside the runtime by
 * test/setup/apply-migrations.ts. Test-only secrets come from the `miniflare.bindings` below,
 * so tests do not depend on a developer's .dev.vars.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(__dirname, "migrations"));
  return {
    plugins: [
      viteEnvInModuleCacheKey(),
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            DOCSPACE_MACHINE_KEY: "1123askdasjklasbnd",
            CLIENT_SECRET_PEPPER: "test-pepper-0123456789abcdef",
            // Two tokens, as during a rotation of the authorization server's credential (test/helpers/service.ts).
            SERVICE_TOKENS: "test-service-token-primary-0123456789,test-service-token-secondary-0123456789",
            // base64url of 32 bytes (AES-256-GCM) for the signing keys' private halves (src/keys/key-crypto.ts).
            SIGNING_KEY_ENCRYPTION_KEY: "xTq0p8_ARcnBRHzs3ZkogYlJd-jcyjKk6RyRxBUzqzg",
            // Tests act as few callers making many requests; rate-limit tests lower these per
            // request through a wrapped env (test/helpers/app.ts).
            RATE_LIMIT_GET: "100000",
            RATE_LIMIT_POST: "100000",
            RATE_LIMIT_PUT: "100000",
            RATE_LIMIT_PATCH: "100000",
            RATE_LIMIT_DELETE: "100000",
            RATE_LIMIT_SERVICE: "100000",
            RATE_LIMIT_TOKEN: "100000",
            RATE_LIMIT_INTROSPECT: "100000",
          },
        },
      }),
    ],
    // The same module alias as wrangler.toml's `[alias]`: tests run the zod namespace that deploys.
    resolve: {
      alias: [{ find: /^zod$/, replacement: path.join(__dirname, "src/lib/zod-without-locales.ts") }],
    },
    test: {
      include: ["test/**/*.test.ts"],
      setupFiles: ["./test/setup/apply-migrations.ts"],
      // The first request of a file builds the app inside a fresh workerd; on a loaded 2-core
      // machine that alone can take seconds. Generous limits, no timing assertions.
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // The worker writes one JSON access line per request (SPEC §5); thousands of them would bury the
      // report. They are dropped from the output only: spies on console.log still see every line, so
      // the tests that assert on logs (errors-and-logs, secrets-at-rest, rate-limit) are unaffected.
      // VITEST_ACCESS_LOG=1 shows them.
      onConsoleLog: (log: string) =>
        process.env.VITEST_ACCESS_LOG === "1" || !log.startsWith('{"level":"info","msg":"request"') ? undefined : false,
    },
  };
});
