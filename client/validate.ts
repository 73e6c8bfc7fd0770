// Checks for the client's option bags. They carry security bindings (the
// pinned node set, the wallet, capabilities) and limits, so an unknown key (a
// misspelt option silently left at its default) is refused, and numbers are
// range-checked where the bag is read.
import { ErrorCode, QkmsError } from '../protocol/index.ts';
import { assertOptionsBag } from '../shamir/index.ts';

function argument(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_ARGUMENT, message);
}

/**
 * Returns `value` as a record if it is a plain object whose own keys `allowed`
 * all lists (shamir's assertOptionsBag, the one option-bag asserter) and where
 * every `required` key is set.
 */
export function optionBag(
  value: unknown,
  name: string,
  allowed: readonly string[],
  required: readonly string[] = [],
): Readonly<Record<string, unknown>> {
  const bag = assertOptionsBag(value, name, allowed, argument) as Record<string, unknown>;
  for (const key of required) {
    if (bag[key] === undefined) throw argument(`${name}: missing "${key}"`);
  }
  return bag;
}

/** Returns `value` if it is an integer in [min, max]; throws INVALID_ARGUMENT naming `name`. */
export function intInRange(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw argument(
      `${name}: expected an integer in [${min}, ${max}], got ${typeof value === 'number' ? String(value) : typeof value}`,
    );
  return value;
}

/** Throws INVALID_ARGUMENT naming `name` unless `value` is a function. */
export function assertFunction(value: unknown, name: string): void {
  if (typeof value !== 'function')
    throw argument(`${name}: expected a function, got ${typeof value}`);
}

/** Throws INVALID_ARGUMENT unless `object[key]` is a function (checked without detaching a method). */
export function assertMethod(object: object, key: string, name: string): void {
  const member: unknown = (object as Record<string, unknown>)[key];
  if (typeof member !== 'function')
    throw argument(`${name}.${key}: expected a function, got ${typeof member}`);
}

/** Returns `value` if it is an AbortSignal or undefined. */
export function optionalSignal(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw argument(`${name}: expected an AbortSignal`);
  return value;
}
