/**
 * Helpers that make data errors say where: file, then line/column or byte offset.
 * Malformed content is a `SyntaxError`, out-of-range values a `RangeError`, a missing file
 * `Deno.errors.NotFound`.
 * @module
 */

/** Read a whole file, turning "no such file" into a message that names the path. */
export async function readFileOrThrow(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw fileError(path, error);
  }
}

/** A clear error for a file that cannot be opened. */
export function fileError(path: string, error: unknown): Error {
  if (error instanceof Deno.errors.NotFound) {
    return new Deno.errors.NotFound(`${path}: file does not exist`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new Deno.errors.PermissionDenied(`${path}: permission denied`);
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return new TypeError(`${path}: expected a file but found a directory`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
