/** @jsxImportSource hono/jsx */
import { Layout, toDocument } from "./layout";
import { groupTitle, scopeWords } from "./scope-words";

/** What the consent page shows (AS §4 step 6); every string that came from the client is escaped. */
export type ConsentPageModel = {
  client: {
    name: string;
    description: string | null;
    logo: string | null;
    websiteUrl: string | null;
    termsUrl: string | null;
    policyUrl: string | null;
  };
  userName: string;
  /** Requested scopes with their group from the scopes table, in the order requested. */
  scopes: { name: string; group: string }[];
  /** The pending request's id and its CSRF token (hidden fields). */
  requestId: string;
  csrfToken: string;
};

/** Logos are stored as data: URLs of an image (SPEC §6); anything else is not shown. */
const DATA_IMAGE = /^data:image\/(?:png|jpeg|jpg|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$/;

/** Only absolute http(s) links are rendered (a stored URL was validated; this is the second belt). */
const isHttpUrl = (value: string | null): value is string => value !== null && /^https?:\/\//i.test(value);

/** The scopes grouped by the scopes table's `group`, groups in order of first appearance. */
function grouped(scopes: ConsentPageModel["scopes"]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const scope of scopes) groups.set(scope.group, [...(groups.get(scope.group) ?? []), scope.name]);
  return [...groups];
}

/** The consent page: who asks, for what, as whom, and one form with Allow and Deny. */
export function renderConsentPage(model: ConsentPageModel): Promise<string> {
  const { client } = model;
  const logo = client.logo !== null && DATA_IMAGE.test(client.logo) ? client.logo : null;
  const links = [
    { label: "Website", href: client.websiteUrl },
    { label: "Terms of service", href: client.termsUrl },
    { label: "Privacy policy", href: client.policyUrl },
  ].filter((link): link is { label: string; href: string } => isHttpUrl(link.href));
  return toDocument(
    <Layout title={`Allow ${client.name} to access your DocSpace?`}>
      <div class="client">
        {logo ? (
          <img class="logo" src={logo} alt={`${client.name} logo`} width="56" height="56" />
        ) : (
          <span class="logo logo-placeholder" aria-hidden="true">
            {client.name.trim().charAt(0).toUpperCase()}
          </span>
        )}
        <h1>
          <span class="client-name">{client.name}</span> wants to access your DocSpace account
        </h1>
      </div>
      {client.description ? <p class="description">{client.description}</p> : null}
      <p class="user">
        Signed in as <strong class="user-name">{model.userName}</strong>
      </p>
      <h2 id="scopes-heading">This will allow {client.name} to:</h2>
      <ul class="scopes" aria-labelledby="scopes-heading">
        {grouped(model.scopes).map(([group, names]) => (
          <li class="scope-group">
            <h3>{groupTitle(group)}</h3>
            <ul>
              {names.map((name) => (
                <li data-scope={name}>{scopeWords(name)}</li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
      {links.length > 0 ? (
        <ul class="links">
          {links.map((link) => (
            <li>
              <a href={link.href} rel="noopener noreferrer" target="_blank">
                {link.label}
              </a>
            </li>
          ))}
        </ul>
      ) : null}
      <form method="post" action="/oauth2/authorize">
        <input type="hidden" name="request_id" value={model.requestId} />
        <input type="hidden" name="csrf_token" value={model.csrfToken} />
        <div class="actions">
          <button type="submit" name="decision" value="deny" class="deny">
            Deny
          </button>
          <button type="submit" name="decision" value="allow" class="allow">
            Allow
          </button>
        </div>
      </form>
      <p class="muted notice">
        You can withdraw this access at any time in your DocSpace settings. Only allow applications you trust.
      </p>
    </Layout>,
  );
}
