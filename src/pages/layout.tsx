/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { PAGE_STYLESHEET_PATH } from "./page-style";

/**
 * The frame of every authorization-server page: no script, no external asset, one same-origin
 * stylesheet. hono/jsx escapes every text and attribute value; nothing here uses `raw()` or
 * `dangerouslySetInnerHTML`, so a client's name, description or URL can only ever be text.
 */
export function Layout(props: { title: string; className?: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{props.title}</title>
        <link rel="stylesheet" href={PAGE_STYLESHEET_PATH} />
      </head>
      <body>
        <main>
          <div class={props.className ? `card ${props.className}` : "card"}>
            <p class="brand">DocSpace</p>
            {props.children}
          </div>
        </main>
      </body>
    </html>
  );
}

/** A rendered element as a complete HTML document. */
export async function toDocument(element: unknown): Promise<string> {
  return `<!doctype html>${String(await element)}`;
}
