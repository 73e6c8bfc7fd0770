// Helpers for the node store's unit tests (node/store/**/*.test.ts):
// temporary databases removed after each test, records of the right shape,
// and raw LevelDB access to damage what the store wrote, as a disk would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, expect } from 'vitest';
import { NodeStore, type NonceEntry, type StoredContent } from '../../node/store/index.ts';
import { ErrorCode, defaultSuite, isQkmsError } from '../../protocol/internal.ts';

export const suite = defaultSuite();

/** Byte positions to flip in a sealed value: version byte, GCM nonce, first and last ciphertext byte, tag. */
export const SEALED_VALUE_POSITIONS = [0, 1, 12, 13, -17, -1];

/**
 * A maker of temporary store directories for the calling test file; each
 * directory and its `-integrity` sibling are removed after every test.
 */
/** A fresh store at `path` under a random storage key: what most store tests start from. */
export function openStore(path: string): Promise<NodeStore> {
  return NodeStore.open({ path, storageKey: suite.randomBytes(32), suite });
}

export function useTempDirs(prefix = 'qkms-'): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) {
      rmSync(d, { recursive: true, force: true });
      rmSync(`${d}-integrity`, { recursive: true, force: true });
    }
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

/** A random, valid content record; `overrides` replace fields (valid or not). */
export function content(overrides: Partial<StoredContent> = {}): StoredContent {
  return {
    contentId: suite.randomBytes(32),
    manifest: suite.randomBytes(300),
    manifestHash: suite.randomBytes(32),
    owner: suite.randomBytes(20),
    share: suite.randomBytes(64),
    storedAt: 1_700_000_000_000,
    ...overrides,
  };
}

/** A random nonce record expiring at `expiresAt`. */
export function nonce(expiresAt: number): NonceEntry {
  return { sessionKey: suite.randomBytes(32), nonce: suite.randomBytes(16), expiresAt };
}

export async function expectCorrupt(p: Promise<unknown>): Promise<void> {
  const error: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isQkmsError(error, ErrorCode.STORE_CORRUPT)).toBe(true);
}

/** Opens the raw LevelDB (the store must be closed) and hands it to `edit`. */
export async function withRawDb(
  path: string,
  edit: (db: Level<Uint8Array, Uint8Array>) => Promise<void>,
): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(path, {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await db.open();
  try {
    await edit(db);
  } finally {
    await db.close();
  }
}

export async function rawGet(
  db: Level<Uint8Array, Uint8Array>,
  key: Uint8Array,
): Promise<Uint8Array> {
  const value = (await db.get(key)) as Uint8Array | undefined; // absent keys read as undefined
  if (value === undefined) throw new Error('test: key absent');
  return new Uint8Array(value);
}

/** Flips the low bit of the byte at `index` (negative: from the end) of the value under `key`. */
export async function flipByte(path: string, key: Uint8Array, index: number): Promise<void> {
  await withRawDb(path, async (db) => {
    const value = await rawGet(db, key);
    const at = index < 0 ? value.length + index : index;
    value[at] = (value[at] ?? 0) ^ 0x01;
    await db.put(key, value);
  });
}

/** A closed store at a fresh path holding one content record and one nonce record. */
export async function populated(tempDir: () => string): Promise<{
  path: string;
  storageKey: Uint8Array;
  record: StoredContent;
  entry: NonceEntry;
}> {
  const path = tempDir();
  const storageKey = suite.randomBytes(32);
  const store = await NodeStore.open({ path, storageKey, suite });
  const record = content();
  const entry = nonce(10_000);
  await store.putContent(record);
  await store.putNonces([entry]);
  await store.close();
  return { path, storageKey, record, entry };
}
