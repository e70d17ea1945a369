/**
 * Bad input on a command line, said in one line (issue 13): every CLI of package.json turns a
 * missing or wrong option, or a file or folder it cannot read, into one line on stderr naming the
 * option or the file, and exit status 2 — never a stack trace. What is not bad input (a bug, a
 * store that fails) keeps its own handling.
 */

/** Bad input whose message already names the option or the file. */
export class CliInputError extends Error {}

/** Exit status of bad input, in every CLI. */
export const BAD_INPUT = 2;

const FS_CODES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder, a file was expected',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

/**
 * The one line for bad input, or null when the error is something else. A file-system error of a
 * file the user named (ENOENT, EACCES, …) is bad input; `what` names the option it came from when
 * the caller knows it.
 */
export function badInputLine(e: unknown, what?: string): string | null {
  if (e instanceof CliInputError) return `error: ${e.message}`;
  const fsError = e as { code?: unknown; path?: unknown } | null;
  if (
    fsError !== null &&
    typeof fsError === 'object' &&
    typeof fsError.code === 'string' &&
    typeof fsError.path === 'string' &&
    FS_CODES[fsError.code] !== undefined
  ) {
    return `error: ${what === undefined ? '' : `${what}: `}${fsError.path}: ${FS_CODES[fsError.code]}`;
  }
  return null;
}

/** Writes the one line and exits 2 when `e` is bad input; returns otherwise. */
export function exitOnBadInput(e: unknown, what?: string): void {
  const line = badInputLine(e, what);
  if (line === null) return;
  process.stderr.write(`${line.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(BAD_INPUT);
}
