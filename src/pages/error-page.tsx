/** @jsxImportSource hono/jsx */
import { Layout, toDocument } from "./layout";

/**
 * The page GET and POST /oauth2/authorize show when they must not redirect: an untrusted client or
 * redirect URI (AS §4 steps 1–2), or a decision that cannot be acted on. Says what went wrong and
 * what to do; never links anywhere a request parameter chose.
 */
export function renderErrorPage(model: { title: string; message: string }): Promise<string> {
  return toDocument(
    <Layout title={`${model.title} — DocSpace`} className="error">
      <h1>{model.title}</h1>
      <p>{model.message}</p>
      <p class="muted">
        Nothing was shared with the application. Go back to it and start again; if this keeps happening, tell its
        developer.
      </p>
    </Layout>,
  );
}
