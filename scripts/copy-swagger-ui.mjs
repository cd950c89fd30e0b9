// Copies the Swagger UI files the docs page needs from the swagger-ui-dist npm package into the
// git-ignored Workers static-assets folder (wrangler.toml [assets]), so /api/2.0/docs works with no
// internet access. Runs on `npm ci` (postinstall) and before `npm start`, `npm test`,
// `npm run test:browser` and the deploy dry run, so a clean clone never lacks the folder.
// Idempotent: a file is rewritten only when its content changed, and through a rename, so a
// test run reading the folder at the same moment never sees a half-written file.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// The URL prefix /api/2.0/docs/assets/ maps to this folder (see src/routes/docs/docs-page.ts).
const target = path.join(root, "dist-assets", "api", "2.0", "docs", "assets");

const require = createRequire(import.meta.url);
const swaggerUiDist = path.dirname(require.resolve("swagger-ui-dist/package.json"));

/** [source, file name in the assets folder] */
const files = [
  [path.join(swaggerUiDist, "swagger-ui-bundle.js"), "swagger-ui-bundle.js"],
  [path.join(swaggerUiDist, "swagger-ui.css"), "swagger-ui.css"],
  [path.join(swaggerUiDist, "favicon-32x32.png"), "favicon-32x32.png"],
  [path.join(swaggerUiDist, "favicon-16x16.png"), "favicon-16x16.png"],
  // Swagger UI is Apache-2.0: its licence and notice travel with the copy.
  [path.join(swaggerUiDist, "LICENSE"), "swagger-ui-LICENSE.txt"],
  [path.join(swaggerUiDist, "NOTICE"), "swagger-ui-NOTICE.txt"],
  // The gateway's own start-up script for the page (kept out of the HTML so the page's CSP can forbid inline scripts).
  [path.join(root, "src", "routes", "docs", "swagger-initializer.js"), "swagger-initializer.js"],
];

mkdirSync(target, { recursive: true });
let copied = 0;
for (const [source, name] of files) {
  const destination = path.join(target, name);
  const content = readFileSync(source);
  if (existsSync(destination) && readFileSync(destination).equals(content)) continue;
  const temporary = `${destination}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, destination);
  copied += 1;
}
if (copied > 0) console.log(`Copied ${copied} Swagger UI file(s) into dist-assets/ (swagger-ui-dist).`);
