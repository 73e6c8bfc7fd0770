// Long file: one handler per reshare request, each a short sequence of store and audit steps.
// /qkms/reshare on the node (decision 0016, docs/protocol.md §7d): its part in
// a handover from one node set to its successor, run by an admin's
// coordinator. Every request must carry a ticket an old-set admin signed for
// exactly this handover, and both signed node-set files; the successor must
// chain to the old set, and this node must serve one of the two.
//   as an old node: list its content ids; deal a batch of its shares
//   as a new node:  combine its shares of a batch (stored pending), sign the
//                   records; take complete records; say which it holds
// A new share is synced to disk, and its custody record written, before the
// attestation that vouches for it leaves; sub-shares leave only sealed to the
// new nodes, after the dealing's custody record.
import {
  ErrorCode,
  MAX_FRAME_BYTES,
  MAX_RESHARE_LIST,
  QkmsError,
  SHARE_BYTES,
  BoundedMap,
  commitBatch,
  dealBatch,
  decodeCanonical,
  decodeMessage,
  encodeCanonical,
  encodeMessage,
  isQkmsError,
  manifestFromCbor,
  parseSignedNodeSetJson,
  sharingBodyHash,
  sharingRecordFromCbor,
  sharingRecordToCbor,
  toHex,
  verifyNodeSetChain,
  verifySharingRecord,
  verifyTicket,
  withAttestations,
  wipe,
  type CryptoSuite,
  type DealInput,
  type Decapsulator,
  type Handover,
  type MessageOf,
  type NodeSet,
  type ReshareCommitResult,
  type ReshareEnvelope,
  type ReshareRecordStatus,
  type SharingRecord,
  type SigningKey,
} from '../../protocol/internal.ts';
import type { Logger } from '../log.ts';
import type { PendingContent, StoredContent } from '../store/index.ts';
import { errorName } from './recover.ts';
import type { CustodyAudit } from './types.ts';

export interface ReshareStore {
  getContent(contentId: Uint8Array): Promise<StoredContent | undefined>;
  listContentIds(after: Uint8Array, limit: number): Promise<Uint8Array[]>;
  getPending(nodeSetId: Uint8Array, contentId: Uint8Array): Promise<PendingContent | undefined>;
  putPending(record: PendingContent): Promise<void>;
}

export interface ReshareDeps {
  readonly suite: CryptoSuite;
  /** The set this node serves. */
  readonly nodeSet: NodeSet;
  /** Its node key: signs dealings and sharing records. */
  readonly identity: SigningKey;
  /** Its X-Wing key: opens the sub-shares dealt to it. */
  readonly kem: Decapsulator;
  readonly store: ReshareStore;
  readonly audit: CustodyAudit;
  readonly clock: () => number;
  readonly log: Logger;
  /** Test faults (QKMS_ENABLE_TEST_FAULTS=1): `wrongShare` makes this node a dealer of bad sub-shares. */
  readonly faults?: { readonly wrongShare?: boolean };
}

type ReshareRequest = MessageOf<
  'reshare-list' | 'reshare-deal' | 'reshare-commit' | 'reshare-record' | 'reshare-status'
>;

const REQUEST_TYPES = [
  'reshare-list',
  'reshare-deal',
  'reshare-commit',
  'reshare-record',
  'reshare-status',
] as const;

/** A record the coordinator sent; MALFORMED (a wire code) for anything that is not one. */
function decodedRecord(bytes: Uint8Array): SharingRecord {
  try {
    return sharingRecordFromCbor(decodeCanonical(bytes, MAX_FRAME_BYTES.publish));
  } catch (e) {
    throw new QkmsError(
      ErrorCode.MALFORMED,
      `records: not a sharing record: ${isQkmsError(e) ? e.code : errorName(e)}`,
    );
  }
}

/** What answers the cutover and node-set requests (CutoverService). */
export interface CutoverAnswers {
  answer(
    m: MessageOf<'reshare-cutover' | 'node-set'>,
  ): Promise<MessageOf<'reshare-cutover-ok' | 'node-set-ok'>>;
}

/** Handovers whose node-set files verified, by the files' hash: a batch costs no re-parse. */
const HANDOVER_CACHE = 4;

function denied(message: string): QkmsError {
  return new QkmsError(ErrorCode.RESHARE_DENIED, message);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The handover two signed node-set files describe: `to` chains from `from`
 * (k of m old admins signed it) and is the next epoch. RESHARE_DENIED otherwise.
 */
export function verifyHandoverFiles(
  suite: CryptoSuite,
  fromFile: Uint8Array,
  toFile: Uint8Array,
): Handover {
  let from: NodeSet;
  let to: NodeSet;
  try {
    from = parseSignedNodeSetJson(suite, utf8.decode(fromFile));
    to = verifyNodeSetChain(suite, from, [JSON.parse(utf8.decode(toFile)) as unknown]);
  } catch (e) {
    throw denied(
      `the node-set files do not form a verified handover: ${isQkmsError(e) ? e.message : errorName(e)}`,
    );
  }
  if (to.epoch !== from.epoch + 1) throw denied('the successor is not the next epoch');
  return { from, to };
}

/** This node's entry in `set` (node key, and X-Wing key too when `withKem`), or undefined. */
export function selfIn(
  suite: CryptoSuite,
  set: NodeSet,
  keys: { readonly identity: SigningKey; readonly kem: Decapsulator },
): NodeSet['nodes'][number] | undefined {
  return set.nodes.find(
    (n) =>
      suite.equalBytes(n.nodePublicKey, keys.identity.publicKey) &&
      suite.equalBytes(n.kemPublicKey, keys.kem.publicKey),
  );
}

export class ReshareService {
  readonly #deps: ReshareDeps;
  readonly #handovers = new BoundedMap<string, Handover>(HANDOVER_CACHE);

  constructor(deps: ReshareDeps) {
    this.#deps = deps;
  }

  /** One /qkms/reshare frame; the cutover and node-set requests go to `cutover` (./cutover.ts). */
  async handle(frame: Uint8Array, cutover?: CutoverAnswers): Promise<Uint8Array> {
    const message = decodeMessage(frame, MAX_FRAME_BYTES.reshare, [
      ...REQUEST_TYPES,
      'reshare-cutover',
      'node-set',
    ]);
    if (message.type === 'reshare-cutover' || message.type === 'node-set') {
      if (cutover === undefined) throw denied('this node takes no cutover');
      return encodeMessage(await cutover.answer(message));
    }
    const handover = this.#handover(message);
    return encodeMessage(await this.#dispatch(message, handover));
  }

  async #dispatch(
    m: ReshareRequest,
    h: Handover,
  ): Promise<
    MessageOf<
      | 'reshare-list-ok'
      | 'reshare-dealt'
      | 'reshare-committed'
      | 'reshare-record-ok'
      | 'reshare-status-ok'
    >
  > {
    switch (m.type) {
      case 'reshare-list':
        this.#role(h.from, 'old');
        return this.#list(m.after);
      case 'reshare-deal':
        return this.#deal(h, this.#role(h.from, 'old'), m.contents);
      case 'reshare-commit':
        return this.#commit(h, this.#role(h.to, 'new'), m);
      case 'reshare-record':
        this.#role(h.to, 'new');
        return this.#record(h, m.records);
      case 'reshare-status':
        this.#role(h.to, 'new');
        return this.#status(h, m.contents);
    }
  }

  /** The verified handover the envelope names; RESHARE_DENIED for anything that does not check out. */
  #handover(m: ReshareEnvelope): Handover {
    const d = this.#deps;
    const key = `${toHex(d.suite.sha256(m.from))}:${toHex(d.suite.sha256(m.to))}`;
    let handover = this.#handovers.get(key);
    if (handover === undefined) {
      handover = verifyHandoverFiles(d.suite, m.from, m.to);
      this.#handovers.set(key, handover);
    }
    const served = d.nodeSet.id;
    if (
      !d.suite.equalBytes(served, handover.from.id) &&
      !d.suite.equalBytes(served, handover.to.id)
    )
      throw denied('this node serves neither set of the handover');
    verifyTicket(
      d.suite,
      m.ticket,
      { from: handover.from.id, to: handover.to.id, admins: handover.from.admins },
      d.clock(),
    );
    return handover;
  }

  /** This node's index in `set`; RESHARE_DENIED if its keys are not listed there. */
  #role(set: NodeSet, role: 'old' | 'new'): number {
    const d = this.#deps;
    const entry = set.nodes.find((n) => d.suite.equalBytes(n.nodePublicKey, d.identity.publicKey));
    if (
      entry === undefined ||
      (role === 'new' && !d.suite.equalBytes(entry.kemPublicKey, d.kem.publicKey))
    )
      throw denied(`this node is not in the ${role} set`);
    return entry.index;
  }

  async #list(after: Uint8Array): Promise<MessageOf<'reshare-list-ok'>> {
    const ids = await this.#store('list', () =>
      this.#deps.store.listContentIds(after, MAX_RESHARE_LIST + 1),
    );
    return {
      type: 'reshare-list-ok',
      contents: ids.slice(0, MAX_RESHARE_LIST),
      more: ids.length > MAX_RESHARE_LIST,
    };
  }

  async #deal(
    h: Handover,
    dealer: number,
    contents: readonly Uint8Array[],
  ): Promise<MessageOf<'reshare-dealt'>> {
    const d = this.#deps;
    const inputs: DealInput[] = [];
    try {
      for (const contentId of contents) {
        let stored: StoredContent | undefined;
        try {
          stored = await d.store.getContent(contentId);
        } catch (e) {
          d.log.error('reshare: content unreadable', { error: errorName(e) });
          inputs.push({ contentId, status: 'failed' });
          continue;
        }
        if (stored === undefined) inputs.push({ contentId, status: 'absent' });
        else if (stored.share.length !== SHARE_BYTES) {
          // A v1 share (decision 0016): not on a Pedersen polynomial, it cannot be redistributed.
          wipe(stored.share);
          inputs.push({ contentId, status: 'failed' });
        } else {
          inputs.push({
            contentId,
            source: {
              contentId,
              manifest: stored.manifest,
              ...(stored.sharing === undefined ? {} : { record: stored.sharing }),
            },
            share: stored.share,
          });
        }
      }
      const batch = await dealBatch(d.suite, h, { index: dealer, identity: d.identity }, inputs, {
        corruptSubShares: d.faults?.wrongShare === true,
      });
      // Custody first: sub-shares leave this node only once the log says so.
      await this.#audit(
        batch.dealing.items.filter((i) => i.status === 'ok').map((i) => i.contentId),
        'reshare-dealt',
        h,
      );
      return {
        type: 'reshare-dealt',
        dealing: batch.dealing,
        sealed: batch.sealed,
        sources: batch.sources,
      };
    } finally {
      for (const input of inputs) if ('share' in input) wipe(input.share);
    }
  }

  async #commit(
    h: Handover,
    node: number,
    m: MessageOf<'reshare-commit'>,
  ): Promise<MessageOf<'reshare-committed'>> {
    const d = this.#deps;
    const outcomes = await commitBatch(
      d.suite,
      h,
      { index: node, kem: d.kem, identity: d.identity },
      m.dealings,
      m.sources,
      m.choose,
    );
    const results: ReshareCommitResult[] = [];
    const stored: Uint8Array[] = [];
    try {
      for (const o of outcomes) {
        if (o.status === 'blame') {
          d.log.warn('reshare: dealers named', {
            dealers: o.blamed.map((b) => `${b.dealer}:${b.reason}`).join(','),
          });
          results.push({ contentId: o.contentId, status: 'blame', blamed: o.blamed });
          continue;
        }
        if (o.status === 'failed') {
          results.push({ contentId: o.contentId, status: 'failed' });
          continue;
        }
        const own = withAttestations(o.body, [o.attestation]);
        await this.#store('write', () =>
          d.store.putPending({
            content: {
              contentId: o.contentId,
              manifest: o.source.manifest,
              manifestHash: o.parsed.manifestHash,
              owner: o.parsed.manifest.body.publisher,
              share: o.share,
              storedAt: d.clock(),
              sharing: encodeCanonical(sharingRecordToCbor(own)),
            },
            nodeSetId: h.to.id,
            held: false,
          }),
        );
        stored.push(o.contentId);
        results.push({ contentId: o.contentId, status: 'ok', signature: o.attestation.signature });
      }
      await this.#audit(stored, 'reshare-committed', h);
      return { type: 'reshare-committed', node, results };
    } finally {
      for (const o of outcomes) if (o.status === 'ok') wipe(o.share);
    }
  }

  async #record(
    h: Handover,
    records: readonly Uint8Array[],
  ): Promise<MessageOf<'reshare-record-ok'>> {
    const d = this.#deps;
    const results: { contentId: Uint8Array; status: ReshareRecordStatus }[] = [];
    const held: Uint8Array[] = [];
    for (const bytes of records) {
      const record = decodedRecord(bytes);
      const contentId = record.body.contentId;
      const pending = await this.#store('read', () => d.store.getPending(h.to.id, contentId));
      if (pending === undefined) {
        results.push({ contentId, status: 'missing' });
        continue;
      }
      try {
        const mine = sharingRecordFromCbor(
          decodeCanonical(pending.content.sharing, MAX_FRAME_BYTES.publish),
        ).body;
        const c0 = manifestFromCbor(
          decodeCanonical(pending.content.manifest, MAX_FRAME_BYTES.publish),
        ).body.commitments[0];
        let ok = c0 !== undefined;
        try {
          if (c0 !== undefined) verifySharingRecord(d.suite, record, h.to, c0);
        } catch {
          ok = false;
        }
        const canonical = encodeCanonical(sharingRecordToCbor(record));
        const sameBody =
          ok &&
          d.suite.equalBytes(
            encodeCanonical(sharingRecordToCbor(withAttestations(record.body, []))),
            encodeCanonical(sharingRecordToCbor(withAttestations(mine, []))),
          );
        if (!sameBody) {
          results.push({ contentId, status: 'mismatch' });
          continue;
        }
        if (!pending.held || !d.suite.equalBytes(pending.content.sharing, canonical)) {
          await this.#store('write', () =>
            d.store.putPending({
              ...pending,
              content: { ...pending.content, sharing: canonical },
              held: true,
            }),
          );
          held.push(contentId);
        }
        results.push({ contentId, status: 'held' });
      } finally {
        wipe(pending.content.share);
      }
    }
    await this.#audit(held, 'reshare-held', h);
    return { type: 'reshare-record-ok', results };
  }

  async #status(
    h: Handover,
    contents: readonly Uint8Array[],
  ): Promise<MessageOf<'reshare-status-ok'>> {
    const d = this.#deps;
    const held: Uint8Array[] = [];
    for (const contentId of contents) {
      const pending = await this.#store('read', () => d.store.getPending(h.to.id, contentId));
      if (pending === undefined) {
        held.push(await this.#promotedHash(h, contentId));
        continue;
      }
      wipe(pending.content.share);
      held.push(
        pending.held
          ? sharingBodyHash(
              d.suite,
              sharingRecordFromCbor(
                decodeCanonical(pending.content.sharing, MAX_FRAME_BYTES.publish),
              ).body,
            )
          : new Uint8Array(0),
      );
    }
    return { type: 'reshare-status-ok', held };
  }

  /** After the cutover the held share is the content record: its sharing's body hash, if it is the successor's. */
  async #promotedHash(h: Handover, contentId: Uint8Array): Promise<Uint8Array> {
    const d = this.#deps;
    const content = await this.#store('read', () => d.store.getContent(contentId));
    if (content === undefined) return new Uint8Array(0);
    wipe(content.share);
    if (content.sharing === undefined) return new Uint8Array(0);
    const record = sharingRecordFromCbor(decodeCanonical(content.sharing, MAX_FRAME_BYTES.publish));
    return d.suite.equalBytes(record.body.nodeSetId, h.to.id)
      ? sharingBodyHash(d.suite, record.body)
      : new Uint8Array(0);
  }

  async #audit(
    contents: readonly Uint8Array[],
    kind: 'reshare-dealt' | 'reshare-committed' | 'reshare-held',
    h: Handover,
  ): Promise<void> {
    const d = this.#deps;
    try {
      await Promise.all(
        contents.map((content) => d.audit.record({ kind, content, nodeSetId: h.to.id })),
      );
    } catch (e) {
      d.log.error('audit record failed', { error: errorName(e) });
      throw new QkmsError(ErrorCode.AUDIT_UNAVAILABLE, 'custody record could not be written');
    }
  }

  async #store<T>(what: 'list' | 'read' | 'write', run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      this.#deps.log.error(`reshare: store ${what} failed`, { error: errorName(e) });
      throw new QkmsError(ErrorCode.INTERNAL, `store ${what} failed`);
    }
  }
}
