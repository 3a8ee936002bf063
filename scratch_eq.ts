import { loadMnistDigits } from "./data/mnist_digits.ts";
const d = await loadMnistDigits();
let h = 0;
for (let i = 0; i < d.x.length; i++) h = (h * 31 + Math.round(d.x[i]! * 1000)) | 0;
// exact equality with JSON.parse
let diff = 0, k = 0;
for (let digit = 0; digit < 10; digit++) {
  const data = JSON.parse(
    await Deno.readTextFile(new URL(import.meta.resolve(`mnist/src/digits/${digit}.json`))),
  ).data;
  for (const v of data) {
    if (Math.fround(v) !== d.x[k]) diff++;
    k++;
  }
}
console.log(d.count, h, d.labels[9999], "diff", diff, k);
