/**
 * Compare two run directories, or two folders of run directories, ignoring wall-clock
 * timings: `metrics.csv` without `elapsedSeconds`, `model.json`, and `summary.json` without
 * `durationSeconds` and `samplesPerSecond`. Used to show that a refactoring changed no
 * number (`deno run -A scripts/compare_runs.ts before/ after/`); exits 1 on a difference.
 * @module
 */
import { join } from "node:path";

const TIMING_KEYS = new Set(["durationSeconds", "samplesPerSecond", "elapsedSeconds"]);

async function runDirs(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  try {
    await Deno.stat(join(root, "summary.json"));
    found.set(".", root);
    return found;
  } catch { /* a folder of runs */ }
  for await (const entry of Deno.readDir(root)) {
    const latest = join(root, entry.name, "latest");
    try {
      await Deno.stat(join(latest, "summary.json"));
      found.set(entry.name, latest);
    } catch { /* not a run folder */ }
  }
  return found;
}

function withoutTimings(text: string): string {
  return JSON.stringify(JSON.parse(text), (key, value) => TIMING_KEYS.has(key) ? undefined : value);
}

function metricsWithoutTimings(text: string): string {
  const rows = text.trimEnd().split("\n").map((line) => line.split(","));
  const drop = rows[0]!.indexOf("elapsedSeconds");
  return rows.map((cells) => cells.filter((_, i) => i !== drop).join(",")).join("\n");
}

async function compare(a: string, b: string): Promise<string[]> {
  const differences: string[] = [];
  const files: [string, (text: string) => string][] = [
    ["metrics.csv", metricsWithoutTimings],
    ["model.json", (text) => text],
    ["summary.json", withoutTimings],
  ];
  for (const [file, canonical] of files) {
    const [left, right] = await Promise.all(
      [a, b].map((dir) => Deno.readTextFile(join(dir, file)).then(canonical, () => null)),
    );
    if (left === null || right === null) differences.push(`${file}: missing`);
    else if (left !== right) differences.push(`${file}: differs`);
  }
  return differences;
}

if (import.meta.main) {
  const [before, after] = Deno.args;
  if (before === undefined || after === undefined) {
    console.error("usage: deno run -A scripts/compare_runs.ts <before> <after>");
    Deno.exit(2);
  }
  const [left, right] = await Promise.all([runDirs(before), runDirs(after)]);
  let different = 0;
  for (const [name, dir] of left) {
    const other = right.get(name);
    const problems = other === undefined ? ["no run in " + after] : await compare(dir, other);
    console.log(`${name}: ${problems.length === 0 ? "identical" : problems.join(", ")}`);
    if (problems.length > 0) different++;
  }
  if (left.size === 0) console.error(`no runs in ${before}`);
  Deno.exit(different === 0 && left.size > 0 ? 0 : 1);
}
