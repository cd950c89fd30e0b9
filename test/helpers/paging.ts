import { call } from "./api";
import type { Caller } from "./signature";

/** A client or client-info page as the API returns it (SPEC §4.16). */
export type ClientPageBody = {
  data: { client_id: string; created_on: string; [field: string]: unknown }[];
  limit: number;
  last_client_id: string | null;
  last_created_on: string | null;
};

/** A consent page as the API returns it. */
export type ConsentPageBody = {
  data: { registered_client_id: string; scopes: string; modified_at: string; client: Record<string, unknown> | null }[];
  limit: number;
  last_modified_on: string | null;
  last_client_id: string | null;
};

type WalkOptions<Page> = {
  /** Runs after each page is read, before the next is requested (to change data mid-walk). */
  between?: (pageIndex: number, pagesSoFar: Page[]) => Promise<void>;
  /** Stop with an error after this many pages, so a broken cursor cannot loop forever. */
  maxPages?: number;
};

/**
 * Follows `last_created_on` + `last_client_id` from the first page until both are null,
 * returning every page. Each page must answer 200.
 */
export async function walkClientPages(
  caller: Caller,
  path: "/clients" | "/clients/info",
  limit: number,
  options: WalkOptions<ClientPageBody> = {},
): Promise<ClientPageBody[]> {
  const pages: ClientPageBody[] = [];
  let cursor = "";
  const maxPages = options.maxPages ?? 1000;
  for (;;) {
    const response = await call("GET", `${path}?limit=${limit}${cursor}`, { caller });
    if (response.status !== 200) throw new Error(`page ${pages.length}: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as ClientPageBody;
    pages.push(page);
    if (page.last_client_id === null || page.last_created_on === null) return pages;
    if (pages.length >= maxPages) throw new Error("the walk did not terminate");
    await options.between?.(pages.length - 1, pages);
    cursor = `&last_created_on=${encodeURIComponent(page.last_created_on)}&last_client_id=${page.last_client_id}`;
  }
}

/** Follows `last_modified_on` (+ `last_client_id` unless `withTieBreaker` is false) to the end. */
export async function walkConsentPages(
  caller: Caller,
  limit: number,
  options: WalkOptions<ConsentPageBody> & { withTieBreaker?: boolean } = {},
): Promise<ConsentPageBody[]> {
  const pages: ConsentPageBody[] = [];
  let cursor = "";
  const maxPages = options.maxPages ?? 1000;
  for (;;) {
    const response = await call("GET", `/clients/consents?limit=${limit}${cursor}`, { caller });
    if (response.status !== 200) throw new Error(`page ${pages.length}: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as ConsentPageBody;
    pages.push(page);
    if (page.last_modified_on === null) return pages;
    if (pages.length >= maxPages) throw new Error("the walk did not terminate");
    await options.between?.(pages.length - 1, pages);
    cursor = `&last_modified_on=${encodeURIComponent(page.last_modified_on)}`;
    if (options.withTieBreaker !== false) cursor += `&last_client_id=${page.last_client_id}`;
  }
}

/** Newest first, ties by id descending: the order SPEC §4.8 promises. */
export function keysetOrder<T>(items: T[], time: (item: T) => string, id: (item: T) => string): T[] {
  return [...items].sort((a, b) => {
    const byTime = Date.parse(time(b)) - Date.parse(time(a));
    if (byTime !== 0) return byTime;
    return id(a) < id(b) ? 1 : id(a) > id(b) ? -1 : 0;
  });
}
