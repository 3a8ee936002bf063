/**
 * A minimal Protocol Buffers writer: enough to write an ONNX model (onnx.proto) without a
 * generated library. A message is built as a list of fields and encoded once.
 * @module
 */

/** One field of a message: varint, 32-bit float, length-delimited bytes, or a nested message. */
export type Field =
  | { field: number; varint: number | bigint }
  | { field: number; float: number }
  | { field: number; bytes: Uint8Array }
  | { field: number; string: string }
  | { field: number; message: Field[] };

const encoder = new TextEncoder();

/** The wire bytes of a message. */
export function encodeMessage(fields: Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    if ("varint" in f) {
      parts.push(varint((f.field << 3) | 0), varint(f.varint));
    } else if ("float" in f) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, f.float, true);
      parts.push(varint((f.field << 3) | 5), b);
    } else {
      const body = "bytes" in f
        ? f.bytes
        : "string" in f
        ? encoder.encode(f.string)
        : encodeMessage(f.message);
      parts.push(varint((f.field << 3) | 2), varint(body.length), body);
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A base-128 varint; negative numbers as 64-bit two's complement (as protobuf int64 does). */
function varint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Uint8Array.from(bytes);
}
