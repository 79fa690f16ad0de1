import { GraphcError } from '@graphc/graph';

/** Bad usage or bad input at the CLI level (unreadable file, bad flag value): exit code 2. */
export class UsageError extends GraphcError {}

/**
 * Exit codes of API.md: 2 for bad usage or bad input (any GraphcError: the model, a feed, a file),
 * 1 for anything else (a runtime failure, a bug).
 */
export function exitCodeFor(error: unknown): number {
  return error instanceof GraphcError ? 2 : 1;
}

/** The one-line reason printed on stderr. */
export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}
