// A handover's world in one process: the quorum fixture's five old nodes
// (t = 3) with real stores holding published contents, a successor set, and
// each distinct node key served by a real ReshareService over its own
// NodeStore. `send` is what the coordinator's transport would do: a frame in,
// a frame out, or a throw for a node that is down.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../node/log.ts';
import { ReshareService } from '../../node/service/reshare.ts';
import type { CustodyEvent } from '../../node/service/types.ts';
import { NodeStore } from '../../node/store/index.ts';
import {
  combineKey,
  decodeCanonical,
  encodeCanonical,
  encodeMessage,
  manifestHash,
  manifestToCbor,
  openCek,
  rejectionCodeOf,
  sharingRecordFromCbor,
  signTicket,
  toHex,
  verifySharingRecord,
  type CryptoSuite,
  type NodeEntry,
  type NodeSet,
  type ReshareTicket,
} from '../../protocol/internal.ts';
import type { HandoverSide } from '../../cli/reshare/coordinator.ts';
import {
  contentFixture,
  quorumFixture,
  sessionFixture,
  type ContentFixture,
  type NodeKeys,
  type QuorumFixture,
} from './protocol-fixture.ts';
import { successorOf, type HandoverFixture } from './reshare-fixture.ts';

export const WORLD_TIME = 1_800_000_100_000;

interface Member {
  readonly keys: Omit<NodeKeys, 'index'>;
  readonly store: NodeStore;
  readonly events: CustodyEvent[];
  service: ReshareService;
}

export class ReshareWorld {
  readonly suite: CryptoSuite;
  readonly old: QuorumFixture;
  readonly contents: readonly ContentFixture[];
  readonly #members = new Map<string, Member>();
  /** Ed25519 public keys (hex) of nodes that do not answer. */
  readonly down = new Set<string>();
  /** Old-set indexes whose reshare service deals bad sub-shares (the node's wrongShare fault). */
  readonly #liars = new Set<string>();

  private constructor(suite: CryptoSuite, old: QuorumFixture, contents: ContentFixture[]) {
    this.suite = suite;
    this.old = old;
    this.contents = contents;
  }

  /** Five old nodes holding `count` published contents. */
  static async create(suite: CryptoSuite, count: number): Promise<ReshareWorld> {
    const old = quorumFixture(suite, 5, 3);
    const publisher = await sessionFixture(suite, old.nodeSet);
    // Distinct content ids however many (the fixture's default repeats every 256 labels).
    const contents = Array.from({ length: count }, (_, i) =>
      contentFixture(
        suite,
        old.nodeSet,
        publisher,
        { kind: 'open' },
        i + 1,
        suite.sha256(new TextEncoder().encode(`reshare-world content ${i}`)),
      ),
    );
    const world = new ReshareWorld(suite, old, contents);
    const encoded = contents.map((c) => ({
      manifest: encodeCanonical(manifestToCbor(c.manifest)),
      hash: manifestHash(suite, c.manifest),
    }));
    for (const node of old.nodes) {
      const member = await world.#member(node, old.nodeSet);
      // Concurrent puts: the store's write queue syncs them in groups.
      await Promise.all(
        contents.map((c, i) =>
          member.store.putContent({
            contentId: c.contentId,
            manifest: encoded[i]!.manifest,
            manifestHash: encoded[i]!.hash,
            owner: c.manifest.body.publisher,
            share: c.shares[node.index - 1]!.slice(),
            storedAt: WORLD_TIME,
          }),
        ),
      );
    }
    return world;
  }

  /** A successor of the old set; members new to the quorum get a store serving the successor. */
  async successor(
    members: readonly Omit<NodeKeys, 'index'>[],
    threshold: number,
  ): Promise<HandoverFixture & { fromSide: HandoverSide; toSide: HandoverSide }> {
    const fx = successorOf(this.suite, this.old, members, threshold);
    for (const k of members)
      if (!this.#members.has(toHex(k.identity.publicKey))) await this.#member(k, fx.handover.to);
    const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
    return {
      ...fx,
      fromSide: { set: this.old.nodeSet, file: encode(this.old.nodeSetFile) },
      toSide: { set: fx.handover.to, file: encode(fx.toFile) },
    };
  }

  ticket(to: NodeSet, notAfter = WORLD_TIME + 3_600_000): ReshareTicket {
    return signTicket(
      { position: 0, key: this.suite.hybrid.signer(this.old.adminSeed) },
      { from: this.old.nodeSet.id, to: to.id, notAfter },
    );
  }

  /** Old node `index` becomes a byzantine dealer. */
  lie(index: number): void {
    const key = toHex(this.old.nodes[index - 1]!.identity.publicKey);
    this.#liars.add(key);
    const member = this.#members.get(key);
    if (member !== undefined) member.service = this.#service(member, this.old.nodeSet, true);
  }

  readonly send = async (node: NodeEntry, frame: Uint8Array): Promise<Uint8Array> => {
    const key = toHex(node.nodePublicKey);
    if (this.down.has(key)) throw new Error('connection refused');
    const member = this.#members.get(key);
    if (member === undefined) throw new Error('no such node');
    // As the node's stream layer does: a refusal goes back as a 'reject' with its code only.
    return member.service
      .handle(frame)
      .catch((e: unknown) => encodeMessage({ type: 'reject', code: rejectionCodeOf(e) }));
  };

  events(keys: Omit<NodeKeys, 'index'>): readonly CustodyEvent[] {
    return this.#members.get(toHex(keys.identity.publicKey))?.events ?? [];
  }

  /** The pending share and record node `keys` holds for `to`, checked; undefined if none or not held. */
  async held(
    keys: Omit<NodeKeys, 'index'>,
    to: NodeSet,
    content: ContentFixture,
  ): Promise<{ share: Uint8Array; index: number } | undefined> {
    const member = this.#members.get(toHex(keys.identity.publicKey));
    const pending = await member?.store.getPending(to.id, content.contentId);
    if (pending?.held !== true) return undefined;
    const record = sharingRecordFromCbor(decodeCanonical(pending.content.sharing, 1 << 20));
    verifySharingRecord(this.suite, record, to, content.manifest.body.commitments[0]!);
    const index = to.nodes.find((n) =>
      this.suite.equalBytes(n.nodePublicKey, keys.identity.publicKey),
    )!.index;
    return { share: pending.content.share, index };
  }

  /** The CEK from the shares of `holders` (index, share), or undefined. */
  open(
    content: ContentFixture,
    threshold: number,
    holders: readonly { index: number; share: Uint8Array }[],
  ): Uint8Array | undefined {
    const key = combineKey(
      holders.map((h) => ({ x: h.index, bytes: h.share })),
      threshold,
      () => true,
    );
    return openCek(this.suite, content.manifest.body, key);
  }

  async close(): Promise<void> {
    for (const m of this.#members.values()) await m.store.close();
  }

  async #member(keys: Omit<NodeKeys, 'index'>, serves: NodeSet): Promise<Member> {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-reshare-'));
    const store = await NodeStore.open({
      path: join(dir, 'db'),
      integrityDir: join(dir, 'db-integrity'),
      storageKey: this.suite.randomBytes(32),
      suite: this.suite,
    });
    const member: Member = { keys, store, events: [], service: undefined as never };
    member.service = this.#service(member, serves, false);
    this.#members.set(toHex(keys.identity.publicKey), member);
    return member;
  }

  #service(member: Member, serves: NodeSet, liar: boolean): ReshareService {
    return new ReshareService({
      suite: this.suite,
      nodeSet: serves,
      identity: member.keys.identity,
      kem: this.suite.xwing.decapsulator(member.keys.kemSeed),
      store: member.store,
      audit: {
        record: (event) => {
          member.events.push(event);
          return Promise.resolve();
        },
      },
      clock: () => WORLD_TIME,
      log: silentLogger,
      faults: { wrongShare: liar },
    });
  }
}
