/**
 * Writes the example tables in `examples/` from the npm package vega-datasets@3.2.1 (BSD-3-
 * Clause), unchanged but for the format: its penguins.json and cars.json become CSV (a JSON
 * null becomes a blank cell), seattle-weather.csv is copied as it is.
 *
 *   npm pack vega-datasets@3.2.1 && tar xzf vega-datasets-3.2.1.tgz
 *   deno run --allow-read --allow-write scripts/make_examples.ts package
 * @module
 */
import { join } from "node:path";
import { stringify } from "csv-stringify/sync";

const [packageDir] = Deno.args;
if (!packageDir) {
  console.error("usage: make_examples.ts <unpacked vega-datasets package folder>");
  Deno.exit(2);
}
const data = join(packageDir, "data");
const out = join(import.meta.dirname!, "..", "examples");

async function jsonToCsv(file: string, target: string): Promise<void> {
  const rows: Record<string, unknown>[] = JSON.parse(await Deno.readTextFile(join(data, file)));
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((r) => columns.map((c) => (r[c] === null ? "" : String(r[c]))));
  await Deno.writeTextFile(join(out, target), stringify([columns, ...cells]));
}

await jsonToCsv("penguins.json", "penguins.csv");
await jsonToCsv("cars.json", "cars.csv");
await Deno.copyFile(join(data, "seattle-weather.csv"), join(out, "seattle-weather.csv"));
