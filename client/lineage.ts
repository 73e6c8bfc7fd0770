// The node sets a client verified (docs/protocol.md §5, "Epochs and the
// chain"): the pinned set first, then each successor it followed, the last
// being the current set. A node that answers WRONG_NODE_SET serves another
// set; asked `node-set` (on /qkms/reshare/1) it lists the signed files of the
// sets it has served, oldest first. The client trusts none of that: it looks
// for its current set in the list and verifies every later file as a link
// from it (the previous set's admins signed each), or adopts nothing.
import {
  ErrorCode,
  MAX_CHAIN_LENGTH,
  QkmsError,
  decodeMessage,
  encodeMessage,
  nodeSetId,
  parseSignedNodeSet,
  toHex,
  verifyNodeSetChain,
  type CryptoSuite,
  type NodeEntry,
  type NodeSet,
} from '../protocol/internal.ts';
import { MAX_REPLY_BYTES, type NodeTransport } from './transport.ts';

/** A node lists the sets it served up to the current one: the chain cap, plus that set. */
const MAX_LISTED_FILES = MAX_CHAIN_LENGTH + 1;

/** The file's document id, or undefined for bytes that are no node-set file. */
function idOfFile(suite: CryptoSuite, json: unknown): Uint8Array | undefined {
  if (typeof json !== 'object' || json === null || !('document' in json)) return undefined;
  try {
    return nodeSetId(suite, json.document);
  } catch {
    return undefined;
  }
}

export class Lineage {
  readonly #suite: CryptoSuite;
  readonly #sets: NodeSet[];
  /** Makes a set reachable (dial gate, pool) before it becomes current; may throw to refuse it. */
  readonly #onAdopt: (set: NodeSet) => void;

  constructor(suite: CryptoSuite, pinned: NodeSet, onAdopt: (set: NodeSet) => void = () => {}) {
    this.#suite = suite;
    this.#sets = [pinned];
    this.#onAdopt = onAdopt;
  }

  /** The newest verified set: the one a recover asks first. */
  get current(): NodeSet {
    const last = this.#sets[this.#sets.length - 1];
    if (last === undefined) throw new QkmsError(ErrorCode.INTERNAL, 'lineage: empty');
    return last;
  }

  /** Every verified set, oldest first. */
  get sets(): readonly NodeSet[] {
    return [...this.#sets];
  }

  /** The verified set with this id, if any. */
  find(id: Uint8Array): NodeSet | undefined {
    return this.#sets.find((set) => this.#suite.equalBytes(set.id, id));
  }

  /** The set verified just before `set`, if it has one in this lineage. */
  predecessorOf(set: NodeSet): NodeSet | undefined {
    const at = this.#sets.findIndex((s) => this.#suite.equalBytes(s.id, set.id));
    return at > 0 ? this.#sets[at - 1] : undefined;
  }

  /**
   * The successors of the current set that `files` (UTF-8 signed node-set
   * files, oldest first) prove: those after the current set's own file,
   * each verified as a link from the one before (verifyNodeSetChain). Empty
   * when the list does not hold the current set (a node behind, or on a
   * chain this client never verified), holds nothing after it, or any later
   * file fails: a list is taken whole or not at all. Never throws for what a
   * node sent.
   */
  successorsIn(files: readonly Uint8Array[]): readonly NodeSet[] {
    if (files.length > MAX_LISTED_FILES) return [];
    const suite = this.#suite;
    const current = this.current;
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let docs: unknown[];
    try {
      docs = files.map((bytes): unknown => JSON.parse(decoder.decode(bytes)));
    } catch {
      return [];
    }
    // The newest occurrence: what follows it is what this client has not seen.
    let anchor = -1;
    for (let i = docs.length - 1; i >= 0 && anchor < 0; i--) {
      const id = idOfFile(suite, docs[i]);
      if (id !== undefined && suite.equalBytes(id, current.id)) anchor = i;
    }
    if (anchor < 0) return [];
    const verified: NodeSet[] = [];
    let previous = current;
    try {
      // One link at a time, so each intermediate set is kept as a verified NodeSet; epochs
      // rise by one per link and each names the one before, so no cycle or fork passes.
      for (const json of docs.slice(anchor + 1)) {
        previous = verifyNodeSetChain(suite, previous, [json]);
        verified.push(previous);
      }
    } catch {
      return [];
    }
    return verified;
  }

  /**
   * Adopts the successors `files` prove (successorsIn), each made reachable
   * first; returns whether the current set changed. Synchronous, so two
   * callers never adopt over each other.
   */
  adopt(files: readonly Uint8Array[]): boolean {
    const sets = this.successorsIn(files);
    if (sets.length === 0) return false;
    try {
      for (const set of sets) this.#onAdopt(set);
    } catch {
      return false; // a set the transport cannot reach is not adopted
    }
    this.#sets.push(...sets);
    return true;
  }

  /**
   * Learns the sets before the oldest one this client verified from `files`
   * (a node's `node-set` list): each set names its predecessor's id, the hash
   * of that set's document, so a file whose id is that name is the authentic
   * predecessor (its own admin signatures are checked too). Lets a client
   * pinned to a newer set recover content published to an older one.
   * Returns whether any was learned; never throws for what a node sent.
   */
  learnAncestors(files: readonly Uint8Array[]): boolean {
    if (files.length > MAX_LISTED_FILES) return false;
    const suite = this.#suite;
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const byId = new Map<string, NodeSet>();
    for (const bytes of files) {
      try {
        const set = parseSignedNodeSet(suite, JSON.parse(decoder.decode(bytes)) as unknown);
        byId.set(toHex(set.id), set);
      } catch {
        // Not a node-set file: no evidence of anything.
      }
    }
    let learned = false;
    for (let oldest = this.#sets[0]; oldest?.predecessor !== undefined; oldest = this.#sets[0]) {
      const before = byId.get(toHex(oldest.predecessor));
      if (before === undefined || this.#sets.length > MAX_CHAIN_LENGTH) break;
      this.#sets.unshift(before);
      learned = true;
    }
    return learned;
  }

  /**
   * Asks `nodes` at once which sets they served and adopts what verifies.
   * Never throws for what the nodes do: one that cannot say is no evidence.
   */
  /** Asks the current set's nodes for their lists until one teaches an ancestor (learnAncestors). */
  async learnAncestorsFrom(transport: NodeTransport, signal: AbortSignal): Promise<boolean> {
    for (const node of this.current.nodes) {
      try {
        if (this.learnAncestors(await askNodeSets(transport, node, signal))) return true;
      } catch {
        // Unreachable or refused: ask the next.
      }
      if (signal.aborted) return false;
    }
    return false;
  }

  async follow(
    transport: NodeTransport,
    nodes: readonly NodeEntry[],
    signal: AbortSignal,
  ): Promise<void> {
    await Promise.all(
      nodes.map(async (node) => {
        try {
          this.adopt(await askNodeSets(transport, node, signal));
        } catch {
          // Unreachable, refused or undecodable: the other nodes may answer.
        }
      }),
    );
  }
}

/**
 * Asks `node` which node sets it has served (`node-set`): the signed files it
 * lists, or none for a refusal. Transport faults and undecodable answers throw.
 */
export async function askNodeSets(
  transport: NodeTransport,
  node: NodeEntry,
  signal: AbortSignal,
): Promise<readonly Uint8Array[]> {
  const reply = await transport.request(node, 'reshare', encodeMessage({ type: 'node-set' }), {
    signal,
  });
  const answer = decodeMessage(reply, MAX_REPLY_BYTES.reshare, ['node-set-ok', 'reject']);
  return answer.type === 'reject' ? [] : answer.files;
}
