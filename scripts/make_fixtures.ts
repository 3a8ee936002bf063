/**
 * Regenerates the data files under fixtures/ (run: `deno task fixtures`).
 * Everything is drawn from a seeded generator, so the output is the same every time.
 *
 * The tiny dataset: 8×8 "images" in 3 classes. Class k lights up a bar (0: horizontal,
 * 1: vertical, 2: diagonal) on a noisy background, pixel values 0–255 as in MNIST, with about
 * two thirds of the pixels exactly 0. Learnable by a small net in a few hundred steps.
 */
import { join } from "node:path";
import { encodeIdx } from "../data/idx.ts";
import { Random } from "../nn/random.ts";

const root = join(import.meta.dirname!, "..", "fixtures");
const tiny = join(root, "tiny");
const bad = join(root, "malformed");

function makeSplit(count: number, rng: Random): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(count * 64);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const k = n % 3;
    labels[n] = k;
    const offset = 1 + rng.int(6);
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 8; j++) {
        const on = k === 0 ? i === offset : k === 1 ? j === offset : i === j;
        const noise = rng.random() < 0.25 ? rng.int(120) : 0;
        images[n * 64 + i * 8 + j] = on ? 160 + rng.int(96) : noise;
      }
    }
  }
  return { images, labels };
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function csv(images: Uint8Array, labels: Uint8Array, names?: string[]): string {
  const header = ["label", ...Array.from({ length: 64 }, (_, i) => `p${i}`)].join(",");
  const rows = Array.from(
    labels,
    (label, n) =>
      [names ? names[label] : label, ...images.subarray(n * 64, (n + 1) * 64)].join(","),
  );
  return [header, ...rows].join("\n") + "\n";
}

const rng = new Random(2024);
const train = makeSplit(90, rng);
const test = makeSplit(30, rng);
await Deno.mkdir(tiny, { recursive: true });
await Deno.mkdir(bad, { recursive: true });

const write = (path: string, data: Uint8Array | string) =>
  typeof data === "string" ? Deno.writeTextFile(path, data) : Deno.writeFile(path, data);

// Valid: raw IDX for train, gzip IDX for test, and the same data as CSV.
await write(join(tiny, "train-images-idx3-ubyte"), encodeIdx([90, 8, 8], train.images));
await write(join(tiny, "train-labels-idx1-ubyte"), encodeIdx([90], train.labels));
await write(
  join(tiny, "test-images-idx3-ubyte.gz"),
  await gzip(encodeIdx([30, 8, 8], test.images)),
);
await write(join(tiny, "test-labels-idx1-ubyte.gz"), await gzip(encodeIdx([30], test.labels)));
await write(join(tiny, "train.csv"), csv(train.images, train.labels));
await write(join(tiny, "test.csv"), csv(test.images, test.labels));
const names = ["horizontal", "vertical", "diagonal"];
await write(join(tiny, "train_named.csv"), csv(train.images, train.labels, names));
await write(join(tiny, "test_named.csv"), csv(test.images, test.labels, names));

// Malformed: each breaks exactly one rule.
const images = encodeIdx([4, 8, 8], train.images.subarray(0, 4 * 64));
const labels = encodeIdx([4], train.labels.subarray(0, 4));
const wrongMagic = images.slice();
wrongMagic[2] = 0x0d; // float instead of unsigned byte
await write(join(bad, "wrong_magic-idx3-ubyte"), wrongMagic);
await write(join(bad, "truncated-idx3-ubyte"), images.subarray(0, images.length - 10));
await write(join(bad, "truncated-idx3-ubyte.gz"), (await gzip(images)).subarray(0, 40));
await write(join(bad, "images4-idx3-ubyte"), images);
await write(join(bad, "labels3-idx1-ubyte"), encodeIdx([3], train.labels.subarray(0, 3)));
await write(join(bad, "labels4-idx1-ubyte"), labels);
await write(join(bad, "label12-idx1-ubyte"), encodeIdx([4], [0, 1, 12, 2]));
await write(join(bad, "empty-idx3-ubyte"), new Uint8Array());
const good = csv(train.images.subarray(0, 3 * 64), train.labels.subarray(0, 3)).split("\n");
const edit = (line: number, f: (cells: string[]) => void) => {
  const lines = [...good];
  const cells = lines[line - 1]!.split(",");
  f(cells);
  lines[line - 1] = cells.join(",");
  return lines.join("\n");
};
await write(join(bad, "wrong_columns.csv"), edit(3, (c) => c.pop()));
await write(join(bad, "non_numeric.csv"), edit(3, (c) => (c[5] = "abc")));
await write(join(bad, "empty_cell.csv"), edit(2, (c) => (c[10] = "")));
await write(join(bad, "nan.csv"), edit(4, (c) => (c[7] = "NaN")));
await write(join(bad, "infinite.csv"), edit(2, (c) => (c[3] = "Infinity")));
await write(join(bad, "label_out_of_range.csv"), edit(4, (c) => (c[0] = "7")));
await write(join(bad, "empty.csv"), "");
console.log(`fixtures written under ${root}`);
