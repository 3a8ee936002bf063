import assert from "node:assert/strict";
import { TestScheduler } from "rxjs/testing";
import type { Dataset } from "../../data/dataset.ts";

/** A TestScheduler that compares with node:assert's deep equality. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
}

/** A small labelled dataset: row i holds values i*features … i*features+features-1. */
export function smallDataset(count: number, features: number, classes: number): Dataset {
  return {
    x: Float32Array.from({ length: count * features }, (_, i) => (i % 7) / 7),
    labels: Int32Array.from({ length: count }, (_, i) => i % classes),
    count,
    features,
    shape: [features],
    classes,
    origin: "test",
  };
}
