// Long file: the dealer's and the receiver's halves of one redistribution round, and the signed shape between them.
// One round of verifiable share redistribution between two node sets
// (decision 0016, docs/protocol.md §7d), for a batch of contents.
//
// Dealer (old node i): for each content it holds, its share is re-shared
// with a fresh polynomial of degree t'-1 to the new nodes (shamir/pedersen
// redeal). Per new node j, the sub-shares of the whole batch go in one HPKE
// seal to j's X-Wing key. The public part — per content the manifest hash,
// the sharing record hash if the content was redistributed before, and the
// dealing commitments D_0..D_{t'-1} — plus a digest of every seal is signed
// with i's node key. Nothing a coordinator relays can be opened by it.
//
// Receiver (new node j): for each content the coordinator names a dealer set
// B (exactly t old nodes). j checks each dealer's signature, opens its seal,
// checks that every dealer in B vouches for the same source (manifest and
// record) and that each sub-share lies on its dealer's commitments, whose D_0
// must commit to the dealer's old share. A dealer failing any check is named.
// Otherwise j combines its new share, recomputes the new commitments and signs
// the sharing record body. Every check is on public data or j's own secrets:
// no CEK and no old share is ever reconstructed.
import {
  combineSubShares,
  redeal,
  redistributedCommitments,
  verifyShare,
  verifySubShare,
} from '../../shamir/index.ts';
import { concatBytes, toHex, wipe } from '../bytes.ts';
import { decodeCanonical, encodeCanonical, type CborValue } from '../codec/cbor.ts';
import { MAX_FRAME_BYTES } from '../constants.ts';
import { DomainTag, tagBytes, taggedHash } from '../domain-tags.ts';
import { ErrorCode, QkmsError, isQkmsError } from '../errors.ts';
import { manifestFromCbor, manifestHash, type Manifest } from '../manifest.ts';
import type { NodeSet } from '../node-set/types.ts';
import { open, seal, type SealContext, type Sealed } from '../seal.ts';
import {
  attestSharing,
  sharingRecordFromCbor,
  verifySharingRecord,
  type SharingAttestation,
  type SharingRecordBody,
} from '../sharing-record.ts';
import { SHARE_BYTES, shareFromBytes, shareToBytes } from '../sharing.ts';
import type { CryptoSuite, Decapsulator, SigningKey } from '../suite/types.ts';

/** The two sets of a handover, both verified (the successor's chain to its predecessor too). */
export interface Handover {
  readonly from: NodeSet;
  readonly to: NodeSet;
}

/** What a content's sharing in the old set is, as its holders store it. */
export interface SharingSource {
  readonly contentId: Uint8Array;
  /** Canonical CBOR of the publisher's signed manifest. */
  readonly manifest: Uint8Array;
  /** Canonical CBOR of the sharing record, when the content was redistributed into the old set. */
  readonly record?: Uint8Array;
}

/** A source read and checked: the commitments and threshold the old shares lie on. */
export interface ParsedSource {
  readonly manifest: Manifest;
  readonly manifestHash: Uint8Array;
  readonly recordHash?: Uint8Array;
  readonly commitments: readonly Uint8Array[];
  readonly threshold: number;
}

export type DealtStatus = 'ok' | 'absent' | 'failed';

/** One content of a dealing, public. */
export interface DealtItem {
  readonly contentId: Uint8Array;
  readonly status: DealtStatus;
  /** For 'ok': the source the dealer holds and its dealing commitments D_0..D_{t'-1}. */
  readonly manifestHash?: Uint8Array;
  readonly recordHash?: Uint8Array;
  readonly commitments?: readonly Uint8Array[];
}

/** An old node's signed dealing for one batch: its items, and the digest of its seal to each new node. */
export interface Dealing {
  readonly dealer: number;
  readonly items: readonly DealtItem[];
  /** SHA-256 of enc || ct of the seal to each new node, in the new set's order. */
  readonly sealDigests: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

/**
 * Contents dealt or combined between two turns of the event loop: a batch of
 * 128 is ~0.5 s of curve arithmetic, and a node's recovers must not wait
 * behind all of it (a recover costs ~1 ms).
 */
const YIELD_EVERY = 4;

/** Lets the event loop run what is waiting (a macrotask, in Node and in browsers). */
function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export interface DealtBatch {
  readonly dealing: Dealing;
  /** One seal per new node, in the new set's order. */
  readonly sealed: readonly Sealed[];
  /** The sources of the 'ok' items, for the coordinator to forward once per content. */
  readonly sources: readonly SharingSource[];
}

/** A stored content the dealer deals from, or why it cannot. */
export type DealInput =
  | { readonly contentId: Uint8Array; readonly source: SharingSource; readonly share: Uint8Array }
  | { readonly contentId: Uint8Array; readonly status: 'absent' | 'failed' };

export function sourceError(message: string): QkmsError {
  return new QkmsError(ErrorCode.INVALID_SHARING_RECORD, `reshare source: ${message}`);
}

/**
 * The old sharing of `source` in the set `from`: from its sharing record
 * (verified against `from`'s nodes, C_0 the publisher's) when it has one,
 * else from the manifest, which must name `from`. Throws QkmsError.
 */
export function parseSource(
  suite: CryptoSuite,
  from: NodeSet,
  source: SharingSource,
): ParsedSource {
  const manifest = manifestFromCbor(decodeCanonical(source.manifest, MAX_FRAME_BYTES.publish));
  if (!suite.equalBytes(manifest.body.contentId, source.contentId))
    throw sourceError('the manifest names another content');
  const hash = manifestHash(suite, manifest);
  const c0 = manifest.body.commitments[0];
  if (c0 === undefined) throw sourceError('the manifest has no commitments');
  if (source.record === undefined) {
    if (!suite.equalBytes(manifest.body.nodeSetId, from.id))
      throw sourceError('the manifest names another node set and no sharing record says why');
    return {
      manifest,
      manifestHash: hash,
      commitments: manifest.body.commitments,
      threshold: manifest.body.threshold,
    };
  }
  const record = sharingRecordFromCbor(decodeCanonical(source.record, MAX_FRAME_BYTES.publish));
  if (!suite.equalBytes(record.body.contentId, source.contentId))
    throw sourceError('the sharing record names another content');
  const commitments = verifySharingRecord(suite, record, from, c0);
  return {
    manifest,
    manifestHash: hash,
    recordHash: recordHash(suite, source.record),
    commitments,
    threshold: record.body.threshold,
  };
}

export function recordHash(suite: CryptoSuite, record: Uint8Array): Uint8Array {
  return taggedHash(suite.sha256, DomainTag.SHARING_RECORD_HASH, record);
}

function itemToCbor(item: DealtItem): CborValue {
  return {
    content: item.contentId,
    status: item.status,
    ...(item.manifestHash === undefined ? {} : { manifest: item.manifestHash }),
    ...(item.recordHash === undefined ? {} : { record: item.recordHash }),
    ...(item.commitments === undefined ? {} : { commitments: [...item.commitments] }),
  };
}

export function dealtItemsToCbor(items: readonly DealtItem[]): CborValue {
  return items.map(itemToCbor);
}

/** What a dealer signs: tag || canonical CBOR { from, to, dealer, items, seals }. */
export function dealingSigningBytes(
  handover: Handover,
  dealer: number,
  items: readonly DealtItem[],
  sealDigests: readonly Uint8Array[],
): Uint8Array {
  return concatBytes(
    tagBytes(DomainTag.RESHARE_DEALING),
    encodeCanonical({
      from: handover.from.id,
      to: handover.to.id,
      dealer,
      items: dealtItemsToCbor(items),
      seals: [...sealDigests],
    }),
  );
}

/** The HPKE context of dealer `dealer`'s seal to new node `recipient` (docs/protocol.md §7d). */
export function reshareSealContext(
  suite: CryptoSuite,
  handover: Handover,
  dealer: number,
  recipient: number,
  items: readonly DealtItem[],
): SealContext {
  return {
    info: tagBytes(DomainTag.RESHARE_SEAL_INFO),
    aad: concatBytes(
      tagBytes(DomainTag.RESHARE_SEAL_AAD),
      encodeCanonical({
        from: handover.from.id,
        to: handover.to.id,
        dealer,
        node: recipient,
        items: suite.sha256(encodeCanonical(dealtItemsToCbor(items))),
      }),
    ),
  };
}

function sealDigest(suite: CryptoSuite, sealed: Sealed): Uint8Array {
  return suite.sha256(concatBytes(sealed.enc, sealed.ciphertext));
}

/**
 * Old node `dealer.index` deals every content of `inputs` it holds to the new
 * set. A share that does not verify against its own commitments is dealt as
 * 'failed', never spread.
 */
export async function dealBatch(
  suite: CryptoSuite,
  handover: Handover,
  dealer: { readonly index: number; readonly identity: SigningKey },
  inputs: readonly DealInput[],
  /** Test fault (a byzantine dealer): seal sub-shares off the committed polynomial, signed as if honest. */
  faults: { readonly corruptSubShares?: boolean } = {},
): Promise<DealtBatch> {
  const newXs = handover.to.nodes.map((n) => n.index);
  const t = handover.to.threshold;
  const items: DealtItem[] = [];
  const sources: SharingSource[] = [];
  /** Per new node, the 64-byte sub-shares of the 'ok' items in order. */
  const perNode: Uint8Array[][] = newXs.map(() => []);
  try {
    for (const [position, input] of inputs.entries()) {
      if (position % YIELD_EVERY === YIELD_EVERY - 1) await yieldTurn();
      if (!('source' in input)) {
        items.push({ contentId: input.contentId, status: input.status });
        continue;
      }
      let parsed: ParsedSource;
      let share;
      try {
        parsed = parseSource(suite, handover.from, input.source);
        share = shareFromBytes(dealer.index, input.share);
      } catch {
        items.push({ contentId: input.contentId, status: 'failed' });
        continue;
      }
      try {
        const dealt = redeal(share, parsed.commitments, t, newXs);
        dealt.subShares.forEach((sub, j) => {
          const bytes = shareToBytes(sub);
          if (faults.corruptSubShares === true) bytes[0] = (bytes[0] ?? 0) ^ 0x01;
          perNode[j]?.push(bytes);
          wipe(sub.s, sub.r);
        });
        items.push({
          contentId: input.contentId,
          status: 'ok',
          manifestHash: parsed.manifestHash,
          ...(parsed.recordHash === undefined ? {} : { recordHash: parsed.recordHash }),
          commitments: dealt.commitments,
        });
        sources.push(input.source);
      } catch {
        items.push({ contentId: input.contentId, status: 'failed' });
      } finally {
        wipe(share.s, share.r);
      }
    }
    const sealed: Sealed[] = [];
    for (const [j, node] of handover.to.nodes.entries()) {
      const plaintext = concatBytes(...(perNode[j] ?? []));
      try {
        sealed.push(
          await seal(
            suite,
            node.kemPublicKey,
            reshareSealContext(suite, handover, dealer.index, node.index, items),
            plaintext,
          ),
        );
      } finally {
        wipe(plaintext);
      }
    }
    const sealDigests = sealed.map((s) => sealDigest(suite, s));
    const signature = dealer.identity.sign(
      dealingSigningBytes(handover, dealer.index, items, sealDigests),
    );
    return { dealing: { dealer: dealer.index, items, sealDigests, signature }, sealed, sources };
  } finally {
    for (const list of perNode) wipe(...list);
  }
}

/**
 * The sharing-record body a new node signs when it combines `contentId` from
 * `dealers`' dealings: what a coordinator computes from public data alone, to
 * check the nodes' attestations and assemble the record. Throws (ShamirError)
 * if a chosen dealing lacks the content or its D_0 does not fit.
 */
export function redistributedBody(
  handover: Handover,
  contentId: Uint8Array,
  parsed: ParsedSource,
  dealings: ReadonlyMap<number, Dealing>,
  dealers: readonly number[],
): SharingRecordBody {
  const chosen = dealers.map((dealer) => {
    const item = dealings
      .get(dealer)
      ?.items.find((i) => i.status === 'ok' && toHex(i.contentId) === toHex(contentId));
    if (item?.commitments === undefined)
      throw sourceError(`old node ${dealer} dealt no commitments for the content`);
    return { dealer, commitments: item.commitments };
  });
  return {
    contentId,
    nodeSetId: handover.to.id,
    threshold: handover.to.threshold,
    commitments: redistributedCommitments(parsed.commitments, chosen, handover.to.threshold),
    dealers: [...dealers],
    previousNodeSetId: handover.from.id,
  };
}

/** A dealing as the coordinator forwards it to one new node: with that node's seal only. */
export interface ForwardedDealing extends Dealing {
  readonly sealed: Sealed;
}

/** Which old nodes' sub-shares a new node combines for one content: exactly t old nodes. */
export interface DealerChoice {
  readonly contentId: Uint8Array;
  readonly dealers: readonly number[];
}

/** Why a dealer is named. */
export type BlameReason =
  /** Its signature over the dealing does not verify (it, or whoever relayed it, altered it). */
  | 'bad-signature'
  /** Its seal to this node does not open, or holds the wrong number of sub-shares. */
  | 'bad-seal'
  /** It did not deal the content, or vouched for another manifest or record than the others. */
  | 'disagrees'
  /** Its D_0 does not commit to its old share, or the sub-share is off its polynomial. */
  | 'bad-sub-share';

export type CommitOutcome =
  | {
      readonly contentId: Uint8Array;
      readonly status: 'ok';
      /** The new share, 64 bytes: the caller stores it and wipes it. */
      readonly share: Uint8Array;
      readonly source: SharingSource;
      readonly parsed: ParsedSource;
      readonly body: SharingRecordBody;
      readonly attestation: SharingAttestation;
    }
  | {
      readonly contentId: Uint8Array;
      readonly status: 'blame';
      readonly blamed: readonly { readonly dealer: number; readonly reason: BlameReason }[];
    }
  | {
      readonly contentId: Uint8Array;
      readonly status: 'failed';
      /** The coordinator's request did not make sense (no source, a wrong dealer count): nobody is named. */
      readonly reason: string;
    };

interface OpenedDealing {
  readonly dealing: ForwardedDealing;
  /** Sub-share bytes per 'ok' item, by content id hex; undefined if the dealing is blamed as a whole. */
  readonly subShares?: ReadonlyMap<string, Uint8Array>;
  readonly blame?: BlameReason;
}

const hex = toHex;

async function openDealing(
  suite: CryptoSuite,
  handover: Handover,
  self: { readonly index: number; readonly kem: Decapsulator },
  dealing: ForwardedDealing,
): Promise<OpenedDealing> {
  const dealerNode = handover.from.node(dealing.dealer);
  const position = handover.to.nodes.findIndex((n) => n.index === self.index);
  const digest = dealing.sealDigests[position];
  if (
    dealerNode === undefined ||
    dealing.sealDigests.length !== handover.to.nodes.length ||
    digest === undefined ||
    !suite.equalBytes(digest, sealDigest(suite, dealing.sealed)) ||
    !suite.ed25519.verify(
      dealing.signature,
      dealingSigningBytes(handover, dealing.dealer, dealing.items, dealing.sealDigests),
      dealerNode.nodePublicKey,
    )
  ) {
    return { dealing, blame: 'bad-signature' };
  }
  const ok = dealing.items.filter((i) => i.status === 'ok');
  let plaintext: Uint8Array;
  try {
    plaintext = await open(
      suite,
      self.kem,
      reshareSealContext(suite, handover, dealing.dealer, self.index, dealing.items),
      dealing.sealed,
    );
  } catch (e) {
    if (isQkmsError(e, ErrorCode.DECRYPT_FAILED)) return { dealing, blame: 'bad-seal' };
    throw e;
  }
  try {
    if (plaintext.length !== ok.length * SHARE_BYTES) return { dealing, blame: 'bad-seal' };
    const subShares = new Map<string, Uint8Array>();
    ok.forEach((item, k) =>
      subShares.set(hex(item.contentId), plaintext.slice(k * SHARE_BYTES, (k + 1) * SHARE_BYTES)),
    );
    return { dealing, subShares };
  } finally {
    wipe(plaintext);
  }
}

function ascendingDistinct(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > (values[i - 1] ?? 0));
}

function sameOptional(
  suite: CryptoSuite,
  a: Uint8Array | undefined,
  b: Uint8Array | undefined,
): boolean {
  return a === undefined || b === undefined ? a === b : suite.equalBytes(a, b);
}

/**
 * New node `self.index` checks the forwarded dealings and, for each choice,
 * combines its share of the content from the chosen dealers' sub-shares.
 * Outcomes come in the order of `choices`.
 */
export async function commitBatch(
  suite: CryptoSuite,
  handover: Handover,
  self: { readonly index: number; readonly kem: Decapsulator; readonly identity: SigningKey },
  dealings: readonly ForwardedDealing[],
  sources: readonly SharingSource[],
  choices: readonly DealerChoice[],
): Promise<CommitOutcome[]> {
  const opened = new Map<number, OpenedDealing>();
  for (const dealing of dealings) {
    if (opened.has(dealing.dealer)) continue;
    opened.set(dealing.dealer, await openDealing(suite, handover, self, dealing));
  }
  const sourceOf = new Map(sources.map((s) => [hex(s.contentId), s]));
  const t = handover.to.threshold;
  try {
    const outcomes: CommitOutcome[] = [];
    for (const [position, choice] of choices.entries()) {
      if (position % YIELD_EVERY === YIELD_EVERY - 1) await yieldTurn();
      outcomes.push(commitOne(choice));
    }
    return outcomes;
  } finally {
    for (const o of opened.values()) for (const s of o.subShares?.values() ?? []) wipe(s);
  }

  function commitOne(choice: DealerChoice): CommitOutcome {
    const { contentId, dealers } = choice;
    const failed = (reason: string): CommitOutcome => ({ contentId, status: 'failed', reason });
    const source = sourceOf.get(hex(contentId));
    if (source === undefined) return failed('no source for the content');
    let parsed: ParsedSource;
    try {
      parsed = parseSource(suite, handover.from, source);
    } catch {
      return failed('the source does not verify');
    }
    if (dealers.length !== parsed.threshold || !ascendingDistinct(dealers))
      return failed(`the dealer set is not ${parsed.threshold} distinct ascending old nodes`);
    const blamed: { dealer: number; reason: BlameReason }[] = [];
    const contributions: { dealer: number; s: Uint8Array; r: Uint8Array }[] = [];
    const commitmentsOf: { dealer: number; commitments: readonly Uint8Array[] }[] = [];
    try {
      for (const dealer of dealers) {
        const o = opened.get(dealer);
        if (o === undefined) return failed(`no dealing from old node ${dealer}`);
        if (o.blame !== undefined) {
          blamed.push({ dealer, reason: o.blame });
          continue;
        }
        const item = o.dealing.items.find((i) => suite.equalBytes(i.contentId, contentId));
        const sub = o.subShares?.get(hex(contentId));
        if (
          item?.status !== 'ok' ||
          sub === undefined ||
          item.commitments === undefined ||
          item.manifestHash === undefined ||
          !suite.equalBytes(item.manifestHash, parsed.manifestHash) ||
          !sameOptional(suite, item.recordHash, parsed.recordHash)
        ) {
          blamed.push({ dealer, reason: 'disagrees' });
          continue;
        }
        const share = shareFromBytes(self.index, sub);
        let good: boolean;
        try {
          good = verifySubShare(
            parsed.commitments,
            t,
            { dealer, commitments: item.commitments },
            share,
          );
        } catch {
          good = false;
        }
        if (!good) {
          wipe(share.s, share.r);
          blamed.push({ dealer, reason: 'bad-sub-share' });
          continue;
        }
        contributions.push({ dealer, s: share.s, r: share.r });
        commitmentsOf.push({ dealer, commitments: item.commitments });
      }
      if (blamed.length > 0) return { contentId, status: 'blame', blamed };
      const combined = combineSubShares(self.index, contributions, parsed.threshold);
      const commitments = redistributedCommitments(parsed.commitments, commitmentsOf, t);
      if (!verifyShare(commitments, combined)) {
        wipe(combined.s, combined.r);
        return failed('the combined share does not verify');
      }
      const share = shareToBytes(combined);
      wipe(combined.s, combined.r);
      const body: SharingRecordBody = {
        contentId,
        nodeSetId: handover.to.id,
        threshold: t,
        commitments,
        dealers: [...dealers],
        previousNodeSetId: handover.from.id,
      };
      return {
        contentId,
        status: 'ok',
        share,
        source,
        parsed,
        body,
        attestation: attestSharing(self.identity, self.index, body),
      };
    } finally {
      for (const c of contributions) wipe(c.s, c.r);
    }
  }
}
