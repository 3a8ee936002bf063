import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { root } from "./helpers.ts";

/**
 * The folders from the top down (docs/architecture.md). A module may import from its own
 * folder and from folders below it, never from one above.
 */
const LAYERS = [
  "commands",
  "queue",
  "sweep",
  "serve",
  "report",
  "pipeline",
  "stages",
  "config",
  "data",
  "engine",
  "nn",
];

/** The library's source files, by folder (the entry points main.ts and mod.ts sit on top). */
function sources(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts")) found.push(path);
    }
  };
  for (const layer of LAYERS) walk(join(root, layer));
  return found;
}

/** Relative modules a file imports: import/export statements and Worker URLs, not doc examples. */
function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(file);
  const statements = /^(?:import|export)\b[^;]*?from\s+"(\.[^"]+)"|new URL\("(\.[^"]+)"/gm;
  return [...text.matchAll(statements)].map((m) => resolve(dirname(file), m[1] ?? m[2]!));
}

function layerOf(file: string): number {
  return LAYERS.indexOf(relative(root, file).split("/")[0]!);
}

Deno.test("every import points down the folder order (or stays in its folder)", () => {
  const upward: string[] = [];
  for (const file of sources()) {
    for (const target of importsOf(file)) {
      const [from, to] = [layerOf(file), layerOf(target)];
      if (to === -1 || to < from) {
        upward.push(`${relative(root, file)} imports ${relative(root, target)}`);
      }
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("the folder-order check sees imports, and only real ones", () => {
  const file = join(root, "pipeline", "train.ts");
  const imports = importsOf(file).map((t) => relative(root, t));
  assert.ok(imports.includes("stages/gradient.ts"), imports.join(", "));
  assert.ok(imports.every((t) => layerOf(join(root, t)) >= layerOf(file)));
  // A doc example importing ../mod.ts (the top) is text in a comment, not an import.
  const withExample = join(root, "nn", "network.ts");
  assert.match(Deno.readTextFileSync(withExample), /from "\.\.\/mod\.ts"/);
  assert.ok(!importsOf(withExample).some((t) => t.endsWith("mod.ts")));
});
