// Browser test of the consent page (`npm run test:browser`, Node 22 from node_modules):
//   1. starts a throw-away gateway (test/browser/gateway.mjs) and a tiny HTTP listener on another
//      loopback port that plays the client's redirect URI;
//   2. registers a client through the management API; opens /oauth2/authorize signed out, which must
//      land on GET /login, then signs in the way that page says (`npm run sign -- --cookie`, the
//      cookie put in the browser) and follows its link back to the saved request;
//   3. opens /oauth2/authorize in headless Debian Chromium (playwright-core): the consent page shows
//      the client's name, logo and scopes, loads nothing from another origin and breaks no CSP rule;
//      every button has an accessible name and every input is hidden or labelled (Chrome's
//      accessibility tree, over the DevTools protocol); screenshots at desktop and phone width;
//   4. clicks Allow and must land on the redirect URI with a code, the state and iss (RFC 9207).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, freePort, mintSignature, ROOT, startGateway } from "./gateway.mjs";

const log = (message) => console.log(`[consent-page] ${message}`);
const LOGO =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/** The client's redirect URI: answers a small page and remembers every URL it was sent to. */
async function startCallback() {
  const port = await freePort();
  const hits = [];
  const server = createServer((request, response) => {
    hits.push(`http://127.0.0.1:${port}${request.url}`);
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end("<!doctype html><title>Client</title><p>Signed in.</p>");
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { uri: `http://127.0.0.1:${port}/callback`, hits, close: () => new Promise((r) => server.close(r)) };
}

/** The AX nodes of buttons without a name, and of non-hidden inputs without a label. */
async function accessibilityProblems(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send("Accessibility.getFullAXTree");
  await cdp.detach();
  const problems = [];
  const buttons = nodes.filter((n) => !n.ignored && n.role?.value === "button");
  for (const node of buttons) if (!node.name?.value?.trim()) problems.push(`button without a name (${node.nodeId})`);
  const fields = nodes.filter(
    (n) => !n.ignored && ["textbox", "checkbox", "radio", "combobox", "spinbutton"].includes(n.role?.value),
  );
  for (const node of fields) if (!node.name?.value?.trim()) problems.push(`${node.role.value} without a label`);
  // The DOM side: every input is hidden or has a label.
  const unlabelled = await page.$$eval("input", (inputs) =>
    inputs
      .filter((i) => i.type !== "hidden" && i.labels.length === 0 && !i.getAttribute("aria-label"))
      .map((i) => i.name),
  );
  for (const name of unlabelled) problems.push(`input ${name} is neither hidden nor labelled`);
  return { problems, buttons: buttons.map((n) => n.name?.value) };
}

async function main() {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  let gateway;
  let callback;
  let context;
  const stop = async () => {
    await context?.close().catch(() => {});
    await callback?.close();
    await gateway?.stop();
  };
  process.once("SIGINT", () => stop().then(() => process.exit(130)));
  process.once("SIGTERM", () => stop().then(() => process.exit(143)));

  try {
    gateway = await startGateway(log, "consent-page");
    const { base } = gateway;
    callback = await startCallback();

    // A client registered by an admin through the management API.
    const admin = await mintSignature("admin", randomUUID(), 515151);
    const created = await fetch(`${base}/api/2.0/clients`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-signature": admin },
      body: JSON.stringify({
        name: "Acme Sync",
        description: "Keeps your DocSpace files in sync with Acme's desktop app.",
        logo: LOGO,
        website_url: "https://acme.example",
        terms_url: "https://acme.example/terms",
        policy_url: "https://acme.example/privacy",
        redirect_uris: [callback.uri],
        allowed_origins: ["https://acme.example"],
        scopes: ["files:read", "files:write", "rooms:read", "openid"],
        allow_pkce: true,
      }),
    });
    const createdText = await created.text();
    assert.equal(created.status, 201, `createClient answered ${created.status}: ${createdText}`);
    const client = JSON.parse(createdText);
    log(`client ${client.client_id} redirects to ${callback.uri}`);

    // Sign in as GET /login says: `npm run sign -- --cookie`, the cookie put in the browser.
    const printed = await mintSignature("user", randomUUID(), 515151, ["--cookie", "--tenant-url", base]);
    const setCookie = printed.split("\n")[0] ?? "";
    const [pair] = setCookie.split(";");
    const eq = pair.indexOf("=");
    assert.equal(pair.slice(0, eq), "x-signature", "sign --cookie prints the x-signature cookie first");

    context = await chromium.launchPersistentContext(path.join(gateway.scratch, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: CHROMIUM_ARGS,
    });
    // Only the gateway and the client's redirect URI; anything else is aborted and reported.
    const foreign = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${base}/`) || url.startsWith(callback.uri) || url.startsWith("data:"))
        return route.continue();
      foreign.push(url);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error" || /Content Security Policy/i.test(message.text()))
        pageErrors.push(message.text());
    });

    const query = new URLSearchParams({
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: callback.uri,
      scope: "files:read files:write openid",
      state: "browser-state-1",
      code_challenge: CHALLENGE,
      code_challenge_method: "S256",
    });
    // Signed out: the gateway sends the browser to its local sign-in help (AS §3; LOGIN_URL is empty).
    log("opening /oauth2/authorize signed out");
    await page.goto(`${base}/oauth2/authorize?${query}`, { waitUntil: "networkidle" });
    assert.equal(new URL(page.url()).pathname, "/login", "signed out, the browser lands on /login");
    const command = (await page.locator("pre.command").textContent()) ?? "";
    assert.equal(
      command,
      `npm run sign -- --cookie --tenant-url ${base}`,
      "the page names the command for this origin",
    );
    await page.screenshot({ path: path.join(ARTIFACTS, "login-page.png"), fullPage: true });

    // Sign in as that page says (the cookie put in the browser), then follow its link back.
    await context.addCookies([{ name: "x-signature", value: pair.slice(eq + 1), url: base, sameSite: "Lax" }]);
    log("signed in; following the link back to the authorize request");
    const [opened] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${base}/oauth2/authorize?`)),
      page.getByRole("link", { name: "Continue to the application's request" }).click(),
    ]);
    assert.equal(opened.status(), 200, "the consent page answers 200");
    assert.equal(page.url(), `${base}/oauth2/authorize?${query}`, "the link led back to the saved request");
    await page.getByRole("heading", { level: 1 }).waitFor();
    assert.match(await page.locator("h1").textContent(), /Acme Sync wants to access your DocSpace account/);
    assert.match(await page.locator(".user").textContent(), /Signed in as Dev User/);
    for (const words of [
      "See your files and folders",
      "Create, change and delete your files and folders",
      "Know who you are",
    ]) {
      assert.ok(await page.getByText(words).isVisible(), `scope "${words}" is visible`);
    }
    assert.ok(!(await page.getByText("See your rooms").count()), "a scope that was not asked for is not shown");
    const logo = page.locator("img.logo");
    assert.equal(await logo.getAttribute("src"), LOGO, "the logo is the client's data: URL");
    assert.ok(await logo.evaluate((img) => img.complete && img.naturalWidth > 0), "the logo rendered (CSP allows it)");
    const styled = await page.locator("button.allow").evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(styled, "rgb(71, 129, 209)", "the stylesheet applied (served same-origin under the CSP)");

    const { problems, buttons } = await accessibilityProblems(page);
    assert.deepEqual(problems, [], "every control is named or hidden");
    assert.deepEqual(buttons.sort(), ["Allow", "Deny"], "the accessibility tree has the two named buttons");

    await page.screenshot({ path: path.join(ARTIFACTS, "consent-page.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at phone width (overflow ${overflow}px)`);
    await page.screenshot({ path: path.join(ARTIFACTS, "consent-page-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    log("the consent page shows the client, the user and the scopes; screenshots saved");

    log("clicking Allow");
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(callback.uri), { timeout: 30_000 }),
      page.getByRole("button", { name: "Allow" }).click(),
    ]);
    const landed = new URL(page.url());
    assert.equal(`${landed.origin}${landed.pathname}`, callback.uri, "landed on the redirect URI");
    assert.match(landed.searchParams.get("code") ?? "", /^[A-Za-z0-9_-]{43,}$/, "with a code");
    assert.equal(landed.searchParams.get("state"), "browser-state-1", "with the state");
    assert.equal(landed.searchParams.get("iss"), `${base}/oauth2`, "with iss (RFC 9207)");
    assert.deepEqual(callback.hits, [landed.href], "the client was called once, with that URL");
    log(`landed on ${landed.origin}${landed.pathname} with code, state and iss`);

    // The consent is stored: the same request now skips the page.
    await page.goto(`${base}/oauth2/authorize?${query}`);
    await page.waitForURL((url) => url.href.startsWith(callback.uri));
    assert.ok(
      new URL(page.url()).searchParams.get("code"),
      "a second request with the same scopes gets a code at once",
    );

    assert.deepEqual(foreign, [], "nothing was requested from another origin");
    assert.deepEqual(pageErrors, [], "no script errors or CSP violations");
    log(`passed; screenshots in ${path.relative(ROOT, ARTIFACTS)}/`);
  } finally {
    await stop();
  }
}

main().catch((error) => {
  console.error(`[consent-page] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  process.exitCode = 1;
});
