// Where a node keeps the audit heads it witnessed (docs/decisions/0010): one
// small file, DIR/audit-witness.cbor, replaced whole on every change — written
// to a temp file beside it, fsynced, renamed over it, and the directory
// fsynced — so a crash leaves either the old file or the new one, never half.
// It lives outside the LevelDB store on purpose: cutting the audit log's tail
// in the database does not cut it, and it needs no store key kind. Every
// entry is a statement signed by the node it is about, so the file needs no
// encryption or MAC: a changed entry fails its signature and is dropped.
//
//   file = canonical CBOR { v: 1, peers: [head], own: [{ from: uint, head }] }
//   head = bytes: a signed audit head statement's canonical encoding
//          (protocol/messages/audit-head.ts)
//   peers: the latest head each peer sent of its own log
//   own:   per peer, the latest head of THIS node's log that peer witnessed
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  MAX_NODES,
  RECORD_VERSION,
  decodeCanonical,
  encodeCanonical,
  MAX_AUDIT_HEAD_BYTES,
  decodeAuditHead,
  encodeAuditHead,
  readArray,
  readBytes,
  readMap,
  readUint,
  readRecordVersion,
  type CborValue,
  type SignedAuditHead,
} from '../../protocol/internal.ts';

/** The file's name inside the node's data directory. */
export const AUDIT_WITNESS_FILE = 'audit-witness.cbor';
/** Two statements (~170 bytes) per peer of at most 255: far below this. */
const MAX_WITNESS_FILE_BYTES = 256 * 1024;

export interface WitnessState {
  readonly peers: readonly SignedAuditHead[];
  readonly own: readonly { readonly from: number; readonly head: SignedAuditHead }[];
}

export function encodeWitnessState(state: WitnessState): Uint8Array {
  const value: Record<string, CborValue> = {
    v: RECORD_VERSION,
    peers: state.peers.map(encodeAuditHead),
    own: state.own.map(({ from, head }) => ({ from, head: encodeAuditHead(head) })),
  };
  return encodeCanonical(value);
}

/** Strict decode (shape only: the caller verifies each statement). MALFORMED on any error. */
export function decodeWitnessState(bytes: Uint8Array): WitnessState {
  const m = readMap(decodeCanonical(bytes, MAX_WITNESS_FILE_BYTES), 'witness file', [
    'v',
    'peers',
    'own',
  ]);
  readRecordVersion(m['v'], 'v');
  return {
    peers: readArray(m['peers'], 'peers', MAX_NODES).map((h, i) =>
      decodeAuditHead(readBytes(h, `peers[${i}]`, undefined, MAX_AUDIT_HEAD_BYTES)),
    ),
    own: readArray(m['own'], 'own', MAX_NODES).map((e, i) => {
      const entry = readMap(e, `own[${i}]`, ['from', 'head']);
      return {
        from: readUint(entry['from'], `own[${i}].from`, 1, MAX_NODES),
        head: decodeAuditHead(
          readBytes(entry['head'], `own[${i}].head`, undefined, MAX_AUDIT_HEAD_BYTES),
        ),
      };
    }),
  };
}

/** The file's bytes, or undefined if there is none yet. Throws on other read errors. */
export async function readWitnessFile(path: string): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_WITNESS_FILE_BYTES) throw new Error(`${basename(path)}: too large`);
    const bytes = new Uint8Array(size);
    const { bytesRead } = await handle.read(bytes, 0, size, 0);
    return bytes.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Replaces the file whole: temp file, fsync, rename, fsync the directory. */
export async function writeWitnessFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.write(bytes, 0, bytes.length, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
