/**
 * Turns zod issues into lines a person can act on: what was found, what was expected, the
 * path (`→ at training.batchSize`), and for a misspelt key the nearest valid one.
 * @module
 */
import type { z } from "zod";

/** Problems listed in one message: enough to fix a config, never a flood. */
const MAX_LISTED_ISSUES = 20;

/** A config that cannot be used; `issues` holds one line pair per problem. */
export class ConfigError extends Error {
  readonly file: string;
  readonly issues: string[];
  constructor(file: string, issues: string[]) {
    const shown = issues.slice(0, MAX_LISTED_ISSUES);
    const more = issues.length - shown.length;
    super(
      `${file}: invalid config\n${shown.join("\n")}${
        more > 0 ? `\n… and ${more} more problems of the same file` : ""
      }`,
    );
    this.name = "ConfigError";
    this.file = file;
    this.issues = issues;
  }
}

/** One printable entry (`✖ message\n  → at path`) per issue. */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  input: unknown,
): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(schema, issue.path, input);
      for (const key of issue.keys) {
        const near = nearest(key, known);
        lines.push(
          entry(
            `Unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ""}`,
            [...issue.path, key],
          ),
        );
      }
      continue;
    }
    lines.push(entry(describe(issue, schema, input), issue.path));
  }
  return lines;
}

function entry(message: string, path: readonly PropertyKey[]): string {
  return path.length === 0 ? `✖ ${message}` : `✖ ${message}\n  → at ${formatPath(path)}`;
}

/** `a.b[2].c` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((
    p,
    i,
  ) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

function describe(issue: z.core.$ZodIssue, schema: z.ZodType, input: unknown): string {
  const found = valueAt(input, issue.path);
  const shown = found.present ? show(found.value) : "nothing";
  switch (issue.code) {
    case "invalid_union": {
      if ("discriminator" in issue && issue.discriminator) {
        const key = issue.discriminator;
        const values = discriminatorValues(schema, issue.path.slice(0, -1), input, key);
        return found.present
          ? `Expected ${key} to be one of ${values.map(show).join(", ")} but found ${shown}`
          : `Missing ${key}: expected one of ${values.map(show).join(", ")}`;
      }
      const expected = issue.errors.map((branch) => branch.map(expectation).join(" and "));
      return `Expected ${expected.join(" or ")} but found ${shown}`;
    }
    case "invalid_type":
      return found.present
        ? `Expected ${issue.expected} but found ${shown}`
        : `Missing required ${issue.expected}`;
    case "invalid_value":
      // A schema's own message (zod's generic one starts "Invalid") says more than the list.
      if (!issue.message.startsWith("Invalid")) return issue.message;
      return `Expected one of ${issue.values.map(show).join(", ")} but found ${shown}`;
    case "custom":
      return issue.message;
    default:
      return found.present && typeof found.value !== "object"
        ? `${issue.message} but found ${shown}`
        : issue.message;
  }
}

function expectation(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_value") return issue.values.map(show).join(" or ");
  if (issue.code === "invalid_type") return `a ${issue.expected}`;
  return issue.message;
}

function show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : JSON.stringify(value) ?? String(value);
}

function valueAt(
  input: unknown,
  path: readonly PropertyKey[],
): { present: boolean; value?: unknown } {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !(key in value)) return { present: false };
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { present: value !== undefined, value };
}

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  discriminator?: string;
  values?: unknown[];
  element?: { _zod: { def: Def } };
}

/** The object schemas that may apply at `path`, following discriminators in the input. */
function objectsAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): Def[] {
  let defs: Def[] = [(schema as unknown as { _zod: { def: Def } })._zod.def];
  let value: unknown = input;
  const expand = (list: Def[]): Def[] =>
    list.flatMap((d) => {
      if (d.innerType) return expand([d.innerType._zod.def]);
      if (d.options) {
        const options = d.options.map((o) => o._zod.def);
        const chosen = d.discriminator && value && typeof value === "object"
          ? options.filter((o) => {
            const lit = o.shape?.[d.discriminator!]?._zod.def;
            return lit?.values?.includes((value as Record<string, unknown>)[d.discriminator!]);
          })
          : [];
        return expand(chosen.length > 0 ? chosen : options);
      }
      return [d];
    });
  defs = expand(defs);
  for (const key of path) {
    value = value && typeof value === "object"
      ? (value as Record<PropertyKey, unknown>)[key]
      : undefined;
    defs = expand(
      defs.flatMap((d) => {
        if (typeof key === "number" && d.element) return [d.element._zod.def];
        const child = d.shape?.[String(key)];
        return child ? [child._zod.def] : [];
      }),
    );
  }
  return defs.filter((d) => d.type === "object");
}

function knownKeys(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  return [...new Set(objectsAt(schema, path, input).flatMap((d) => Object.keys(d.shape ?? {})))];
}

function discriminatorValues(
  schema: z.ZodType,
  path: readonly PropertyKey[],
  input: unknown,
  key: string,
): unknown[] {
  const values = objectsAt(schema, path, input).flatMap((d) =>
    d.shape?.[key]?._zod.def.values ?? []
  );
  return [...new Set(values)];
}

/** The closest key by edit distance, if it is close enough to be a likely typo. */
export function nearest(key: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(key.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
