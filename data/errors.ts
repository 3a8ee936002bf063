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

/** What {@linkcode readFailure} says of a path that does not exist. */
export const NOT_FOUND = "file does not exist";

/**
 * Read a whole text file. A path that cannot be read becomes `wrap(reason)`, the reason in
 * words ("file does not exist", "permission denied", …); by default the error names the path.
 */
export async function readTextOrThrow(
  path: string,
  wrap: (reason: string, error: unknown) => Error = (_, error) => fileError(path, error),
): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw wrap(readFailure(error), error);
  }
}

/** Why a file could not be read, in words. */
export function readFailure(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return NOT_FOUND;
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "expected a file but found a directory";
  return error instanceof Error ? error.message : String(error);
}

/** A clear error for a file that cannot be opened. */
export function fileError(path: string, error: unknown): Error {
  const message = `${path}: ${readFailure(error)}`;
  if (error instanceof Deno.errors.NotFound) return new Deno.errors.NotFound(message);
  if (error instanceof Deno.errors.PermissionDenied) {
    return new Deno.errors.PermissionDenied(message);
  }
  if (error instanceof Deno.errors.IsADirectory) return new TypeError(message);
  return error instanceof Error ? error : new Error(String(error));
}
