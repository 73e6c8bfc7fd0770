// What cheap attacks on the recover and publish checks cost a node (issue 12,
// items 2 and 3), measured on the node's own services in this process, with
// no transport around them: the transport's share is what attack-frames.ts
// measures.
//
//   npx node test/perf/attack-requests.ts [--json]
//
// - recover.bad_wallet_resent: the same recover request, its delegation
//   signed by the wrong wallet (well-formed, low s), sent again and again;
//   CPU µs per copy, the median of 7 rounds of 200 copies.
// - recover.bad_wallet_fresh_nonce: new requests (fresh nonces, signed by the
//   attacker's session) under that one bad delegation.
// - publish.bad_wallet_resent: the same publish with a wrongly signed
//   delegation; median of 7 rounds of 100 copies.
// - replay_guard.after_refusals: a guard of 1,000 pairs, then 5,000 recover
//   requests refused at step 7 (UNKNOWN_CONTENT): how many slots they still
//   hold, and what an honest recover gets afterwards.
//
// It uses only what every version of the services has had, so it also runs
// on a checkout from before the fixes, for a before-and-after comparison.
import { createManifest, QkmsError, requireNativeSuite } from '../../protocol/internal.ts';
import { ReplayGuard } from '../../node/replay-guard.ts';
import { MemoryNonceStore } from '../support/nonce-store.ts';
import {
  contentFixture,
  FIXTURE_TIME,
  hexToBytes,
  quorumFixture,
  sessionFixture,
} from '../support/protocol-fixture.ts';
import {
  nodeUnderTest,
  publishFrame,
  recoverFrame,
  wronglySigned,
  type NodeUnderTest,
} from '../support/service-fixture.ts';

const ROUNDS = 7;
const NODE = 1;
const SOURCE = 'attacker';

const suite = requireNativeSuite();
const quorum = quorumFixture(suite);
const publisher = await sessionFixture(suite, quorum.nodeSet);
const content = contentFixture(suite, quorum.nodeSet, publisher);

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'served';
  } catch (e) {
    return e instanceof QkmsError ? e.code : 'error';
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** CPU µs (user + system) per call of `send`, the median over ROUNDS rounds of `copies` calls. */
async function cpuPerCall(copies: number, send: (i: number) => Promise<unknown>): Promise<number> {
  const perRound: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const before = process.cpuUsage();
    for (let i = 0; i < copies; i++) await send(r * copies + i);
    const used = process.cpuUsage(before);
    perRound.push((used.user + used.system) / copies);
  }
  return Math.round(median(perRound) * 10) / 10;
}

async function withContent(n: NodeUnderTest): Promise<NodeUnderTest> {
  await n.publish.handle(await publishFrame(quorum, content.manifest, content.shares[0]!, NODE));
  return n;
}

const rows: Record<string, number | string>[] = [];

// Item 2: the same bad recover request, again and again.
{
  const node = await withContent(nodeUnderTest(quorum, NODE));
  const bad = { ...publisher, delegation: await wronglySigned(publisher.delegation) };
  const frame = recoverFrame({ quorum, session: bad, contentId: content.contentId, node: NODE });
  const first = await outcome(node.recover.handle(frame, SOURCE));
  const us = await cpuPerCall(200, () => node.recover.handle(frame, SOURCE).catch(() => undefined));
  rows.push({ name: 'recover.bad_wallet_resent', outcome: first, cpu_us_per_request: us });

  const fresh = Array.from({ length: ROUNDS * 200 }, () =>
    recoverFrame({ quorum, session: bad, contentId: content.contentId, node: NODE }),
  );
  const usFresh = await cpuPerCall(200, (i) =>
    node.recover.handle(fresh[i]!, SOURCE).catch(() => undefined),
  );
  rows.push({
    name: 'recover.bad_wallet_fresh_nonce',
    outcome: first,
    cpu_us_per_request: usFresh,
  });
}

// Item 2: the same bad publish.
{
  const node = nodeUnderTest(quorum, NODE);
  const manifest = createManifest(suite, publisher.session, {
    contentId: content.contentId,
    nodeSetId: quorum.nodeSet.id,
    threshold: quorum.nodeSet.threshold,
    shares: content.shares.length,
    commitments: content.manifest.body.commitments,
    keyScalar: content.keyScalar,
    cek: content.cek,
    publisher: hexToBytes(publisher.wallet.address),
    policy: { kind: 'open' },
    issuedAt: FIXTURE_TIME + 1000,
    delegation: await wronglySigned(publisher.delegation),
  });
  const frame = await publishFrame(quorum, manifest, content.shares[0]!, NODE);
  const first = await outcome(node.publish.handle(frame));
  const us = await cpuPerCall(100, () => node.publish.handle(frame).catch(() => undefined));
  rows.push({ name: 'publish.bad_wallet_resent', outcome: first, cpu_us_per_request: us });
}

// Item 3: refused requests and the replay guard.
{
  const guard = await ReplayGuard.load({
    store: new MemoryNonceStore(),
    clock: () => FIXTURE_TIME + 10_000,
    maxEntries: 1_000,
  });
  const node = await withContent(nodeUnderTest(quorum, NODE).with({ nonces: guard }));
  const refusals = new Map<string, number>();
  for (let i = 0; i < 5_000; i++) {
    const contentId = suite.randomBytes(32);
    const frame = recoverFrame({ quorum, session: publisher, contentId, node: NODE });
    const code = await outcome(node.recover.handle(frame, `${SOURCE}-${i}`));
    refusals.set(code, (refusals.get(code) ?? 0) + 1);
  }
  const held = guard.size;
  const honest = await outcome(
    node.recover.handle(
      recoverFrame({ quorum, session: publisher, contentId: content.contentId, node: NODE }),
      'honest',
    ),
  );
  rows.push({
    name: 'replay_guard.after_refusals',
    refused: [...refusals].map(([code, n]) => `${n} ${code}`).join(', '),
    slots_held: held,
    honest_recover: honest,
  });
  await guard.stop();
}

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  for (const row of rows) {
    process.stdout.write(
      `${Object.entries(row)
        .map(([k, v]) => `${k}=${v}`)
        .join('  ')}\n`,
    );
  }
}
