// Finds the conformance vectors in ../shared/vectors/ (beside every checkout
// and every CI clone; not copied into the project). When they are missing the
// conformance test fails under CI and is skipped, with the reason, elsewhere.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_VECTORS_DIR = resolve(REPO_ROOT, '..', 'shared', 'vectors');

export interface SharedVectors<T> {
  readonly data: T | undefined;
  /** Why the data is missing, when it is. */
  readonly missing: string | undefined;
}

export function loadSharedVectors<T>(relativePath: string): SharedVectors<T> {
  const path = join(SHARED_VECTORS_DIR, relativePath);
  if (!existsSync(path)) {
    const missing = `shared vectors not found at ${path}`;
    if (process.env['CI'] !== undefined && process.env['CI'] !== '') {
      throw new Error(`${missing} (required under CI)`);
    }
    return { data: undefined, missing };
  }
  return { data: JSON.parse(readFileSync(path, 'utf8')) as T, missing: undefined };
}
