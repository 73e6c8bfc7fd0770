// The node's side of a cutover (decision 0017, docs/protocol.md §7d) and of
// `node-set`, on /qkms/reshare.
//   'reshare-cutover': k of m old admins say the successor takes over. The
//     node checks the record and the two files, and — if it stays — that it
//     holds a complete (held) new share of every content it serves, so a
//     cutover never leaves a content behind at this node. It stores the new
//     lineage, synced, writes the custody record, answers, and asks its
//     owner to restart it: the next start serves the successor, promoting
//     the held shares (or, for a retired node, wipes them).
//   'node-set': the signed node-set files the node has served, oldest first,
//     so a client pinned to an old set can verify its way to the current one.
import {
  ErrorCode,
  MAX_RESHARE_LIST,
  QkmsError,
  decodeCutoverRecord,
  parseSignedNodeSetJson,
  verifyNodeSetChain,
  verifyCutover,
  wipe,
  type CryptoSuite,
  type CutoverState,
  type Decapsulator,
  type MessageOf,
  type NodeSet,
  type SigningKey,
} from '../../protocol/internal.ts';
import type { Logger } from '../log.ts';
import type { PendingContent, StoredLineage } from '../store/index.ts';
import { selfIn, verifyHandoverFiles, type CutoverAnswers } from './reshare.ts';
import type { CustodyAudit } from './types.ts';

export interface CutoverStore {
  listContentIds(after: Uint8Array, limit: number): Promise<Uint8Array[]>;
  getPending(nodeSetId: Uint8Array, contentId: Uint8Array): Promise<PendingContent | undefined>;
  putLineage(lineage: StoredLineage): Promise<void>;
}

export interface CutoverDeps {
  readonly suite: CryptoSuite;
  /** The set this node serves now. */
  readonly nodeSet: NodeSet;
  /** The signed files of the sets it served, oldest first; the last is `nodeSet`'s. */
  readonly files: readonly Uint8Array[];
  readonly identity: SigningKey;
  readonly kem: Decapsulator;
  readonly store: CutoverStore;
  readonly audit: CustodyAudit;
  readonly log: Logger;
  /** Called once, after the answer to the first cutover that took effect has been handed back. */
  readonly onCutover: () => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function denied(message: string): QkmsError {
  return new QkmsError(ErrorCode.RESHARE_DENIED, `cutover: ${message}`);
}

export class CutoverService implements CutoverAnswers {
  readonly #deps: CutoverDeps;
  /** The state this node answered with once a cutover took effect: every retry gets the same. */
  #taken: CutoverState | undefined;

  constructor(deps: CutoverDeps) {
    this.#deps = deps;
  }

  /** Answers a 'reshare-cutover' or 'node-set' request (decoded by ReshareService). */
  async answer(
    m: MessageOf<'reshare-cutover' | 'node-set'>,
  ): Promise<MessageOf<'reshare-cutover-ok' | 'node-set-ok'>> {
    if (m.type === 'node-set') return { type: 'node-set-ok', files: this.#deps.files };
    return this.#cutover(m);
  }

  async #cutover(m: MessageOf<'reshare-cutover'>): Promise<MessageOf<'reshare-cutover-ok'>> {
    const d = this.#deps;
    const { suite } = d;
    const h = verifyHandoverFiles(suite, m.from, m.to);
    verifyCutover(suite, decodeCutoverRecord(suite, m.record), {
      from: h.from.id,
      to: h.to.id,
      admins: h.from.admins,
    });
    const servesFrom = suite.equalBytes(d.nodeSet.id, h.from.id);
    if (!servesFrom && !suite.equalBytes(d.nodeSet.id, h.to.id))
      throw denied('this node serves neither set of the handover');
    const staying = selfIn(suite, h.to, { identity: d.identity, kem: d.kem }) !== undefined;
    const state: CutoverState = staying ? 'serving' : 'retired';
    if (this.#taken !== undefined) return { type: 'reshare-cutover-ok', state: this.#taken };
    // Taken at an earlier start (the lineage already ends with the successor): nothing to do.
    if (!servesFrom && d.files.length > 1) return { type: 'reshare-cutover-ok', state };
    if (staying && servesFrom) await this.#assertEveryContentHeld(h.to.id);
    // The files it served, then the successor's. A node that joined with the successor's
    // file has only that one: it takes the record all the same (so that its held shares are
    // promoted) and learns the sets before it here.
    const files = servesFrom
      ? [...d.files, m.to]
      : [...this.#ancestors(m.ancestors, m.from, h.from), m.from, m.to];
    await d.store.putLineage({ files, retired: !staying });
    await d.audit.record({ kind: 'cutover', nodeSetId: h.to.id });
    this.#taken = state;
    d.log.info('cutover taken: restarting onto the successor', {
      state,
      epoch: h.to.epoch,
    });
    // After this answer is on its way: the restart closes the stream it travels on.
    setTimeout(d.onCutover, 200).unref();
    return { type: 'reshare-cutover-ok', state };
  }

  /** `ancestors`, checked to chain, link by link, up to `from`; RESHARE_DENIED otherwise. */
  #ancestors(
    ancestors: readonly Uint8Array[],
    fromFile: Uint8Array,
    from: NodeSet,
  ): readonly Uint8Array[] {
    const [first, ...rest] = ancestors;
    if (first === undefined) {
      if (from.predecessor !== undefined)
        throw denied('the sets before the old one are missing (ancestors)');
      return [];
    }
    const { suite } = this.#deps;
    let last: NodeSet;
    try {
      last = parseSignedNodeSetJson(suite, utf8.decode(first));
      for (const file of [...rest, fromFile])
        last = verifyNodeSetChain(suite, last, [JSON.parse(utf8.decode(file)) as unknown]);
    } catch (e) {
      throw denied(
        `the ancestors do not chain to the old set: ${e instanceof Error ? e.message : ''}`,
      );
    }
    if (!suite.equalBytes(last.id, from.id)) throw denied('the ancestors chain to another set');
    return ancestors;
  }

  /** RESHARE_DENIED unless every content this node serves has a held share for `successor`. */
  async #assertEveryContentHeld(successor: Uint8Array): Promise<void> {
    const { store } = this.#deps;
    let after: Uint8Array = new Uint8Array(0);
    for (;;) {
      const ids = await store.listContentIds(after, MAX_RESHARE_LIST);
      for (const id of ids) {
        const pending = await store.getPending(successor, id);
        if (pending !== undefined) wipe(pending.content.share);
        if (pending?.held !== true)
          throw denied(
            `content ${Buffer.from(id.subarray(0, 4)).toString('hex')}… has no complete share ` +
              'for the successor at this node: run `qkms admin reshare` again first',
          );
      }
      const last = ids.at(-1);
      if (last === undefined || ids.length < MAX_RESHARE_LIST) return;
      after = last;
    }
  }
}
