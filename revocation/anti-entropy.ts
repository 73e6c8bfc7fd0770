// Anti-entropy between two nodes (DESIGN.md, Revocation): what a push
// missed — a node that was down, a partition — is found by comparing
// digests (digest.ts) and repaired in both directions by the node that
// starts the exchange. Transport-free: the node supplies a SyncPeer that
// sends the /qkms/revsync messages, and the local LiveRevocations.
import { MAX_REVSYNC_IDS, toHex } from '../protocol/internal.ts';
import { differingChildren, sameSummary, type DigestSummary } from './digest.ts';
import type { LiveRevocations } from './live.ts';

/** The peer's answers, as the revsync messages carry them. */
export interface SyncPeer {
  /** The peer's digest under `prefix`, given ours; children/ids are empty when they match. */
  digest(
    prefix: Uint8Array,
    mine: DigestSummary,
  ): Promise<DigestSummary & { children: Uint8Array; ids: readonly Uint8Array[] }>;
  /** Records for these ids; may return fewer (a frame's worth): the caller asks again. */
  fetch(ids: readonly Uint8Array[]): Promise<readonly Uint8Array[]>;
  push(records: readonly Uint8Array[]): Promise<void>;
}

export interface SyncResult {
  /** Records the peer had and we stored. */
  readonly pulled: number;
  /** Records we had and sent the peer. */
  readonly pushed: number;
  /** Digest round trips made. */
  readonly rounds: number;
}

/** Bytes of records per push message: well inside the revsync frame cap. */
export const PUSH_BATCH_BYTES = 512 * 1024;
/** Ids per fetch message. */
export const FETCH_BATCH_IDS = 256;
/** Digest requests in flight at once while descending. */
const DESCENT_CONCURRENCY = 8;

/** The answer a node gives to a peer's digest request (the responder side). */
export async function answerDigest(
  local: LiveRevocations,
  prefix: Uint8Array,
  theirs: DigestSummary,
): Promise<DigestSummary & { children: Uint8Array; ids: Uint8Array[] }> {
  const mine = local.summary(prefix);
  if (sameSummary(mine, theirs)) return { ...mine, children: new Uint8Array(0), ids: [] };
  if (prefix.length < 2) return { ...mine, children: local.children(prefix), ids: [] };
  const ids = await local.ids(prefix);
  return { ...mine, children: new Uint8Array(0), ids: ids.slice(0, MAX_REVSYNC_IDS) };
}

async function mapLimit<T>(items: readonly T[], limit: number, f: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await f(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * One exchange with `peer`: descends the digest tree where it differs,
 * fetches and accepts (verifying each) what the peer has and we lack, and
 * pushes what we have and it lacks. Throws whatever the peer or the store
 * throws; a record the peer sends that does not verify is an error
 * (BAD_REVOCATION), not something to skip silently.
 */
export async function reconcile(local: LiveRevocations, peer: SyncPeer): Promise<SyncResult> {
  const missingHere: Uint8Array[] = [];
  const missingThere: Uint8Array[] = [];
  let rounds = 0;

  const descend = async (prefix: Uint8Array): Promise<void> => {
    const mine = local.summary(prefix);
    rounds += 1;
    const theirs = await peer.digest(prefix, mine);
    if (sameSummary(mine, theirs)) return;
    if (prefix.length === 2) {
      const ours = await local.ids(prefix);
      const ourSet = new Set(ours.map((id) => toHex(id)));
      const theirSet = new Set(theirs.ids.map((id) => toHex(id)));
      for (const id of theirs.ids) if (!ourSet.has(toHex(id))) missingHere.push(id);
      for (const id of ours) if (!theirSet.has(toHex(id))) missingThere.push(id);
      return;
    }
    const differing = differingChildren(local.children(prefix), theirs.children);
    await mapLimit(differing, DESCENT_CONCURRENCY, (c) => descend(Uint8Array.of(...prefix, c)));
  };
  await descend(new Uint8Array(0));

  let pulled = 0;
  for (let i = 0; i < missingHere.length;) {
    const batch = missingHere.slice(i, i + FETCH_BATCH_IDS);
    const records = await peer.fetch(batch);
    if (records.length === 0) break; // the peer no longer has them: nothing to pull
    for (const record of records) {
      const { status } = await local.accept(record, 'sync');
      if (status === 'stored') pulled += 1;
    }
    i += records.length;
  }

  let pushed = 0;
  let batch: Uint8Array[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await peer.push(batch);
    pushed += batch.length;
    batch = [];
    bytes = 0;
  };
  for (const id of missingThere) {
    const [record] = await local.records([id], Number.MAX_SAFE_INTEGER);
    if (record === undefined) continue;
    if (bytes + record.length > PUSH_BATCH_BYTES) await flush();
    batch.push(record);
    bytes += record.length;
  }
  await flush();
  return { pulled, pushed, rounds };
}
