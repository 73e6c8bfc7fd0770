// Long file: the handover's rounds (list, status, deal, choose, commit, retry, record) read best in one place.
// The coordinator of a handover (decision 0016, docs/protocol.md §7d): what
// `qkms admin reshare` runs. It holds no secret but the admin's ticket: every
// sub-share it relays is sealed to a new node, and every statement it relays
// is signed by the node that made it.
//
// For each batch of content ids (the union of what the old nodes list):
//   1. ask every new node which contents it already holds: those are done
//      (this is what makes a re-run resume, and each content idempotent);
//   2. ask every old node to deal the rest;
//   3. per content, take the source (manifest, record) most dealers vouch for
//      and choose the first t of them as dealers;
//   4. send every new node the dealings and the choice; a node that names a
//      dealer (a bad sub-share, a bad seal) gets it excluded, and the content
//      is committed again, everywhere, with other dealers;
//   5. gather the new nodes' attestations into the sharing record and send it
//      to every new node that stored a share.
// Nothing here is trusted by a node: a coordinator that lies gets refusals.
import {
  MAX_RESHARE_BATCH,
  MAX_RESHARE_LIST,
  METHODS,
  decodeMessage,
  encodeCanonical,
  encodeMessage,
  attestationVerifies,
  isQkmsError,
  parseSource,
  redistributedBody,
  sharingRecordToCbor,
  toHex,
  withAttestations,
  type BlameReason,
  type CryptoSuite,
  type DealtBatch,
  type Dealing,
  type Handover,
  type Message,
  type MessageOf,
  type NodeEntry,
  type NodeSet,
  type ParsedSource,
  type RejectionCode,
  type ReshareTicket,
  type SharingAttestation,
  type SharingRecordBody,
  type SharingSource,
} from '../../protocol/internal.ts';

const RESHARE = METHODS.reshare;

/** One request frame to one node; resolves with its answer frame, throws when there is none. */
export type SendFrame = (node: NodeEntry, frame: Uint8Array) => Promise<Uint8Array>;

export interface HandoverSide {
  readonly set: NodeSet;
  /** The signed node-set file, as its UTF-8 bytes: every request carries both. */
  readonly file: Uint8Array;
}

export interface CoordinatorOptions {
  readonly suite: CryptoSuite;
  readonly from: HandoverSide;
  readonly to: HandoverSide;
  readonly ticket: ReshareTicket;
  readonly send: SendFrame;
  /** Contents per deal and commit request (1..MAX_RESHARE_BATCH). */
  readonly batchSize?: number;
  readonly now?: () => number;
  readonly onProgress?: (progress: HandoverProgress) => void;
}

export interface HandoverProgress {
  readonly total: number;
  /** Contents every new node holds, this run's and earlier runs'. */
  readonly held: number;
  /** Contents this run could not move (yet). */
  readonly failed: number;
}

export interface Blame {
  readonly dealer: number;
  readonly reason: BlameReason | 'disagrees';
  /** The new node that named it (0: the coordinator, which saw its source differ). */
  readonly by: number;
}

export type ContentOutcome =
  /** Every new node holds a verified share and the complete record. */
  | 'held'
  /** Held before this run started. */
  | 'already-held'
  /** A complete record exists, but some new nodes do not hold it yet: run again. */
  | 'partial'
  /** Not enough honest, reachable old nodes dealt it, or too few new nodes took it. */
  | 'failed';

export interface ContentReport {
  readonly contentId: Uint8Array;
  readonly outcome: ContentOutcome;
  /** New nodes holding it. */
  readonly heldBy: readonly number[];
  /** Old nodes whose sub-shares were combined. */
  readonly dealers: readonly number[];
  readonly blamed: readonly Blame[];
  /** Why it failed, for a person. */
  readonly reason?: string;
}

export interface NodeReport {
  readonly set: 'old' | 'new';
  readonly index: number;
  /** Requests it did not answer, and rejections it sent, by code. */
  readonly unanswered: number;
  readonly rejected: Readonly<Partial<Record<RejectionCode, number>>>;
  /** Old: contents it dealt. New: contents it holds at the end. */
  readonly contents: number;
  /** Old: contents for which a new node named it. */
  readonly blamed: number;
}

export interface HandoverReport {
  readonly total: number;
  readonly held: number;
  readonly alreadyHeld: number;
  readonly partial: number;
  readonly failed: number;
  readonly ms: number;
  readonly contents: readonly ContentReport[];
  readonly nodes: readonly NodeReport[];
}

interface NodeTally {
  unanswered: number;
  rejected: Partial<Record<RejectionCode, number>>;
  contents: number;
  blamed: number;
}

type ReshareRequestType =
  'reshare-list' | 'reshare-deal' | 'reshare-commit' | 'reshare-record' | 'reshare-status';

type AnswerOf<T extends ReshareRequestType> = MessageOf<
  Exclude<(typeof RESHARE.exchanges)[T][number], 'reject'>
>;

const hex = toHex;

function errorText(e: unknown): string {
  return isQkmsError(e) || e instanceof Error ? e.message : typeof e;
}

/** Runs the handover to completion (or as far as the nodes allow) and reports per content and node. */
export async function runHandover(options: CoordinatorOptions): Promise<HandoverReport> {
  const { suite, from, to, ticket, send } = options;
  const now = options.now ?? Date.now;
  const batchSize = Math.min(Math.max(1, options.batchSize ?? 64), MAX_RESHARE_BATCH);
  const started = now();
  const envelope = { ticket, from: from.file, to: to.file };
  const handover: Handover = { from: from.set, to: to.set };
  const tallies = new Map<string, NodeTally>();
  const tally = (set: 'old' | 'new', index: number): NodeTally => {
    const key = `${set}:${index}`;
    let t = tallies.get(key);
    if (t === undefined) {
      t = { unanswered: 0, rejected: {}, contents: 0, blamed: 0 };
      tallies.set(key, t);
    }
    return t;
  };
  for (const n of from.set.nodes) tally('old', n.index);
  for (const n of to.set.nodes) tally('new', n.index);

  /** One request; undefined when the node does not answer or refuses (tallied). */
  async function ask<T extends ReshareRequestType>(
    set: 'old' | 'new',
    node: NodeEntry,
    type: T,
    fields: Omit<MessageOf<T>, 'type'>,
  ): Promise<AnswerOf<T> | undefined> {
    const message = { type, ...fields } as unknown as Message;
    let reply: Uint8Array;
    try {
      reply = await send(node, encodeMessage(message));
    } catch {
      tally(set, node.index).unanswered++;
      return undefined;
    }
    let answer: Message;
    try {
      answer = decodeMessage(
        reply,
        RESHARE.maxReplyBytes,
        RESHARE.exchanges[type] as readonly Message['type'][],
      );
    } catch {
      tally(set, node.index).unanswered++;
      return undefined;
    }
    if (answer.type === 'reject') {
      const rejected = tally(set, node.index).rejected;
      rejected[answer.code] = (rejected[answer.code] ?? 0) + 1;
      return undefined;
    }
    return answer as AnswerOf<T>;
  }

  // 1. The contents: the union of every old node's list.
  const universe = new Map<string, Uint8Array>();
  await Promise.all(
    from.set.nodes.map(async (node) => {
      let after: Uint8Array = new Uint8Array(0);
      for (;;) {
        const page = await ask('old', node, 'reshare-list', { ...envelope, after });
        if (page === undefined) return;
        for (const id of page.contents) universe.set(hex(id), id);
        const last = page.contents[page.contents.length - 1];
        if (!page.more || last === undefined) return;
        after = last;
      }
    }),
  );
  const ids = [...universe.keys()].sort().map((k) => universe.get(k) ?? new Uint8Array());
  const reports: ContentReport[] = [];
  const progress = { total: ids.length, held: 0, failed: 0 };

  for (let start = 0; start < ids.length; start += batchSize) {
    const batch = ids.slice(start, start + batchSize);
    for (const r of await runBatch(batch)) {
      reports.push(r);
      if (r.outcome === 'held' || r.outcome === 'already-held') progress.held++;
      else progress.failed++;
    }
    options.onProgress?.({ ...progress });
  }

  // Per new node, what it holds at the end (asked once more: the truth is on the nodes).
  await Promise.all(
    to.set.nodes.map(async (node) => {
      let held = 0;
      for (let s = 0; s < ids.length; s += MAX_RESHARE_LIST) {
        const answer = await ask('new', node, 'reshare-status', {
          ...envelope,
          contents: ids.slice(s, s + MAX_RESHARE_LIST),
        });
        held += answer?.held.filter((h) => h.length > 0).length ?? 0;
      }
      tally('new', node.index).contents = held;
    }),
  );

  const count = (o: ContentOutcome): number => reports.filter((r) => r.outcome === o).length;
  return {
    total: ids.length,
    held: count('held') + count('already-held'),
    alreadyHeld: count('already-held'),
    partial: count('partial'),
    failed: count('failed'),
    ms: now() - started,
    contents: reports,
    nodes: [...tallies.entries()].map(([key, t]) => {
      const [set, index] = key.split(':');
      return {
        set: set === 'old' ? 'old' : 'new',
        index: Number(index),
        unanswered: t.unanswered,
        rejected: t.rejected,
        contents: t.contents,
        blamed: t.blamed,
      };
    }),
  };

  async function runBatch(batch: readonly Uint8Array[]): Promise<ContentReport[]> {
    // Which new nodes already hold what, under which sharing: a content is done only when every
    // new node holds a share under the same record (a node missed by a re-commit holds another).
    const heldBy = new Map<string, Map<string, number[]>>(batch.map((id) => [hex(id), new Map()]));
    await Promise.all(
      to.set.nodes.map(async (node) => {
        const answer = await ask('new', node, 'reshare-status', { ...envelope, contents: batch });
        answer?.held.forEach((bodyHash, i) => {
          const id = batch[i];
          if (bodyHash.length === 0 || id === undefined) return;
          const bySharing = heldBy.get(hex(id));
          const list = bySharing?.get(hex(bodyHash)) ?? [];
          list.push(node.index);
          bySharing?.set(hex(bodyHash), list);
        });
      }),
    );
    const everyNew = to.set.nodes.length;
    const allHold = (id: Uint8Array): number[] | undefined =>
      [...(heldBy.get(hex(id))?.values() ?? [])].find((nodes) => nodes.length === everyNew);
    const todo = batch.filter((id) => allHold(id) === undefined);
    const done: ContentReport[] = batch
      .filter((id) => allHold(id) !== undefined)
      .map((contentId) => ({
        contentId,
        outcome: 'already-held',
        heldBy: (allHold(contentId) ?? []).sort((a, b) => a - b),
        dealers: [],
        blamed: [],
      }));
    if (todo.length === 0) return done;

    // Deal.
    const dealt = new Map<number, DealtBatch>();
    const dealings = new Map<number, Dealing>();
    await Promise.all(
      from.set.nodes.map(async (node) => {
        const answer = await ask('old', node, 'reshare-deal', { ...envelope, contents: todo });
        if (answer === undefined || answer.dealing.dealer !== node.index) return;
        dealings.set(node.index, answer.dealing);
        dealt.set(node.index, {
          dealing: answer.dealing,
          sealed: answer.sealed,
          sources: answer.sources,
        });
        tally('old', node.index).contents += answer.dealing.items.filter(
          (i) => i.status === 'ok',
        ).length;
      }),
    );

    // Per content: the source most dealers vouch for, and who vouches for it.
    interface Plan {
      readonly contentId: Uint8Array;
      readonly source?: SharingSource;
      readonly parsed?: ParsedSource;
      /** Dealers vouching for the chosen source, ascending. */
      readonly candidates: number[];
      readonly blamed: Blame[];
      dealers: number[];
      attestations: SharingAttestation[];
      body?: SharingRecordBody | undefined;
      committedBy: number[];
      reason?: string;
    }
    const plans = todo.map((contentId): Plan => {
      const groups = new Map<
        string,
        { source: SharingSource; parsed: ParsedSource; dealers: number[] }
      >();
      for (const [dealer, b] of [...dealt.entries()].sort((x, y) => x[0] - y[0])) {
        const source = b.sources.find((s) => suite.equalBytes(s.contentId, contentId));
        const item = b.dealing.items.find((i) => suite.equalBytes(i.contentId, contentId));
        if (source === undefined || item?.status !== 'ok') continue;
        let parsed: ParsedSource;
        try {
          parsed = parseSource(suite, from.set, source);
        } catch {
          continue;
        }
        const key = `${hex(parsed.manifestHash)}:${parsed.recordHash === undefined ? '' : hex(parsed.recordHash)}`;
        const group = groups.get(key) ?? { source, parsed, dealers: [] };
        group.dealers.push(dealer);
        groups.set(key, group);
      }
      const best = [...groups.values()].sort((a, b) => b.dealers.length - a.dealers.length)[0];
      const blamed: Blame[] = [...groups.values()]
        .filter((g) => g !== best)
        .flatMap((g) =>
          g.dealers.map((dealer) => ({ dealer, reason: 'disagrees' as const, by: 0 })),
        );
      return {
        contentId,
        ...(best === undefined ? {} : { source: best.source, parsed: best.parsed }),
        candidates: best?.dealers ?? [],
        blamed,
        dealers: [],
        attestations: [],
        committedBy: [],
      };
    });

    // Commit, excluding named dealers, until each content commits everywhere or runs out of dealers.
    let open = plans;
    while (open.length > 0) {
      const ready: Plan[] = [];
      for (const p of open) {
        const excluded = new Set(p.blamed.map((b) => b.dealer));
        const usable = p.candidates.filter((d) => !excluded.has(d));
        const t = p.parsed?.threshold ?? 0;
        if (p.parsed === undefined || usable.length < t) {
          p.reason =
            p.parsed === undefined
              ? 'no old node dealt it'
              : `only ${usable.length} honest old nodes dealt it, ${t} needed`;
          continue;
        }
        p.dealers = usable.slice(0, t);
        ready.push(p);
      }
      if (ready.length === 0) break;
      const dealers = [...new Set(ready.flatMap((p) => p.dealers))].sort((a, b) => a - b);
      const sources = ready.flatMap((p) => (p.source === undefined ? [] : [p.source]));
      const choose = ready.map((p) => ({ contentId: p.contentId, dealers: p.dealers }));
      for (const p of ready) {
        p.attestations = [];
        p.committedBy = [];
        p.body = undefined;
      }
      const retry = new Set<Plan>();
      await Promise.all(
        to.set.nodes.map(async (node, position) => {
          const forwarded = dealers.flatMap((d) => {
            const b = dealt.get(d);
            const sealed = b?.sealed[position];
            return b === undefined || sealed === undefined ? [] : [{ ...b.dealing, sealed }];
          });
          const answer = await ask('new', node, 'reshare-commit', {
            ...envelope,
            dealings: forwarded,
            sources,
            choose,
          });
          if (answer === undefined || answer.node !== node.index) return;
          for (const r of answer.results) {
            const p = ready.find((x) => suite.equalBytes(x.contentId, r.contentId));
            if (p === undefined) continue;
            if (r.status === 'ok') {
              p.attestations.push({ node: node.index, signature: r.signature });
              p.committedBy.push(node.index);
            } else if (r.status === 'blame') {
              for (const b of r.blamed) {
                if (!p.dealers.includes(b.dealer)) continue;
                // The tally counts contents: several new nodes name the same dealer for one.
                if (!p.blamed.some((x) => x.dealer === b.dealer)) tally('old', b.dealer).blamed++;
                p.blamed.push({ dealer: b.dealer, reason: b.reason, by: node.index });
              }
              retry.add(p);
            }
          }
        }),
      );
      for (const p of ready) {
        if (retry.has(p) || p.parsed === undefined) continue;
        try {
          p.body = redistributedBody(handover, p.contentId, p.parsed, dealings, p.dealers);
        } catch (e) {
          p.reason = `the chosen dealings do not combine: ${errorText(e)}`;
          continue;
        }
        const body = p.body;
        // A node whose signature does not cover the body the public dealings give lied or broke.
        p.attestations = p.attestations.filter((a) => attestationVerifies(suite, to.set, body, a));
      }
      open = [...retry];
    }

    // Records: each committed node signed the body the public dealings give; t' of them make it whole.
    return [...done, ...(await finish(plans))];

    async function finish(all: readonly Plan[]): Promise<ContentReport[]> {
      const complete = all.filter(
        (p) => p.body !== undefined && p.attestations.length >= to.set.threshold,
      );
      const records = new Map<string, Uint8Array>();
      for (const p of complete) {
        if (p.body !== undefined)
          records.set(
            hex(p.contentId),
            encodeCanonical(sharingRecordToCbor(withAttestations(p.body, p.attestations))),
          );
      }
      const holders = new Map<string, number[]>();
      await Promise.all(
        to.set.nodes.map(async (node) => {
          const mine = complete.filter((p) => p.committedBy.includes(node.index));
          const bytes = mine.flatMap((p) => records.get(hex(p.contentId)) ?? []);
          if (bytes.length === 0) return;
          const answer = await ask('new', node, 'reshare-record', { ...envelope, records: bytes });
          for (const r of answer?.results ?? []) {
            if (r.status !== 'held') continue;
            const list = holders.get(hex(r.contentId)) ?? [];
            list.push(node.index);
            holders.set(hex(r.contentId), list);
          }
        }),
      );
      return all.map((p): ContentReport => {
        const by = (holders.get(hex(p.contentId)) ?? []).sort((a, b) => a - b);
        const outcome: ContentOutcome =
          by.length === to.set.nodes.length
            ? 'held'
            : by.length >= to.set.threshold
              ? 'partial'
              : 'failed';
        const reason =
          p.reason ??
          (outcome === 'failed'
            ? `${p.attestations.length} new nodes stored a share, ${to.set.threshold} needed`
            : undefined);
        return {
          contentId: p.contentId,
          outcome,
          heldBy: by,
          dealers: p.dealers,
          blamed: p.blamed,
          ...(reason === undefined || outcome === 'held' ? {} : { reason }),
        };
      });
    }
  }
}
