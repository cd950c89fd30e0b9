import { describe, it } from "vitest";
import matrix from "../../docs/conformance.md?raw";

// docs/conformance.md cannot rot: every row's tests must exist under their exact names. The files are
// read through Vite (workerd has no node:fs): every test file's source as a string, keyed by path.

const SOURCES = import.meta.glob<string>("../**/*.test.ts", { query: "?raw", import: "default", eager: true });

/** The number of rows written when the matrix was made; rows may be added, never silently lost. */
const MIN_ROWS = 149;
const STATUSES = ["met", "n/a", "deviation", "gap"] as const;
const HEADER = ["id", "source", "requirement", "status", "note", "tests"];
const START = "<!-- matrix:start -->";
const END = "<!-- matrix:end -->";

/** One test reference: `` `test/…/x.test.ts` › "exact title" `` (`\"` for a quote inside the title). */
const TEST_REF = /`(test\/[\w./-]+\.test\.ts)` › "((?:[^"\\]|\\.)*)"/g;

/**
 * The titles of a test file: the first string argument of `it(`, `test(` (and their `.skip`/`.only`/
 * `.concurrent` forms) and of the call that follows `it.for([...])(` / `it.each([...])(`, i.e. any
 * string literal opening a call right after `)`. A parametrised title is its template as written
 * (`"%s → %s"`, `"$label"`), which is what a row names.
 */
function testTitles(source: string): Set<string> {
  const call =
    /(?:\b(?:it|test)(?:\.(?:skip|only|concurrent|fails))?|\))\(\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)\s*,/g;
  const titles = new Set<string>();
  for (const [, literal] of source.matchAll(call)) titles.add(unquote(literal as string));
  return titles;
}

function unquote(literal: string): string {
  const body = literal.slice(1, -1);
  if (literal.startsWith('"')) return JSON.parse(literal) as string;
  if (literal.startsWith("'")) return JSON.parse(`"${body.replace(/\\'/g, "'").replace(/"/g, '\\"')}"`) as string;
  return body.replace(/\\`/g, "`");
}

type Row = { line: number; cells: string[] };

/** Splits a Markdown table line into cells; `\|` stays inside its cell. */
function cellsOf(line: string): string[] {
  const inner = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function matrixLines(): { line: number; text: string }[] {
  const lines = matrix.split("\n");
  const start = lines.indexOf(START);
  const end = lines.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/conformance.md needs ${START} … ${END} around the table`);
  return lines
    .slice(start + 1, end)
    .map((text, i) => ({ line: start + 2 + i, text }))
    .filter(({ text }) => text.trim() !== "");
}

function parseRows(): Row[] {
  const lines = matrixLines();
  const [header, separator, ...body] = lines;
  if (!header || !separator) throw new Error("the matrix has no table");
  if (cellsOf(header.text).join(",") !== HEADER.join(",")) throw new Error(`header must be | ${HEADER.join(" | ")} |`);
  if (!/^\|(\s*-+\s*\|)+$/.test(separator.text.trim())) throw new Error("the second line must be the separator");
  return body.map(({ line, text }) => {
    if (!text.trim().startsWith("|")) throw new Error(`line ${line}: not a table row inside the matrix: ${text}`);
    return { line, cells: cellsOf(text) };
  });
}

/** A glob key (`../integration/x.test.ts`, or `./x.test.ts` beside this file) as a path from the repository root. */
function repositoryPath(key: string): string {
  if (key.startsWith("../")) return `test/${key.slice(3)}`;
  if (key.startsWith("./")) return `test/unit/${key.slice(2)}`;
  return key.replace(/^\/+/, "");
}

const rows = parseRows();
const idOf = (row: Row) => row.cells[0] ?? "";

describe("docs/conformance.md", () => {
  it("parses every line between the markers as a row of six cells", ({ expect }) => {
    // +2: the header and the separator.
    expect(rows.length + 2).toBe(matrixLines().length);
    for (const row of rows) expect(row.cells, `line ${row.line}`).toHaveLength(HEADER.length);
  });

  it(`has at least ${MIN_ROWS} rows, each with a unique id, a source and a requirement`, ({ expect }) => {
    expect(rows.length).toBeGreaterThanOrEqual(MIN_ROWS);
    const ids = rows.map(idOf);
    expect(new Set(ids).size).toBe(ids.length);
    for (const row of rows) {
      const [id, source, requirement] = row.cells;
      expect(id, `line ${row.line}`).toMatch(/^[A-Z][A-Z0-9]*(-[A-Za-z0-9.]+)+$/);
      expect(source, `line ${row.line}`).not.toBe("");
      expect(requirement, `line ${row.line}`).not.toBe("");
    }
  });

  it("gives every row an allowed status; every status but met says why in the note", ({ expect }) => {
    for (const row of rows) {
      const [id, , , status, note] = row.cells;
      expect(STATUSES, `${id}: status "${status}"`).toContain(status);
      if (status !== "met") expect(note, `${id}: a ${status} row needs a reason`).not.toBe("");
    }
  });

  it("names at least one test for every met row, and the tests cell holds nothing but test references", ({
    expect,
  }) => {
    for (const row of rows) {
      const [id, , , status, , tests = ""] = row.cells;
      const refs = [...tests.matchAll(TEST_REF)];
      if (status === "met") expect(refs.length, `${id} is met but names no test`).toBeGreaterThan(0);
      // A malformed reference must not vanish silently: only references and <br> separators may remain.
      const rest = tests.replace(TEST_REF, "").replace(/<br>/g, "").trim();
      expect(rest, `${id}: unreadable text in the tests cell`).toBe("");
    }
  });

  it("names only test files that exist and titles that are in them", ({ expect }) => {
    const titlesByFile = new Map<string, Set<string>>();
    for (const [key, source] of Object.entries(SOURCES)) {
      titlesByFile.set(repositoryPath(key), testTitles(source));
    }
    // The glob really read the test tree (not an empty match that would make every file "missing" —
    // or, worse, a check that never ran). Vite leaves the importing file itself out of the glob.
    const paths = [...titlesByFile.keys()];
    expect(paths, "the glob's keys, as paths from the repository root").toContain(
      "test/integration/introspection.test.ts",
    );
    expect(titlesByFile.size).toBeGreaterThan(40);

    let checked = 0;
    for (const row of rows) {
      for (const [, file, escaped] of (row.cells[5] ?? "").matchAll(TEST_REF)) {
        const title = (escaped as string).replace(/\\"/g, '"');
        const titles = titlesByFile.get(file as string);
        expect(titles, `${idOf(row)}: no test file ${file}`).toBeDefined();
        expect(titles?.has(title), `${idOf(row)}: no test "${title}" in ${file}`).toBe(true);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(MIN_ROWS);
  });
});

describe("testTitles", () => {
  it("reads plain, parametrised and multi-line titles, and nothing from describe", ({ expect }) => {
    const source = [
      'describe("a group", () => {',
      '  it("plain \\"quoted\\"", async ({ expect }) => {});',
      "  it.for([1, 2])('%s in single quotes', (n) => {});",
      "  it.for([",
      '    { label: "x", run: () => f("not a title", 1) },',
      '  ])("$label", async () => {});',
      "  test(",
      '    "on the next line",',
      "    () => {},",
      "  );",
      "  it(`a template`, () => {});",
      "});",
    ].join("\n");
    expect([...testTitles(source)]).toEqual([
      'plain "quoted"',
      "%s in single quotes",
      "$label",
      "on the next line",
      "a template",
    ]);
  });
});
