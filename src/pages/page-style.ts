/**
 * The one stylesheet of the authorization server's pages (consent, error, local sign-in). Served by
 * the Worker at `PAGE_STYLESHEET_PATH` because the pages' CSP (`style-src 'self'`) forbids inline
 * `<style>`. Colours and type follow the docs page (Swagger UI: #3b4151 text, sans-serif) with
 * DocSpace's blue for the primary action; one column that fits a phone.
 */

/** Where the pages link their stylesheet (routes/authorize serves it). */
export const PAGE_STYLESHEET_PATH = "/oauth2/assets/consent.css";

export const PAGE_STYLESHEET = `*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;background:#f4f6f8;color:#3b4151;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Open Sans","Helvetica Neue",Arial,sans-serif}
main{max-width:30rem;margin:0 auto;padding:2rem 1rem}
.card{background:#fff;border:1px solid #d8dde3;border-radius:12px;box-shadow:0 1px 3px rgba(59,65,81,.08);padding:1.5rem}
.brand{display:flex;align-items:center;gap:.5rem;margin:0 0 1.25rem;font-size:.875rem;font-weight:600;color:#657080;letter-spacing:.02em}
.brand::before{content:"";width:.75rem;height:.75rem;border-radius:3px;background:#4781d1}
.client{display:flex;align-items:center;gap:1rem;margin-bottom:1rem}
.logo{width:56px;height:56px;flex:none;border-radius:10px;border:1px solid #e3e7eb;object-fit:contain;background:#fff}
.logo-placeholder{display:flex;align-items:center;justify-content:center;color:#fff;background:#4781d1;font-size:1.5rem;font-weight:700}
h1{margin:0;font-size:1.25rem;line-height:1.3;overflow-wrap:anywhere}
h2{margin:1.25rem 0 .5rem;font-size:1rem}
p{margin:.5rem 0;overflow-wrap:anywhere}
.muted{color:#657080;font-size:.875rem}
.user{margin:0 0 1rem;padding:.5rem .75rem;border-radius:8px;background:#f0f4fa;font-size:.9375rem}
.scopes{margin:0;padding:0;list-style:none}
.scope-group{margin:.75rem 0 0}
.scope-group h3{margin:0 0 .25rem;font-size:.8125rem;text-transform:uppercase;letter-spacing:.04em;color:#657080}
.scope-group ul{margin:0;padding-left:1.25rem}
.scope-group li{margin:.125rem 0}
.links{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:1rem 0 0;padding:0;list-style:none;font-size:.875rem}
a{color:#2c6cc4}
a:focus-visible,button:focus-visible{outline:3px solid #9cc1f0;outline-offset:2px}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}
button{flex:1;min-height:44px;padding:.625rem 1rem;border-radius:8px;border:1px solid #4781d1;font:inherit;font-weight:600;cursor:pointer}
.allow{background:#4781d1;color:#fff}
.allow:hover{background:#3b6fb8}
.deny{background:#fff;color:#3b4151;border-color:#c4cbd3}
.deny:hover{background:#f4f6f8}
.notice{margin-top:1rem}
.error h1{color:#b42318}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875rem}
pre{margin:.5rem 0;padding:.75rem;border-radius:8px;background:#f0f2f5;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
ol{padding-left:1.25rem}
ol li{margin:.5rem 0}
@media (max-width:26rem){main{padding:1rem .5rem}.card{padding:1.25rem 1rem}.actions{flex-direction:column-reverse}}
`;

/** CSP of the error and sign-in pages (AS §4 step 6): nothing but the same-origin stylesheet. */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'";

/**
 * CSP of the consent page: AS §4 step 6's policy plus two sources it needs to work. `img-src data:`
 * lets the client's logo show (logos are stored only as data: URLs; without it `default-src 'none'`
 * blocks the very `<img>` the spec asks for). `form-action` also names the origin (or private-use
 * scheme) of the client's redirect URI: browsers check `form-action` against the redirects that
 * follow a form post too, and with `'self'` alone Chromium aborts the Allow button's 302 to the
 * client (net::ERR_ABORTED; seen in test/browser/consent-page.browser.mjs). The URL parser
 * serialised both values, so neither can carry a `;` or a space into the policy.
 */
export function consentPageCsp(redirectUri: string): string {
  const url = new URL(redirectUri);
  const target = url.protocol === "http:" || url.protocol === "https:" ? url.origin : url.protocol;
  return `default-src 'none'; style-src 'self'; img-src data:; form-action 'self' ${target}; frame-ancestors 'none'`;
}
