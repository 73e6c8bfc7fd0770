// Helpers for the keystore's unit tests (node/keystore.test.ts,
// node/keystore-file.test.ts): a fast test cost, the keystore's JSON read and
// rewritten in place, and an expectation on a thrown QkmsError.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { KEYSTORE_FILE } from '../../node/keystore.ts';
import type { ErrorCode } from '../../protocol/internal.ts';

/** 2^10: about 5 ms, so the suite stays fast. Production cost is tested on its own. */
export const FAST = { logN: 10 } as const;
export const PASS = 'correct horse battery staple';

export type JsonMap = Record<string, unknown>;

export function fileOf(dir: string): string {
  return join(dir, KEYSTORE_FILE);
}

export function readJson(dir: string): JsonMap {
  return JSON.parse(readFileSync(fileOf(dir), 'utf8')) as JsonMap;
}

export function writeJson(dir: string, json: unknown): void {
  writeFileSync(fileOf(dir), JSON.stringify(json), { mode: 0o600 });
}

/** Expects `f` to throw a QkmsError with `code` whose message matches `pattern`. */
export function expectError(f: () => unknown, code: ErrorCode, pattern?: RegExp | string): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeDefined();
  expect(thrown).toMatchObject({ code });
  if (pattern !== undefined) expect((thrown as Error).message).toMatch(pattern);
}
