// Browser test of the docs page (`npm run test:browser`, Node 22 from node_modules):
//   1. starts the gateway as `npm start` does (local D1 migrations, then `wrangler dev`), but on
//      free loopback ports and with its own throw-away local state, so it never collides with a
//      developer's `npm start` on 8092;
//   2. opens /api/2.0/docs in headless Debian Chromium driven by playwright-core, with every
//      request to another origin aborted and recorded (the page must work with no internet);
//   3. checks that every operation of /api/2.0/openapi.json is listed, pastes an x-signature
//      (minted by scripts/sign.ts) into "Authorize", and performs a "try it out" of createClient
//      with the documented example body, which must answer 201;
//   4. saves screenshots under test/artifacts/ and always stops the server.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, mintSignature, ROOT, startGateway } from "./gateway.mjs";

const log = (message) => console.log(`[docs-page] ${message}`);

async function main() {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  let gateway;
  let context;
  const stop = async () => {
    await context?.close().catch(() => {});
    await gateway?.stop();
  };
  process.once("SIGINT", () => stop().then(() => process.exit(130)));
  process.once("SIGTERM", () => stop().then(() => process.exit(143)));

  try {
    gateway = await startGateway(log, "docs-page");
    const { base, document } = gateway;
    const operationIds = Object.values(document.paths).flatMap((item) =>
      Object.values(item)
        .map((op) => op.operationId)
        .filter(Boolean),
    );
    assert.ok(operationIds.includes("createClient"), "the document lists createClient");

    context = await chromium.launchPersistentContext(path.join(gateway.scratch, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: CHROMIUM_ARGS,
    });
    // No internet: anything not served by the gateway itself is aborted and reported.
    const foreign = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${base}/`) || url.startsWith("data:")) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });

    log("opening /api/2.0/docs");
    await page.goto(`${base}/api/2.0/docs`, { waitUntil: "networkidle" });
    await page.locator(".opblock").first().waitFor({ timeout: 30_000 });

    const listed = await page.locator(".opblock").evaluateAll((blocks) => blocks.map((block) => block.id));
    for (const id of operationIds) {
      assert.ok(
        listed.some((blockId) => blockId.endsWith(`-${id}`)),
        `operation ${id} is listed on the page`,
      );
    }
    assert.equal(listed.length, operationIds.length, "one block per operation");
    log(`all ${operationIds.length} operations are listed`);

    // Paste an x-signature the way a user does: Authorize → xSignatureHeader → Authorize.
    const userId = randomUUID();
    const signature = await mintSignature("admin", userId, 424242);
    await page.locator("button.authorize").first().click();
    const scheme = page.locator(".auth-container", { hasText: "xSignatureHeader" });
    await scheme.locator("input").fill(signature);
    await scheme.locator("button", { hasText: /^Authorize$/ }).click();
    await page.locator(".btn-done, button.close-modal").first().click();

    // Try it out: createClient with the documented example body.
    const block = page.locator('.opblock[id$="-createClient"]');
    await block.locator(".opblock-summary").click();
    await block.locator("button.try-out__btn").click();
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/api/2.0/clients` && r.request().method() === "POST"),
      block.locator("button.execute").click(),
    ]);
    const sentSignature = response.request().headers()["x-signature"];
    assert.equal(sentSignature, signature, "try it out sent the pasted x-signature");
    assert.equal(response.status(), 201, `createClient answered ${response.status()}: ${await response.text()}`);
    const created = await response.json();
    assert.match(created.client_id, /^[0-9a-f-]{36}$/);
    await block.locator(".live-responses-table .response-col_status", { hasText: "201" }).first().waitFor();
    log(`try it out: createClient answered 201 (client ${created.client_id})`);

    const liveResponse = block.locator(".live-responses-table").first();
    await liveResponse.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, "docs-page-try-it-out.png") });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "docs-page.png") });
    await page.screenshot({ path: path.join(ARTIFACTS, "docs-page-full.png"), fullPage: true });

    // persistAuthorization: the pasted signature survives a reload.
    await page.reload({ waitUntil: "networkidle" });
    const stored = await page.evaluate(() => localStorage.getItem("authorized") ?? "");
    assert.ok(stored.includes("xSignatureHeader"), "the authorization survives a reload");

    assert.deepEqual(foreign, [], "the page requested nothing from another origin");
    assert.deepEqual(pageErrors, [], "no script errors or CSP violations on the page");
    log(`passed; screenshots in ${path.relative(ROOT, ARTIFACTS)}/`);
  } finally {
    await stop();
  }
}

main().catch((error) => {
  console.error(`[docs-page] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exitCode = 1;
});
