/** @jsxImportSource hono/jsx */
import { Layout, toDocument } from "./layout";

/**
 * GET /login on a loopback host (AS §3): how to sign in locally. There is no sign-in here; the
 * developer mints an x-signature with `npm run sign -- --cookie` and puts it in the browser. The
 * page never mints one itself.
 */
export function renderLoginPage(model: { returnTo: string | null; origin: string; command: string }): Promise<string> {
  return toDocument(
    <Layout title="Sign in locally — DocSpace">
      <h1>Sign in locally</h1>
      <p>
        This gateway has no sign-in page of its own: DocSpace signs users in and hands the gateway an{" "}
        <code>x-signature</code> cookie. To act as a DocSpace user on your machine:
      </p>
      <ol>
        <li>
          In a terminal in the project, run
          <pre class="command">{model.command}</pre>
          (add <code>--user</code> or <code>--guest</code> for another role). It prints the cookie and a{" "}
          <code>document.cookie = …</code> line.
        </li>
        <li>
          Put the cookie in this browser for <code>{model.origin}</code>: open the developer tools, then either paste
          the printed <code>document.cookie</code> line into the Console, or add a cookie named <code>x-signature</code>{" "}
          under Application → Cookies. (This page runs no script of its own.)
        </li>
        <li>
          {model.returnTo ? (
            <a href={model.returnTo} class="continue">
              Continue to the application's request
            </a>
          ) : (
            "Go back to the application and start signing in again."
          )}
        </li>
      </ol>
      <p class="muted">The signature is valid for 5 minutes; run the command again when it expires.</p>
    </Layout>,
  );
}
