// Revocation (DESIGN.md, Revocation), two studies:
//   - membership (here): the check a recover makes (RevocationSet.revokedBy) against 1,000,000
//     records, and the memory the set holds, next to the same set as Set<string>s of hex;
//   - a real quorum (revocation-quorum.ts): when a revocation is effective, when all 5 nodes
//     hold it, and when a node that was down holds it after it restarts.
// test/perf/README.md says what each figure includes.
import { randomFillSync } from 'node:crypto';
import {
  REVOCATION_KINDS,
  RevocationSet,
  TARGET_BYTES,
  type Principals,
  type RevocationBody,
  type RevocationKind,
} from '../../revocation/index.ts';
import { cycle } from './fixtures.ts';
import { quorumStudy } from './revocation-quorum.ts';
import {
  check,
  heldBytes,
  measure,
  syncOp,
  type BenchResult,
  type Scenario,
  type Study,
  type StudyContext,
} from './harness.ts';

const RECORDS = 1_000_000;
/**
 * Share of each kind among the records: sessions and delegations are what day-to-day
 * revocation names (a lost device, a log-out); wallet bans, log-out-everywhere and content
 * take-downs are rarer. Every table is populated, so a miss probes five large tables.
 */
const MIX: Readonly<Record<RevocationKind, number>> = {
  session: 0.6,
  delegation: 0.2,
  wallet: 0.1,
  'wallet-sessions-before': 0.05,
  content: 0.05,
};
/**
 * Principals each check cycles through: their table slots span far more than the CPU caches,
 * as the checks of recovers spread over time do.
 */
const PRINCIPALS = 1 << 14;
/** issuedAt of the records and of the principals' delegations. */
const ISSUED_AT = 1_800_000_000_000;
/** `before` of the log-out-everywhere records: a delegation issued earlier is revoked. */
const BEFORE = ISSUED_AT - 1;

const NAME_HIT = 'revocation.membership_1m.hit';
const NAME_MISS = 'revocation.membership_1m.miss';
const NAME_MEMORY = 'revocation.membership_1m.memory';

/** The part of a revocation set the membership study uses. */
interface Membership {
  add(body: RevocationBody): void;
  revokedBy(p: Principals): RevocationKind | undefined;
  /** What the structure says it holds, if it says. */
  readonly memoryBytes?: number;
}

/** Lower-case hex of `bytes` as a flat string: Buffer's native encoder, the fastest in Node. */
const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/**
 * The baseline: the set as one would write it without ByteTable, a Set<string> of hex per
 * kind (a Map for the log-out times). Its strings are flat (Buffer's hex), so neither its
 * speed nor its size suffers from the ropes `+=` builds (protocol's toHex).
 */
class HexSetRevocations implements Membership {
  readonly #wallets = new Set<string>();
  readonly #walletsBefore = new Map<string, number>();
  readonly #sessions = new Set<string>();
  readonly #delegations = new Set<string>();
  readonly #contents = new Set<string>();

  add(body: RevocationBody): void {
    const key = hex(body.target);
    switch (body.kind) {
      case 'wallet':
        this.#wallets.add(key);
        return;
      case 'wallet-sessions-before': {
        const before = body.before ?? 0;
        if (before > (this.#walletsBefore.get(key) ?? -1)) this.#walletsBefore.set(key, before);
        return;
      }
      case 'session':
        this.#sessions.add(key);
        return;
      case 'delegation':
        this.#delegations.add(key);
        return;
      case 'content':
        this.#contents.add(key);
        return;
    }
  }

  revokedBy(p: Principals): RevocationKind | undefined {
    const wallet = hex(p.wallet);
    if (this.#wallets.has(wallet)) return 'wallet';
    const before = this.#walletsBefore.get(wallet);
    if (before !== undefined && p.delegationIssuedAt < before) return 'wallet-sessions-before';
    if (this.#sessions.has(hex(p.session))) return 'session';
    if (this.#delegations.has(hex(p.delegation))) return 'delegation';
    if (this.#contents.has(hex(p.content))) return 'content';
    return undefined;
  }
}

function randomBytes(length: number): Uint8Array {
  return randomFillSync(new Uint8Array(length));
}

/** The records' random targets, one flat array per kind (random 20- or 32-byte values are distinct). */
type Targets = ReadonlyMap<RevocationKind, { readonly count: number; readonly bytes: Uint8Array }>;

function makeTargets(): Targets {
  return new Map(
    REVOCATION_KINDS.map((kind) => {
      const count = Math.round(RECORDS * MIX[kind]);
      return [kind, { count, bytes: randomBytes(count * TARGET_BYTES[kind]) }];
    }),
  );
}

function targetAt(targets: Targets, kind: RevocationKind, i: number): Uint8Array {
  const width = TARGET_BYTES[kind];
  const bytes = targets.get(kind)?.bytes ?? new Uint8Array(0);
  return bytes.subarray(i * width, (i + 1) * width);
}

/** Adds every target as a record body (unsigned: what a node applies once it has verified). */
function fill(set: Membership, targets: Targets): void {
  const nodeSetId = randomBytes(32);
  for (const [kind, { count }] of targets) {
    for (let i = 0; i < count; i++) {
      const target = targetAt(targets, kind, i);
      const body: RevocationBody = { nodeSetId, kind, target, issuedAt: ISSUED_AT, reason: '' };
      set.add(kind === 'wallet-sessions-before' ? { ...body, before: BEFORE } : body);
    }
  }
}

/** Principals none of whose fields is revoked, and ones whose session key is (the third check). */
function makePrincipals(targets: Targets): { hit: Principals[]; miss: Principals[] } {
  const fresh = (): Principals => ({
    wallet: randomBytes(TARGET_BYTES.wallet),
    session: randomBytes(TARGET_BYTES.session),
    delegation: randomBytes(TARGET_BYTES.delegation),
    delegationIssuedAt: ISSUED_AT,
    content: randomBytes(TARGET_BYTES.content),
  });
  const sessions = targets.get('session')?.count ?? 0;
  const miss = Array.from({ length: PRINCIPALS }, fresh);
  const hit = Array.from({ length: PRINCIPALS }, () => ({
    ...fresh(),
    // A copy: a request's key is fresh in memory, not a view into the records' targets.
    session: targetAt(targets, 'session', Math.floor(Math.random() * sessions)).slice(),
  }));
  return { hit, miss };
}

async function measureImpl(
  context: StudyContext,
  impl: string,
  create: () => Membership,
  targets: Targets,
  principals: { hit: Principals[]; miss: Principals[] },
): Promise<BenchResult[]> {
  // The targets and principals exist before and after: only the set's own bytes are counted.
  const before = heldBytes();
  const set = create();
  fill(set, targets);
  const bytes = heldBytes() - before;
  check(
    principals.hit.every((p) => set.revokedBy(p) === 'session') &&
      principals.miss.every((p) => set.revokedBy(p) === undefined),
    `${impl}: a revoked session is found, and nothing else`,
  );
  const memory: BenchResult = {
    name: NAME_MEMORY,
    impl,
    bytes,
    bytes_per_record: Number((bytes / RECORDS).toFixed(1)),
    ...(set.memoryBytes === undefined ? {} : { memory_bytes: set.memoryBytes }),
  };
  context.progress(
    `${NAME_MEMORY} ${impl}: ${memory.bytes_per_record ?? '?'} B/record held` +
      (set.memoryBytes === undefined ? '' : `, memoryBytes ${set.memoryBytes}`),
  );
  const rows: BenchResult[] = [];
  for (const [name, pool] of [
    [NAME_HIT, principals.hit],
    [NAME_MISS, principals.miss],
  ] as const) {
    if (!context.wants(name)) continue;
    const next = cycle(pool);
    const { result, detail } = await measure({
      name,
      impl,
      setup: () => syncOp(() => set.revokedBy(next()) !== undefined),
    });
    context.progress(
      `${name} ${impl}: ${result.median_us ?? '?'} µs (${detail.samples} samples x ${detail.batch} ops,` +
        ` IQR ${(detail.iqrRel * 100).toFixed(1)}%)`,
    );
    rows.push(result);
  }
  return context.wants(NAME_MEMORY) ? [...rows, memory] : rows;
}

const membershipStudy: Study = {
  names: [NAME_HIT, NAME_MISS, NAME_MEMORY],
  run: async (context) => {
    const targets = makeTargets();
    const principals = makePrincipals(targets);
    // One set at a time: each is garbage before the next is built.
    return [
      ...(await measureImpl(context, 'qkms', () => new RevocationSet(), targets, principals)),
      ...(await measureImpl(
        context,
        'Set<string>',
        () => new HexSetRevocations(),
        targets,
        principals,
      )),
    ];
  },
};

export const revocationBenches: readonly Scenario[] = [membershipStudy, quorumStudy];
