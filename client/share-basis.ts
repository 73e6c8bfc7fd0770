// What the shares of one recover attempt lie on (decisions 0016 and 0017):
//   - the manifest's own sharing, when the nodes asked serve the set the
//     manifest names: every share comes bare and is checked against the
//     publisher's commitments;
//   - a redistributed sharing, when they serve a successor: every share must
//     come with the sharing record of that set, which binds t' node
//     attestations of the set and C'_0 = the publisher's commitment to the
//     secret (verifySharingRecord). The first record that verifies fixes the
//     commitments for the attempt; a share with no record, a record that does
//     not verify, or one of another body than the fixed one is a wrong share.
// x is always the node's index in the set asked, never a value a node sent.
import {
  checkShare,
  checkShareBytes,
  sharingBodyHash,
  verifySharingRecord,
  type CryptoSuite,
  type Manifest,
  type NodeSet,
  type SharingRecord,
} from '../protocol/internal.ts';

interface Fixed {
  readonly bodyHash: Uint8Array;
  readonly commitments: readonly Uint8Array[];
}

export class ShareBasis {
  readonly #suite: CryptoSuite;
  readonly #manifest: Manifest;
  readonly #asked: NodeSet;
  /** True when the set asked is the one the manifest names. */
  readonly #own: boolean;
  #fixed: Fixed | undefined;

  /** For `manifest`'s shares as served by the nodes of `asked`. */
  constructor(suite: CryptoSuite, manifest: Manifest, asked: NodeSet) {
    this.#suite = suite;
    this.#manifest = manifest;
    this.#asked = asked;
    this.#own = suite.equalBytes(manifest.body.nodeSetId, asked.id);
  }

  /** Shares to combine: the threshold of the set asked (its record's, which must equal it). */
  get threshold(): number {
    return this.#asked.threshold;
  }

  /**
   * Whether a share that came with `record` (or none) may count. Records are
   * verified until one does (a few Ed25519 verifications); later ones are
   * compared with it by body hash, so each costs one hash.
   */
  accept(record: SharingRecord | undefined): boolean {
    // The successor of a set always has a new id: content of the manifest's own set is never
    // redistributed within it, so a record there is a node's invention.
    if (this.#own) return record === undefined;
    if (record === undefined) return false;
    const suite = this.#suite;
    let bodyHash: Uint8Array;
    try {
      bodyHash = sharingBodyHash(suite, record.body);
    } catch {
      return false;
    }
    if (this.#fixed !== undefined) return suite.equalBytes(bodyHash, this.#fixed.bodyHash);
    const body = this.#manifest.body;
    const secret = body.commitments[0];
    if (secret === undefined || !suite.equalBytes(record.body.contentId, body.contentId))
      return false;
    try {
      const commitments = verifySharingRecord(suite, record, this.#asked, secret);
      this.#fixed = { bodyHash, commitments };
      return true;
    } catch {
      return false;
    }
  }

  /** Whether `y` is node `x`'s share (x: its index in the set asked) on the commitments in force. */
  check(x: number, y: Uint8Array): boolean {
    if (this.#own) return checkShare(this.#manifest.body, x, y);
    // A share only counts once a record was accepted, so this is set whenever shares exist.
    const fixed = this.#fixed;
    return fixed !== undefined && checkShareBytes(fixed.commitments, x, y);
  }
}
