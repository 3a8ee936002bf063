import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { root } from "./helpers.ts";

/** The README stays an entry page; the details live in docs/. */
const README_LIMIT_BYTES = 12_000;

/** The repository's folders whose paths the docs cite. */
const SOURCE_FOLDERS = [
  "bench",
  "commands",
  "config",
  "configs",
  "data",
  "docs",
  "engine",
  "examples",
  "fixtures",
  "nn",
  "pipeline",
  "queue",
  "report",
  "scripts",
  "stages",
  "sweep",
  "tests",
];

const pages = () => [
  join(root, "README.md"),
  ...[...Deno.readDirSync(join(root, "docs"))]
    .filter((e) => e.name.endsWith(".md"))
    .map((e) => join(root, "docs", e.name)),
];

Deno.test("README.md is an entry page of at most 12 KB with the two commands a newcomer needs", () => {
  const readme = Deno.readTextFileSync(join(root, "README.md"));
  const size = new TextEncoder().encode(readme).length;
  assert.ok(size <= README_LIMIT_BYTES, `README.md is ${size} bytes`);
  assert.match(readme, /^deno task train\b/m);
  assert.match(readme, /^deno task test\b/m);
});

Deno.test("every link and file path in README.md and docs/ names a file that exists", () => {
  const broken: string[] = [];
  for (const page of pages()) {
    const text = Deno.readTextFileSync(page);
    const where = page.slice(root.length + 1);
    // Markdown links to local files (relative to the page).
    for (const [, target] of text.matchAll(/\]\(([^)#:\s]+)(?:#[^)]*)?\)/g)) {
      if (!exists(join(dirname(page), target!))) broken.push(`${where}: link ${target}`);
    }
    // Repository paths in code spans: those under one of the repository's own folders.
    const spans = text.matchAll(/`((?:[a-z_]+\/)+[\w.-]+\.(?:ts|wat|yaml|json|md|py))`/g);
    for (const [, path] of spans) {
      if (!SOURCE_FOLDERS.includes(path!.split("/")[0]!)) continue;
      if (!exists(join(root, path!))) broken.push(`${where}: ${path}`);
    }
  }
  assert.deepEqual(broken, []);
});

Deno.test("every `deno task` the docs mention exists in deno.json", () => {
  const tasks = Object.keys(JSON.parse(Deno.readTextFileSync(join(root, "deno.json"))).tasks);
  const unknown = new Set<string>();
  for (const page of pages()) {
    for (const [, task] of Deno.readTextFileSync(page).matchAll(/deno task ([a-z][\w-]*)/g)) {
      if (!tasks.includes(task!)) unknown.add(`${page.slice(root.length + 1)}: ${task}`);
    }
  }
  assert.deepEqual([...unknown], []);
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
