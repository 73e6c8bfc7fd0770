// Checks for the option bags of the network layer: they set limits, so an
// unknown key (a misspelt limit silently left at its default) or a limit
// that is not a positive integer is refused when the bag is built.
import { ErrorCode, QkmsError } from '../../protocol/index.ts';

/** Throws INVALID_ARGUMENT naming the first key of `bag` that `allowed` does not list. */
export function assertKnownKeys(bag: object, allowed: readonly string[], name: string): void {
  for (const key of Object.keys(bag)) {
    if (!allowed.includes(key))
      throw new QkmsError(ErrorCode.INVALID_ARGUMENT, `${name}: unknown option ${key}`);
  }
}

/** Returns `value` if it is an integer in [1, max]; throws INVALID_ARGUMENT naming `name` otherwise. */
export function positiveInt(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max)
    throw new QkmsError(
      ErrorCode.INVALID_ARGUMENT,
      `${name}: expected an integer in [1, ${max}], got ${typeof value === 'number' ? String(value) : typeof value}`,
    );
  return value;
}
