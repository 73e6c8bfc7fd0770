// What every part of the node store shares about its one LevelDB: the handle's
// type, a write's operations, and the two reads every repository does (a get
// that says "absent" as undefined, and opening a sealed value).
import { Level } from 'level';
import { ErrorCode, QkmsError } from '../../protocol/internal.ts';
import type { RecordCipher } from './record-cipher.ts';

/** Keys and values are bytes (`view` encodings): the store never stores text. */
export type Db = Level<Uint8Array, Uint8Array>;

export type BatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

/** A write that must survive a crash: LevelDB fsyncs its log before the promise resolves. */
export const SYNC = { sync: true } as const;

/** A handle on the database at `path`, not opened yet (open() creates it if missing). */
export function levelDb(path: string): Db {
  return new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' });
}

/** LevelDB's get, typed as it behaves: undefined when the key is absent. */
export async function getValue(db: Db, key: Uint8Array): Promise<Uint8Array | undefined> {
  return db.get(key);
}

/** Opens a sealed value; `raw` may be a Buffer from LevelDB, so work on a plain copy. */
export function openValue(cipher: RecordCipher, key: Uint8Array, raw: Uint8Array): Uint8Array {
  return cipher.open(key, new Uint8Array(raw));
}

export function malformedKey(kind: string): QkmsError {
  return new QkmsError(ErrorCode.STORE_CORRUPT, `node store: ${kind} record has a malformed key`);
}

/** A failure's short name for logs and readiness: its code, its cause's code, or its class. */
export function errorName(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const cause = (e as { cause?: { code?: unknown } }).cause?.code;
    return typeof code === 'string' ? code : typeof cause === 'string' ? cause : e.name;
  }
  return typeof e;
}
