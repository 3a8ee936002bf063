import { train } from "./pipeline/train.ts";
import { loadConfig } from "./pipeline/load_config.ts";
const loaded = await loadConfig("configs/default.yaml", ["output.dir=/tmp/m2"]);
const t = setInterval(() => {
  const m = Deno.memoryUsage();
  console.log(Math.round(m.rss / 1e6), Math.round(m.heapTotal / 1e6), Math.round(m.external / 1e6));
}, 500);
await train(loaded);
clearInterval(t);
