// Audit heads witnessed by peers (docs/decisions/0010; the rollback defence of
// Certificate Transparency gossip). With every anti-entropy round a node sends
// each peer its signed audit head and gets back the peer's own head plus the
// latest head of ITS log that peer holds. So:
//
// - for each peer, the node keeps the latest head that peer signed. Heads only
//   move forward: a peer presenting an older head than one it signed before,
//   or another hash at the same seq, is evidence that its log was rolled back
//   or forked, and is logged (the higher head is kept);
// - for itself, the node keeps the latest of its own heads each peer
//   witnessed. If one is not in its chain — above its head, or at a seq whose
//   record has another hash — its log lost records it had signed: it is not
//   ready, says so naming the witness, and refuses recovers (NOT_READY) for
//   the rest of the run. Fixing that is the operator's job (decision 0010).
//
// Both are kept in DIR/audit-witness.cbor (witness-file.ts), so a restart
// with a cut log is caught even before a peer answers.
import {
  ErrorCode,
  QkmsError,
  ed25519PublicKeyFromPeerId,
  signAuditHead,
  toHex,
  verifyAuditHead,
  type CryptoSuite,
  type NodeSet,
  type SignedAuditHead,
  type SigningKey,
} from '../../protocol/internal.ts';
import type { Logger } from '../log.ts';
import type { AuditHead } from './log.ts';
import {
  decodeWitnessState,
  encodeWitnessState,
  readWitnessFile,
  writeWitnessFile,
} from './witness-file.ts';

export interface AuditWitnessDeps {
  readonly suite: CryptoSuite;
  readonly nodeSet: NodeSet;
  readonly selfIndex: number;
  /** The node's identity key: signs its head statements. */
  readonly signer: SigningKey;
  /** The node's last durable audit record (AuditLog.head). */
  readonly head: () => AuditHead;
  /** The hash of this node's audit record at `seq`, or undefined if it holds none there. */
  readonly hashAt: (seq: number) => Promise<Uint8Array | undefined>;
  /** DIR/audit-witness.cbor. */
  readonly path: string;
  readonly clock: () => number;
  readonly log: Logger;
}

/** Why this node's log does not hold a head a peer witnessed. */
export interface AuditRollback {
  /** Node-set index of the peer that witnessed the head. */
  readonly witness: number;
  readonly witnessedSeq: number;
  /** This node's head when it found out. */
  readonly ownSeq: number;
  /** 'behind': the witnessed seq is past this node's head; 'forked': another record sits at that seq. */
  readonly problem: 'behind' | 'forked';
}

/** A peer's statement failed a check: the reason, for the log (never sent on). */
export type HeadProblem = 'wrong-node' | 'wrong-node-set' | 'bad-signature';

export class AuditWitness {
  readonly #deps: AuditWitnessDeps;
  /** Ed25519 public keys by node index, from the node set's PeerIds. */
  readonly #keys = new Map<number, Uint8Array>();
  /** Latest head each peer signed of its own log. */
  readonly #peers = new Map<number, SignedAuditHead>();
  /** Per peer: the latest head of this node's log it witnessed. */
  readonly #own = new Map<number, SignedAuditHead>();
  /** Evidence already logged, per peer ("seq:hash"): one line, not one a round. */
  readonly #reported = new Map<number, string>();
  #rollback: AuditRollback | undefined;
  /** The highest witnessed head found in this node's chain (skips re-reading it each round). */
  #confirmed: { seq: number; hash: Uint8Array } | undefined;
  #saving: Promise<void> = Promise.resolve();
  #dirty = false;

  private constructor(deps: AuditWitnessDeps) {
    this.#deps = deps;
    for (const node of deps.nodeSet.nodes)
      this.#keys.set(node.index, ed25519PublicKeyFromPeerId(node.peerId));
  }

  /** Loads the witness file (entries that fail their checks are dropped) and checks this node's chain against it. */
  static async open(deps: AuditWitnessDeps): Promise<AuditWitness> {
    const witness = new AuditWitness(deps);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readWitnessFile(deps.path);
    } catch (e) {
      deps.log.error('audit witness file unreadable: starting without it', {
        error: e instanceof Error ? e.name : typeof e,
      });
    }
    if (bytes !== undefined) {
      try {
        const state = decodeWitnessState(bytes);
        for (const head of state.peers) {
          if (
            witness.#check(head, head.body.node) === undefined &&
            head.body.node !== deps.selfIndex
          )
            witness.#keepHigher(witness.#peers, head.body.node, head);
        }
        for (const { from, head } of state.own) {
          if (from !== deps.selfIndex && witness.#check(head, deps.selfIndex) === undefined)
            witness.#keepHigher(witness.#own, from, head);
        }
      } catch (e) {
        deps.log.error('audit witness file does not decode: starting without it', {
          error: e instanceof QkmsError ? e.code : e instanceof Error ? e.name : typeof e,
        });
      }
    }
    for (const [from, head] of witness.#own) await witness.#checkOwn(from, head);
    return witness;
  }

  /** This node's head, signed now: what it sends its peers. */
  statement(): SignedAuditHead {
    const { seq, hash } = this.#deps.head();
    return signAuditHead(this.#deps.signer, {
      nodeSetId: this.#deps.nodeSet.id,
      node: this.#deps.selfIndex,
      seq,
      hash,
      at: this.#deps.clock(),
    });
  }

  /** The latest head of node `index` this node holds (undefined: none, or itself). */
  witnessedOf(index: number): SignedAuditHead | undefined {
    return this.#peers.get(index);
  }

  /**
   * A peer's statement of its own head. `from` is the peer as its connection
   * authenticated it. Throws MALFORMED if the statement is not that peer's,
   * for this node set, correctly signed; an older head than one held is
   * logged as evidence and changes nothing.
   */
  async fromPeer(from: number, head: SignedAuditHead): Promise<void> {
    const problem = this.#check(head, from);
    if (problem !== undefined || from === this.#deps.selfIndex) {
      this.#deps.log.warn('peer sent an audit head that does not verify', {
        peer: from,
        problem: problem ?? 'wrong-node',
      });
      throw new QkmsError(ErrorCode.MALFORMED, 'audit head: not the sending peer’s');
    }
    const held = this.#peers.get(from);
    if (held !== undefined && head.body.seq <= held.body.seq) {
      const same = this.#deps.suite.equalBytes(head.body.hash, held.body.hash);
      if (head.body.seq === held.body.seq && same) return;
      this.#evidence(from, head, held);
      return;
    }
    this.#peers.set(from, head);
    await this.#save();
  }

  /** What peer `from` witnessed of THIS node's log. A statement that does not verify is logged and ignored. */
  async ownWitnessed(from: number, head: SignedAuditHead): Promise<void> {
    const problem = this.#check(head, this.#deps.selfIndex);
    if (problem !== undefined) {
      this.#deps.log.warn('peer returned a witnessed audit head that does not verify', {
        peer: from,
        problem,
      });
      return;
    }
    if (this.#keepHigher(this.#own, from, head)) await this.#save();
    await this.#checkOwn(from, head);
  }

  /** Set once a head a peer witnessed is found missing from this node's chain; stays for the run. */
  rollback(): AuditRollback | undefined {
    return this.#rollback;
  }

  /** /readyz text for a rollback, or undefined. */
  reason(): string | undefined {
    const r = this.#rollback;
    if (r === undefined) return undefined;
    return r.problem === 'behind'
      ? `audit log rolled back: node ${r.witness} witnessed this node's head ${r.witnessedSeq}, its log ends at ${r.ownSeq}`
      : `audit log forked: node ${r.witness} witnessed this node's head ${r.witnessedSeq}, its log holds another record there (head ${r.ownSeq})`;
  }

  /** Recover refuses with NOT_READY while the log does not hold what peers witnessed. */
  assertNotRolledBack(): void {
    if (this.#rollback !== undefined)
      throw new QkmsError(ErrorCode.NOT_READY, 'audit log behind what a peer witnessed');
  }

  /** Waits for the file write in flight (shutdown). */
  async close(): Promise<void> {
    await this.#saving;
  }

  #check(head: SignedAuditHead, node: number): HeadProblem | undefined {
    const { suite, nodeSet } = this.#deps;
    const key = this.#keys.get(head.body.node);
    if (head.body.node !== node || key === undefined) return 'wrong-node';
    if (!suite.equalBytes(head.body.nodeSetId, nodeSet.id)) return 'wrong-node-set';
    return verifyAuditHead(suite, head, key) ? undefined : 'bad-signature';
  }

  /** Keeps `head` under `index` if it is the first or a higher one; true if it did. */
  #keepHigher(map: Map<number, SignedAuditHead>, index: number, head: SignedAuditHead): boolean {
    const held = map.get(index);
    if (held !== undefined && head.body.seq <= held.body.seq) return false;
    map.set(index, head);
    return true;
  }

  #evidence(from: number, presented: SignedAuditHead, held: SignedAuditHead): void {
    const key = `${presented.body.seq}:${toHex(presented.body.hash)}`;
    if (this.#reported.get(from) === key) return;
    this.#reported.set(from, key);
    this.#deps.log.error(
      presented.body.seq < held.body.seq
        ? 'peer presented an older audit head than one it signed before'
        : 'peer signed two audit heads with the same seq',
      {
        peer: from,
        presentedSeq: presented.body.seq,
        witnessedSeq: held.body.seq,
        witnessedAt: held.body.at,
      },
    );
  }

  async #checkOwn(from: number, head: SignedAuditHead): Promise<void> {
    if (this.#rollback !== undefined) return;
    const { suite, log } = this.#deps;
    const { seq, hash } = head.body;
    const own = this.#deps.head();
    const confirmed = this.#confirmed;
    if (seq === 0) return;
    if (confirmed !== undefined && confirmed.seq === seq && suite.equalBytes(confirmed.hash, hash))
      return;
    let problem: AuditRollback['problem'] | undefined;
    if (seq > own.seq) problem = 'behind';
    else if (seq === own.seq) problem = suite.equalBytes(own.hash, hash) ? undefined : 'forked';
    else {
      let at: Uint8Array | undefined;
      try {
        at = await this.#deps.hashAt(seq);
      } catch (e) {
        // Not a verdict: the read failed (`qkms audit verify` reports a corrupt record).
        log.error('audit record unreadable while checking a witnessed head', {
          seq,
          error: e instanceof QkmsError ? e.code : e instanceof Error ? e.name : typeof e,
        });
        return;
      }
      problem = at !== undefined && suite.equalBytes(at, hash) ? undefined : 'forked';
    }
    if (problem === undefined) {
      if (confirmed === undefined || seq > confirmed.seq) this.#confirmed = { seq, hash };
      return;
    }
    this.#rollback = { witness: from, witnessedSeq: seq, ownSeq: own.seq, problem };
    log.error('AUDIT LOG ROLLED BACK: a peer witnessed a head this log does not hold; not ready', {
      witness: from,
      witnessedSeq: seq,
      witnessedAt: head.body.at,
      ownSeq: own.seq,
      problem,
    });
  }

  /** Writes the file after the write in flight; a failure is logged (the peers still hold theirs). */
  #save(): Promise<void> {
    this.#dirty = true;
    this.#saving = this.#saving.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      const bytes = encodeWitnessState({
        peers: [...this.#peers.values()],
        own: [...this.#own].map(([from, head]) => ({ from, head })),
      });
      try {
        await writeWitnessFile(this.#deps.path, bytes);
      } catch (e) {
        this.#deps.log.error('audit witness file write failed', {
          error: e instanceof Error ? e.name : typeof e,
        });
      }
    });
    return this.#saving;
  }
}
