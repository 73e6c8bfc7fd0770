// Strict readers for decoded CBOR: every message schema is a map with an
// exact key set (no unknown keys, no missing required keys) whose values are
// checked for type, length and range. Each failure is QkmsError MALFORMED
// naming the field, never its content.
import { MAX_TIMESTAMP_MS, RECORD_VERSION, SUPPORTED_VERSIONS } from '../constants.ts';
import { ErrorCode, QkmsError } from '../errors.ts';

export function malformed(field: string, expected: string): QkmsError {
  return new QkmsError(ErrorCode.MALFORMED, `${field}: expected ${expected}`);
}

export type CborMap = Readonly<Record<string, unknown>>;

/** A plain map with exactly the `required` keys and any of the `optional` ones. */
export function readMap(
  value: unknown,
  field: string,
  required: readonly string[],
  optional: readonly string[] = [],
): CborMap {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    throw malformed(field, 'a map');
  }
  const map = value as CborMap;
  for (const key of Object.keys(map)) {
    if (!required.includes(key) && !optional.includes(key))
      throw malformed(field, `no key '${key.slice(0, 32)}'`);
  }
  for (const key of required) {
    if (!Object.hasOwn(map, key)) throw malformed(`${field}.${key}`, 'a value');
  }
  return map;
}

export function readBytes(
  value: unknown,
  field: string,
  length?: number,
  maxLength?: number,
): Uint8Array {
  if (!(value instanceof Uint8Array)) throw malformed(field, 'a byte string');
  if (length !== undefined && value.length !== length)
    throw malformed(field, `${length} bytes, got ${value.length}`);
  if (maxLength !== undefined && value.length > maxLength)
    throw malformed(field, `at most ${maxLength} bytes, got ${value.length}`);
  return value;
}

export function readUint(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw malformed(field, `an integer in [${min}, ${max}]`);
  }
  return value;
}

export function readText(value: unknown, field: string, maxBytes: number): string {
  if (typeof value !== 'string') throw malformed(field, 'text');
  if (value.length > maxBytes || new TextEncoder().encode(value).length > maxBytes) {
    throw malformed(field, `text of at most ${maxBytes} bytes`);
  }
  return value;
}

export function readArray(
  value: unknown,
  field: string,
  maxItems: number,
  minItems = 0,
): readonly unknown[] {
  if (!Array.isArray(value)) throw malformed(field, 'an array');
  const items = value as readonly unknown[];
  if (items.length > maxItems || items.length < minItems) {
    throw malformed(field, `between ${minItems} and ${maxItems} items, got ${items.length}`);
  }
  return items;
}

export function readLiteral<T extends string | number>(
  value: unknown,
  field: string,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) throw malformed(field, `one of ${allowed.join(', ')}`);
  return value as T;
}

/** A protocol version: a version this code does not speak is UNSUPPORTED_VERSION, not MALFORMED. */
export function readVersion(value: unknown, field: string): number {
  const version = readUint(value, field, 0, 0xffff);
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw new QkmsError(
      ErrorCode.UNSUPPORTED_VERSION,
      `${field}: version ${version} is not supported`,
    );
  }
  return version;
}

/** A record format version (RECORD_VERSION): a version this code does not read is UNSUPPORTED_VERSION. */
export function readRecordVersion(value: unknown, field: string): number {
  const version = readUint(value, field, 0, 0xffff);
  if (version !== RECORD_VERSION) {
    throw new QkmsError(
      ErrorCode.UNSUPPORTED_VERSION,
      `${field}: record version ${version} is not supported`,
    );
  }
  return version;
}

/** Milliseconds since the Unix epoch, within RFC 3339's range. */
export function readTimestamp(value: unknown, field: string): number {
  return readUint(value, field, 0, MAX_TIMESTAMP_MS);
}
