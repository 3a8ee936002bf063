/**
 * A CSV file read as a table of raw columns, before any encoding: each column keeps numbers
 * as float32 while every cell parses as a number (blank cells are NaN), and switches to text
 * codes (an index into the column's own dictionary, -1 for a blank) at its first word. The
 * label column is kept as the raw strings. Streaming through `csv-parse`, so a large numeric
 * file costs four bytes a cell.
 * @module
 */
import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import { fileError } from "./errors.ts";

/** A column of numbers (NaN: blank) or of text codes into `dictionary` (-1: blank). */
export type TableColumn =
  | { kind: "numeric"; values: Float32Array }
  | { kind: "text"; codes: Int32Array; dictionary: string[] };

/** A CSV file's rows, column by column. */
export interface Table {
  path: string;
  /** Column names from the header row, or `column1`, `column2`, … without one. */
  names: string[];
  /** Every column but the label's (null there). */
  columns: (TableColumn | null)[];
  /** The label column's index, or -1 when the table has none. */
  labelIndex: number;
  /** The label cells as written ("" for a blank). */
  labels: string[];
  /** The file line each row came from, for messages. */
  lines: Int32Array;
  rows: number;
}

/** Options of {@linkcode readTable}. */
export interface TableOptions {
  /** The label column: a header name, a 0-based index, or negative from the end; null: none. */
  labelColumn?: number | string | null;
  /** Whether the first row names the columns [true]. */
  header?: boolean;
  /** The field delimiter [","]. */
  delimiter?: string;
}

/** The longest cell text quoted in a message; longer values are cut (a cell can be huge). */
const QUOTE_LIMIT = 80;

/** Text as quoted in an error message: cut to {@linkcode QUOTE_LIMIT} characters. */
export function quote(text: string): string {
  return JSON.stringify(text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text);
}

/** A cell that reads as a number but not a finite one: an error, never a category. */
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/**
 * Read a CSV file as raw columns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTable } from "./table.ts";
 * const path = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(path, "size,colour,kind\n1.5,red,a\n,blue,b\n");
 * const table = await readTable(path, { labelColumn: -1 });
 * assert.deepEqual(table.labels, ["a", "b"]);
 * assert.ok(table.columns[0]!.kind === "numeric" && Number.isNaN(table.columns[0]!.values[1]!));
 * assert.ok(table.columns[1]!.kind === "text");
 * ```
 */
export async function readTable(path: string, options: TableOptions = {}): Promise<Table> {
  const header = options.header ?? true;
  let names: string[] | null = null;
  let labelIndex = -1;
  let builders: ColumnBuilder[] = [];
  const labels: string[] = [];
  let lines = new Int32Array(1024);
  let rows = 0;
  const where = (line: number, column?: number) =>
    `${path}: line ${line}${column === undefined ? "" : `, column ${column + 1}`}`;
  for await (const { record, line } of csvRecords(path, options.delimiter ?? ",")) {
    if (names === null) {
      names = header ? record.map((n) => n.trim()) : record.map((_, i) => `column${i + 1}`);
      labelIndex = options.labelColumn === null
        ? -1
        : resolveLabelColumn(options.labelColumn ?? 0, names, header, path);
      const features = record.length - (labelIndex < 0 ? 0 : 1);
      if (features < 1) {
        throw new SyntaxError(
          `${
            where(line)
          }: expected a label column and at least one feature but found ${record.length} column`,
        );
      }
      builders = record.map(() => new ColumnBuilder());
      if (header) continue;
    }
    if (record.length !== names.length) {
      throw new SyntaxError(
        `${
          where(line)
        }: expected ${names.length} columns (as in the first row) but found ${record.length}`,
      );
    }
    if (rows === lines.length) {
      const grown = new Int32Array(lines.length * 2);
      grown.set(lines);
      lines = grown;
    }
    lines[rows] = line;
    for (let c = 0; c < record.length; c++) {
      const cell = record[c]!.trim();
      if (c === labelIndex) labels.push(cell);
      else if (NON_FINITE.test(cell)) {
        throw new RangeError(`${where(line, c)}: expected a finite number but found ${cell}`);
      } else builders[c]!.push(cell, rows);
    }
    rows++;
  }
  if (names === null) {
    throw new SyntaxError(
      `${path}: file is empty; expected ${header ? "a header row and " : ""}at least one sample`,
    );
  }
  if (rows === 0) throw new SyntaxError(`${path}: no samples after the header row`);
  return {
    path,
    names,
    columns: builders.map((b, c) => (c === labelIndex ? null : b.finish(rows))),
    labelIndex,
    labels,
    lines: lines.slice(0, rows),
    rows,
  };
}

/**
 * The records of a CSV file with the line each ends on, streamed; a malformed file is a
 * `SyntaxError` and an unreadable one a file error, both naming the path.
 */
/** Bytes looked at to tell UTF-16 text from UTF-8. */
const ENCODING_PROBE_BYTES = 4096;

/**
 * Refuse text that is not UTF-8 before parsing it, saying which encoding it is: UTF-16 read as
 * UTF-8 would otherwise fail later as a misleading "expected a number" on its first row.
 */
async function checkEncoding(path: string): Promise<void> {
  const file = await Deno.open(path);
  const head = new Uint8Array(ENCODING_PROBE_BYTES);
  let n: number;
  try {
    n = (await file.read(head)) ?? 0;
  } finally {
    file.close();
  }
  const advice = "save it as UTF-8 (for example: iconv -f UTF-16 -t UTF-8)";
  if (n >= 2 && head[0] === 0xff && head[1] === 0xfe) {
    throw new SyntaxError(
      `${path}: the file is UTF-16 (little-endian, byte order mark FF FE); ${advice}`,
    );
  }
  if (n >= 2 && head[0] === 0xfe && head[1] === 0xff) {
    throw new SyntaxError(
      `${path}: the file is UTF-16 (big-endian, byte order mark FE FF); ${advice}`,
    );
  }
  if (head.subarray(0, n).includes(0)) {
    throw new SyntaxError(
      `${path}: the file holds NUL bytes, as UTF-16 text without a byte order mark does; ${advice}`,
    );
  }
}

export async function* csvRecords(
  path: string,
  delimiter: string,
): AsyncGenerator<{ record: string[]; line: number }> {
  let stream;
  try {
    await Deno.stat(path);
    await checkEncoding(path);
    stream = createReadStream(path);
  } catch (error) {
    if (error instanceof SyntaxError) throw error;
    throw fileError(path, error);
  }
  const parser = stream.pipe(
    parse({ delimiter, info: true, relax_column_count: true, skip_empty_lines: true }),
  );
  try {
    for await (
      const { record, info } of parser as AsyncIterable<
        { record: string[]; info: { lines: number } }
      >
    ) yield { record, line: info.lines };
  } catch (error) {
    if (error instanceof Error && "code" in error && String(error.code).startsWith("CSV_")) {
      throw new SyntaxError(`${path}: ${error.message}`);
    }
    throw fileError(path, error);
  } finally {
    stream.destroy();
  }
}

/** A column filled cell by cell: numbers while it can, text codes from its first word on. */
class ColumnBuilder {
  #values: Float32Array | null = new Float32Array(1024);
  #codes: Int32Array | null = null;
  #dictionary: string[] = [];
  #index = new Map<string, number>();

  push(cell: string, row: number): void {
    if (this.#values) {
      const v = cell === "" ? NaN : Number(cell);
      if (cell === "" || Number.isFinite(v)) {
        if (row === this.#values.length) this.#values = grow(this.#values);
        this.#values[row] = v;
        return;
      }
      this.#toText(row);
    }
    if (row === this.#codes!.length) this.#codes = grow(this.#codes!);
    this.#codes![row] = cell === "" ? -1 : this.#code(cell);
  }

  finish(rows: number): TableColumn {
    if (this.#values) return { kind: "numeric", values: this.#values.slice(0, rows) };
    return { kind: "text", codes: this.#codes!.slice(0, rows), dictionary: this.#dictionary };
  }

  /** The numbers so far become text (as JavaScript writes them: "3", "0.5"). */
  #toText(rows: number): void {
    const values = this.#values!;
    this.#codes = new Int32Array(values.length);
    for (let i = 0; i < rows; i++) {
      this.#codes[i] = Number.isNaN(values[i]!) ? -1 : this.#code(String(values[i]!));
    }
    this.#values = null;
  }

  #code(text: string): number {
    let code = this.#index.get(text);
    if (code === undefined) {
      code = this.#dictionary.length;
      this.#dictionary.push(text);
      this.#index.set(text, code);
    }
    return code;
  }
}

function grow<T extends Float32Array | Int32Array>(a: T): T {
  const bigger = new (a.constructor as { new (n: number): T })(a.length * 2);
  bigger.set(a);
  return bigger;
}

function resolveLabelColumn(
  column: number | string,
  names: string[],
  header: boolean,
  path: string,
): number {
  const columns = names.length;
  if (typeof column === "number") {
    const index = column < 0 ? columns + column : column;
    if (!Number.isInteger(column) || index < 0 || index >= columns) {
      throw new RangeError(
        `${path}: label column ${column} is outside the ${columns} columns (0 to ${
          columns - 1
        }, or -1 to -${columns} from the end)`,
      );
    }
    return index;
  }
  if (!header) {
    throw new TypeError(
      `${path}: label column "${column}" is a name but the file has no header row (header: false)`,
    );
  }
  const index = names.findIndex((n) => n === column);
  if (index < 0) {
    const shown = names.slice(0, 8).map(quote).join(", ");
    throw new RangeError(
      `${path}: no column named ${quote(column)} in the header; found ${shown}${
        names.length > 8 ? ", …" : ""
      }`,
    );
  }
  return index;
}
