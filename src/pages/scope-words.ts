/**
 * DocSpace's scopes in plain words for the consent page, and the titles of the `scopes` table's
 * groups. A scope or group not listed here (a new row in the table) is shown by its name.
 */

const SCOPE_WORDS: Record<string, string> = {
  openid: "Know who you are (your name and email address)",
  "accounts.self:read": "See your profile",
  "accounts.self:write": "Change your profile",
  "accounts:read": "See the people in your DocSpace",
  "accounts:write": "Manage the people in your DocSpace",
  "files:read": "See your files and folders",
  "files:write": "Create, change and delete your files and folders",
  "rooms:read": "See your rooms",
  "rooms:write": "Create, change and delete your rooms",
};

const GROUP_TITLES: Record<string, string> = {
  openid: "Sign-in",
  profiles: "Your profile",
  accounts: "People",
  files: "Files",
  rooms: "Rooms",
};

/** The plain-language description of a scope. */
export const scopeWords = (name: string): string => SCOPE_WORDS[name] ?? name;

/** The title of a scope group. */
export const groupTitle = (group: string): string => GROUP_TITLES[group] ?? group;
