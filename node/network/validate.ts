// Checks for the option bags of the network layer: they set limits, so an
// unknown key (a misspelt limit silently left at its default) or a limit
// that is not a positive integer is refused when the bag is built. Unknown
// keys go through the repository's one option-bag asserter (shamir/assert.ts).
import { ErrorCode, QkmsError } from '../../protocol/index.ts';
import { assertOptionsBag } from '../../shamir/index.ts';

function invalidArgument(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

/** Throws INVALID_ARGUMENT for a `bag` that is no plain object, naming the first key `allowed` does not list. */
export function assertKnownKeys(bag: unknown, allowed: readonly string[], name: string): void {
  assertOptionsBag(bag, name, allowed, invalidArgument);
}

/** Returns `value` if it is an integer in [1, max]; throws INVALID_ARGUMENT naming `name` otherwise. */
export function positiveInt(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max)
    throw invalidArgument(
      `${name}: expected an integer in [1, ${max}], got ${typeof value === 'number' ? String(value) : typeof value}`,
    );
  return value;
}
