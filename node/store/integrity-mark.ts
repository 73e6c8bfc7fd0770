// The store's independent high-water mark (docs/decisions/0008): what the node
// has acknowledged as durable, kept OUTSIDE LevelDB, so a torn or flipped
// LevelDB log cannot roll it back together with the data it describes.
//
// Two files in the mark directory (DIR/db-integrity/):
//
//   mark      two 128-byte slots, written in turn (slot = generation mod 2),
//             each overwritten in place and fdatasynced. A torn slot write
//             fails its CRC and the other slot, one generation older, is read:
//             never a half-written mark.
//               slot = 'QKMK' | version (1) | 0 (3) | generation (u64 BE)
//                      | auditSeq (u64 BE) | auditHash (32)
//                      | contentEntries (u64 BE) | crc32 of the above (u32 BE)
//   contents  append-only, one 36-byte entry per content the node stored:
//               contentId (32) | crc32 of contentId (u32 BE)
//             so a missing content can be NAMED, not just counted.
//
// Order of one commit (NodeStore): LevelDB's synced batch, then the new
// content entries (appended, fdatasynced), then the slot (fdatasynced), then
// the caller's acknowledgement. So the mark never claims a write LevelDB has
// not made durable, and never lags one that was acknowledged. A failed append
// leaves entries beyond the slot's count: `repair` cuts them off again before
// the store writes anything else.
import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ErrorCode, QkmsError } from '../../protocol/index.ts';
import { STORE_LENGTHS } from './keys.ts';

export const MARK_FILE = 'mark';
export const CONTENT_INDEX_FILE = 'contents';
/** A slot's size on disk: the fields (68 bytes) padded to a round size. */
const SLOT_BYTES = 128;
const SLOT_FIELDS_BYTES = 64;
const MAGIC = Uint8Array.of(0x51, 0x4b, 0x4d, 0x4b); // 'QKMK'
const VERSION = 1;
const ENTRY_BYTES = STORE_LENGTHS.contentId + 4;
const AUDIT_HASH_BYTES = 32;

/** What the node last acknowledged as durable. */
export interface MarkState {
  readonly generation: number;
  readonly auditSeq: number;
  readonly auditHash: Uint8Array;
  /** Entries of the content index the mark vouches for. */
  readonly contentEntries: number;
}

/** What reading the mark found. */
export interface MarkReading {
  /** undefined: no mark file yet (a fresh store, or one from before marks existed). */
  readonly state: MarkState | undefined;
  /** The ids of the content index the mark vouches for, in order (duplicates possible). */
  readonly contentIds: readonly Uint8Array[];
  /** Damage to the mark itself: it can no longer vouch for what it covers. */
  readonly problems: readonly string[];
}

function markError(message: string, cause?: unknown): QkmsError {
  return new QkmsError(ErrorCode.STORE_CORRUPT, `integrity mark: ${message}`, { cause });
}

function crcOf(bytes: Uint8Array): number {
  return crc32(bytes) >>> 0;
}

function encodeSlot(state: MarkState): Uint8Array {
  const slot = new Uint8Array(SLOT_BYTES);
  const view = new DataView(slot.buffer);
  slot.set(MAGIC, 0);
  slot[4] = VERSION;
  view.setBigUint64(8, BigInt(state.generation));
  view.setBigUint64(16, BigInt(state.auditSeq));
  slot.set(state.auditHash, 24);
  view.setBigUint64(24 + AUDIT_HASH_BYTES, BigInt(state.contentEntries));
  view.setUint32(SLOT_FIELDS_BYTES, crcOf(slot.subarray(0, SLOT_FIELDS_BYTES)));
  return slot;
}

function decodeSlot(slot: Uint8Array): MarkState | undefined {
  if (slot.length !== SLOT_BYTES) return undefined;
  const view = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
  if (!MAGIC.every((b, i) => slot[i] === b) || slot[4] !== VERSION) return undefined;
  if (view.getUint32(SLOT_FIELDS_BYTES) !== crcOf(slot.subarray(0, SLOT_FIELDS_BYTES)))
    return undefined;
  const number = (offset: number): number | undefined => {
    const n = view.getBigUint64(offset);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
  };
  const generation = number(8);
  const auditSeq = number(16);
  const contentEntries = number(24 + AUDIT_HASH_BYTES);
  if (generation === undefined || auditSeq === undefined || contentEntries === undefined)
    return undefined;
  return {
    generation,
    auditSeq,
    auditHash: slot.slice(24, 24 + AUDIT_HASH_BYTES),
    contentEntries,
  };
}

function encodeEntry(contentId: Uint8Array): Uint8Array {
  const entry = new Uint8Array(ENTRY_BYTES);
  entry.set(contentId, 0);
  new DataView(entry.buffer).setUint32(STORE_LENGTHS.contentId, crcOf(contentId));
  return entry;
}

async function readAll(handle: FileHandle): Promise<Uint8Array> {
  const { size } = await handle.stat();
  const bytes = new Uint8Array(size);
  let at = 0;
  while (at < size) {
    const { bytesRead } = await handle.read(bytes, at, size - at, at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return bytes.subarray(0, at);
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let at = 0;
  while (at < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at, position + at);
    at += bytesWritten;
  }
}

/** The first `vouched` entries of the content index: their ids, and any damage. */
async function readIndex(
  handle: FileHandle,
  vouched: number,
): Promise<{ ids: Uint8Array[]; problems: string[] }> {
  const raw = await readAll(handle);
  const ids: Uint8Array[] = [];
  const problems: string[] = [];
  for (let i = 0; i < vouched; i++) {
    const entry = raw.subarray(i * ENTRY_BYTES, (i + 1) * ENTRY_BYTES);
    if (entry.length < ENTRY_BYTES) {
      problems.push(`the content index holds ${i} of the ${vouched} entries the mark vouches for`);
      break;
    }
    const id = entry.slice(0, STORE_LENGTHS.contentId);
    const crc = new DataView(entry.buffer, entry.byteOffset).getUint32(STORE_LENGTHS.contentId);
    if (crc !== crcOf(id)) problems.push(`content index entry ${i + 1} is damaged`);
    else ids.push(id);
  }
  return { ids, problems };
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class IntegrityMark {
  readonly #mark: FileHandle;
  readonly #index: FileHandle;
  #state: MarkState;

  private constructor(mark: FileHandle, index: FileHandle, state: MarkState) {
    this.#mark = mark;
    this.#index = index;
    this.#state = state;
  }

  /** The last committed state: never more than is durable, never less than was acknowledged. */
  get state(): MarkState {
    return this.#state;
  }

  /**
   * Opens (creating if missing) the mark in `dir` and reads it. A missing mark
   * file reads as `state: undefined`: the caller adopts the store as found.
   */
  static async open(dir: string): Promise<{ mark: IntegrityMark; reading: MarkReading }> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const markPath = join(dir, MARK_FILE);
    const indexPath = join(dir, CONTENT_INDEX_FILE);
    let mark: FileHandle | undefined;
    let index: FileHandle | undefined;
    try {
      mark = await open(markPath, 'a+', 0o600);
      await mark.close();
      mark = await open(markPath, 'r+');
      index = await open(indexPath, 'a+', 0o600);
      await index.close();
      index = await open(indexPath, 'r+');
      await syncDir(dir);
      const problems: string[] = [];
      const slots = await readAll(mark);
      let state: MarkState | undefined;
      if (slots.length > 0) {
        for (let i = 0; i + SLOT_BYTES <= slots.length && i < 2 * SLOT_BYTES; i += SLOT_BYTES) {
          const s = decodeSlot(slots.subarray(i, i + SLOT_BYTES));
          if (s !== undefined && (state === undefined || s.generation > state.generation))
            state = s;
        }
        if (state === undefined) problems.push('the mark file has no readable slot');
      }
      const read = await readIndex(index, state?.contentEntries ?? 0);
      problems.push(...read.problems);
      const ids = read.ids;
      const current = state ?? {
        generation: 0,
        auditSeq: 0,
        auditHash: new Uint8Array(AUDIT_HASH_BYTES),
        contentEntries: 0,
      };
      const opened = new IntegrityMark(mark, index, current);
      // Entries beyond what the mark vouches for were never acknowledged: cut them off.
      if (problems.length === 0) await opened.repair();
      return { mark: opened, reading: { state, contentIds: ids, problems } };
    } catch (e) {
      await mark?.close().catch(() => undefined);
      await index?.close().catch(() => undefined);
      if (e instanceof QkmsError) throw e;
      throw markError(`cannot open ${dir}`, e);
    }
  }

  /**
   * Makes `contents` (new entries) and `audit` (the new head) part of the
   * mark: entries appended and synced, then the next slot written and synced.
   * Called only after LevelDB made them durable; the caller acknowledges only
   * after this resolves. A throw leaves the mark as it was (after `repair`).
   */
  async commit(update: {
    readonly contents: readonly Uint8Array[];
    readonly audit: { readonly seq: number; readonly hash: Uint8Array } | undefined;
  }): Promise<void> {
    const prev = this.#state;
    if (update.contents.length > 0) {
      const entries = new Uint8Array(update.contents.length * ENTRY_BYTES);
      update.contents.forEach((id, i) => {
        entries.set(encodeEntry(id), i * ENTRY_BYTES);
      });
      await writeAll(this.#index, entries, prev.contentEntries * ENTRY_BYTES);
      await this.#index.datasync();
    }
    const next: MarkState = {
      generation: prev.generation + 1,
      auditSeq: update.audit?.seq ?? prev.auditSeq,
      auditHash: update.audit?.hash ?? prev.auditHash,
      contentEntries: prev.contentEntries + update.contents.length,
    };
    await writeAll(this.#mark, encodeSlot(next), (next.generation % 2) * SLOT_BYTES);
    await this.#mark.datasync();
    this.#state = next;
  }

  /**
   * Writes a whole new baseline: the given content ids and audit head (first
   * use on an existing store). Durable before it resolves.
   */
  async adopt(
    contentIds: readonly Uint8Array[],
    audit: { seq: number; hash: Uint8Array },
  ): Promise<void> {
    await this.#index.truncate(0);
    this.#state = { ...this.#state, contentEntries: 0 };
    await this.commit({ contents: contentIds, audit });
  }

  /**
   * Stops vouching for any content (a retired node wipes its shares, decision
   * 0017): the slot with no entries first, then the index cut. A crash
   * between the two leaves entries past the slot's count, which `repair`
   * cuts, as after a failed append. Called before the records are deleted,
   * so a crash during the wipe never reads as a loss.
   */
  async forgetContents(): Promise<void> {
    this.#state = { ...this.#state, contentEntries: 0 };
    await this.commit({ contents: [], audit: undefined });
    await this.repair();
  }

  /** What the mark vouches for now, read back from disk (the check after a reopen). */
  async read(): Promise<MarkReading> {
    const { ids, problems } = await readIndex(this.#index, this.#state.contentEntries);
    return { state: this.#state, contentIds: ids, problems };
  }

  /** Cuts the content index back to what the mark vouches for (after a failed commit). */
  async repair(): Promise<void> {
    const length = this.#state.contentEntries * ENTRY_BYTES;
    const { size } = await this.#index.stat();
    if (size === length) return;
    await this.#index.truncate(length);
    await this.#index.datasync();
  }

  async close(): Promise<void> {
    try {
      await this.#mark.close();
    } finally {
      await this.#index.close();
    }
  }
}
