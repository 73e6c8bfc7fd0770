// Long file: one study (its chain, its quorum, two measurements that share them) reads best in one place.
// Access conditions on chain state against a real chain (issue 16, decision 0015): a local anvil
// with the dev chain's access pass (cli/dev-chain/), 5 node processes (t = 3) on loopback that
// follow it (the dev quorum's `--evm-rpc 31337=URL --evm-poll-ms 200 --policy-freshness-ms 2000`), and one
// QuorumClient (default hedge) with a publisher and a player Session in this process. One study,
// one chain, one quorum, in this order:
//   recover.latency_3of5_evm            warm sequential recovers of a content published with
//                                       the pass policy (the player holds the pass), measured
//   recover.latency_3of5_open_same_run  in alternating blocks with the same on an `open` content,
//                                       so the ratio of their medians is from one run, with the
//                                       nodes' policy-cache misses over the measured recovers;
//   policy.effective_ms grant / revoke  from a mined grant (revoke) of the pass to the first
//                                       recover that succeeds (is refused ACCESS_DENIED).
// test/perf/README.md says what each figure includes.
import { randomBytes } from 'node:crypto';
import { getAddress, type Address } from 'viem';
import { DEV_CHAIN_NODE_FLAGS, passPolicy } from '../../cli/commands/dev-chain.ts';
import { ANVIL_DEFAULT_CHAIN_ID, startAnvil, type Anvil } from '../../cli/dev-chain/anvil.ts';
import {
  deployDevChain,
  grantPass,
  revokePass,
  type PassTransaction,
} from '../../cli/dev-chain/deploy.ts';
import {
  QuorumClient,
  Session,
  walletFromPrivateKey,
  type WalletSigner,
} from '../../client/index.ts';
import { ErrorCode, isQkmsError, type AccessPolicy, type Manifest } from '../../protocol/index.ts';
import { freePort } from '../support/quorum.ts';
import { equal } from './fixtures.ts';
import {
  check,
  distribution,
  latencies,
  type BenchResult,
  type Scenario,
  type Study,
  type StudyContext,
} from './harness.ts';
import { sequential, type Call, type LoadRun } from './load.ts';
import { Quorum, ROOMY_RATES } from './quorum-processes.ts';

const NODES = 5;
const THRESHOLD = 3;
/** Recovers before measuring, per content: recover.bench.ts's WARMUP_RECOVERS (not exported). */
const WARMUP_RECOVERS = 50;
/** Measured recovers, per content: recover.bench.ts's LATENCY_RECOVERS (not exported). */
const LATENCY_RECOVERS = 500;
/**
 * The two contents' measured recovers alternate in blocks of this many, so that whatever drifts
 * over the run (LevelDB growing by a nonce and a custody record per recover, compactions, the
 * JIT) weighs on both alike and the ratio of their medians does not depend on which went first.
 */
const BLOCK_RECOVERS = 50;
/** The dev quorum's chain flags (qkms quorum up), so the figures are what `npm start` gives. */
const NODE_FLAGS: readonly string[] = DEV_CHAIN_NODE_FLAGS;
/** How often each node asks the chain for its head (and brings its cached reads to it). */
const EVM_POLL_MS = Number(NODE_FLAGS[NODE_FLAGS.indexOf('--evm-poll-ms') + 1]);
/** Grant-then-revoke rounds, each on a freshly published content. */
const EFFECTIVE_ROUNDS = 20;
/** A change not felt within this fails the study: it is 100 poll intervals. */
const EFFECTIVE_TIMEOUT_MS = 10_000;
const HOUR_MS = 3_600_000;

const NAME = {
  evm: 'recover.latency_3of5_evm',
  open: 'recover.latency_3of5_open_same_run',
  effective: 'policy.effective_ms',
} as const;

/** The evm row's extra fields, in --json only (the table's columns are report.ts's). */
interface EvmLatencyResult extends BenchResult {
  /** This row's p50_ms over recover.latency_3of5_open_same_run's, same run. */
  readonly p50_vs_open: number;
  /** qkms_policy_cache_lookups_total{result="miss"} grown over the measured run, all 5 nodes. */
  readonly policy_cache_misses: number;
  /** The same for result="hit": the lookups that did happen, served from the cache. */
  readonly policy_cache_hits: number;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const ms1 = (x: number | undefined): string => (x ?? 0).toFixed(1);

function session(
  quorum: Quorum,
  wallet: WalletSigner,
  actions: readonly ('publish' | 'recover')[],
): Promise<Session> {
  return Session.create({
    wallet,
    nodeSet: quorum.files.nodeSet,
    capabilities: { actions, content: 'all' },
    lifetimeMs: HOUR_MS,
  });
}

/** A node's policy-cache lookups so far, by result (0 before the first: no sample yet). */
async function cacheLookups(metricsUrl: string): Promise<{ hit: number; miss: number }> {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  const count = (result: string): number =>
    Number(
      new RegExp(`^qkms_policy_cache_lookups_total\\{result="${result}"\\} (\\S+)$`, 'm').exec(
        text,
      )?.[1] ?? 0,
    );
  return { hit: count('hit'), miss: count('miss') };
}

/** Every running node's lookups, by index. */
async function allLookups(quorum: Quorum): Promise<Map<number, { hit: number; miss: number }>> {
  const entries = await Promise.all(
    [...quorum.nodes].map(
      async ([index, node]) => [index, await cacheLookups(node.metricsUrl)] as const,
    ),
  );
  return new Map(entries);
}

/** Runs of the same call, one after another, as one: latencies joined, times added. */
function joinRuns(runs: readonly LoadRun[]): LoadRun {
  const first = runs.find((r) => r.firstError !== undefined)?.firstError;
  return {
    latencies: runs.flatMap((r) => r.latencies),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    elapsedMs: runs.reduce((ms, r) => ms + r.elapsedMs, 0),
    ...(first === undefined ? {} : { firstError: first }),
  };
}

/** `count` sequential calls of each of a and b, in alternating blocks of `block`, a first. */
async function alternating(
  count: number,
  block: number,
  a: Call,
  b: Call,
): Promise<{ a: LoadRun; b: LoadRun }> {
  const runsA: LoadRun[] = [];
  const runsB: LoadRun[] = [];
  for (let done = 0; done < count; done += block) {
    const n = Math.min(block, count - done);
    runsA.push(await sequential(n, a));
    runsB.push(await sequential(n, b));
  }
  return { a: joinRuns(runsA), b: joinRuns(runsB) };
}

function describe(run: LoadRun): string {
  const { p50_ms, p99_ms } = latencies(run.latencies.length > 0 ? run.latencies : [0]);
  const errors =
    run.errors === 0
      ? ''
      : `, ${run.errors} errors (first: ${run.firstError instanceof Error ? run.firstError.message : String(run.firstError)})`;
  return `p50 ${ms1(p50_ms)} ms, p99 ${ms1(p99_ms)} ms${errors}`;
}

function latencyRow(name: string, run: LoadRun): BenchResult {
  check(run.latencies.length > 0, `${name}: some recover succeeded`);
  return {
    name,
    impl: 'qkms',
    ...distribution(run.latencies),
    per_s: round((run.latencies.length * 1000) / run.elapsedMs, 1),
    ...(run.errors === 0 ? {} : { errors: run.errors }),
  };
}

/** A content the player recovers, and how: the published CEK is checked on every success. */
interface Content {
  readonly manifest: Manifest;
  readonly recover: Call;
}

/** What one recover attempt came to. */
type Outcome = 'granted' | 'denied';

/** Recovers in a tight loop until one comes to `want`; other failures are counted, not fatal. */
async function firstRecover(
  content: Content,
  want: Outcome,
): Promise<{ at: number; attempts: number; attemptMs: number[]; others: number }> {
  const attemptMs: number[] = [];
  let others = 0;
  const deadline = performance.now() + EFFECTIVE_TIMEOUT_MS;
  for (;;) {
    const started = performance.now();
    let outcome: Outcome | undefined;
    try {
      await content.recover();
      outcome = 'granted';
    } catch (e) {
      if (!isQkmsError(e)) throw e;
      if (e.code === ErrorCode.ACCESS_DENIED) outcome = 'denied';
    }
    const at = performance.now();
    attemptMs.push(at - started);
    if (outcome === want) return { at, attempts: attemptMs.length, attemptMs, others };
    if (outcome === undefined) others += 1;
    if (at > deadline)
      throw new Error(`bench: no recover ${want} within ${EFFECTIVE_TIMEOUT_MS} ms of the change`);
  }
}

interface Harness {
  readonly quorum: Quorum;
  readonly client: QuorumClient;
  readonly publisher: Session;
  readonly player: Session;
  readonly playerAddress: Address;
  readonly rpcUrl: string;
  readonly accessPass: Address;
  readonly policy: AccessPolicy;
}

async function publish(h: Harness, policy: AccessPolicy): Promise<Content> {
  const published = await h.client.publish(h.publisher, { policy });
  check(
    published.receipts.every((r) => r.outcome === 'ok'),
    `every node stored the published share (${published.receipts.map((r) => r.outcome).join(', ')})`,
  );
  const manifest = published.manifest;
  const cek = published.cek.slice();
  published.cek.fill(0);
  return {
    manifest,
    recover: async () => {
      const got = await h.client.recover(manifest, h.player);
      const same = equal(got.cek, cek);
      got.cek.fill(0);
      if (!same) throw new Error('recover returned another CEK');
    },
  };
}

async function latencyRows(context: StudyContext, h: Harness): Promise<BenchResult[]> {
  const open = await publish(h, { kind: 'open' });
  const evm = await publish(h, h.policy);
  await grantPass(h.rpcUrl, h.accessPass, evm.manifest.body.contentId, h.playerAddress);
  // Until t nodes have polled the grant; the warm-up then fills every asked node's cache.
  await firstRecover(evm, 'granted');
  await sequential(WARMUP_RECOVERS, evm.recover);
  await sequential(WARMUP_RECOVERS, open.recover);

  const before = await allLookups(h.quorum);
  const runs = await alternating(LATENCY_RECOVERS, BLOCK_RECOVERS, evm.recover, open.recover);
  const after = await allLookups(h.quorum);
  const grown = (result: 'hit' | 'miss'): number[] =>
    [...after].map(([index, now]) => now[result] - (before.get(index)?.[result] ?? 0));
  const misses = grown('miss');
  const hits = grown('hit');
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

  const openRow = latencyRow(NAME.open, runs.b);
  const evmBase = latencyRow(NAME.evm, runs.a);
  const ratio = (evmBase.p50_ms ?? 0) / (openRow.p50_ms ?? 1);
  const evmRow: EvmLatencyResult = {
    ...evmBase,
    p50_vs_open: round(ratio, 3),
    policy_cache_misses: sum(misses),
    policy_cache_hits: sum(hits),
  };
  context.progress(`${NAME.evm}: ${LATENCY_RECOVERS} recovers, ${describe(runs.a)}`);
  context.progress(`${NAME.open}: ${LATENCY_RECOVERS} recovers, ${describe(runs.b)}`);
  context.progress(
    `p50 evm / open = ${ratio.toFixed(3)}; policy cache over the measured run, nodes 1-${NODES}:` +
      ` misses ${misses.join(', ')}, hits ${hits.join(', ')}`,
  );
  return [evmRow, openRow];
}

/** A pause of up to one poll interval, so a transaction lands at any point of the nodes' polls. */
const jitter = (): Promise<void> => sleep(Math.random() * EVM_POLL_MS);

async function effectiveRows(context: StudyContext, h: Harness): Promise<BenchResult[]> {
  const grant: number[] = [];
  const revoke: number[] = [];
  const sendMs: number[] = [];
  const attempts: number[] = [];
  const attemptMs: number[] = [];
  let others = 0;
  const timed = async (
    send: () => Promise<PassTransaction>,
    content: Content,
    want: Outcome,
  ): Promise<number> => {
    await jitter();
    const sent = performance.now();
    await send();
    // anvil mines the transaction as it arrives: the receipt is the block.
    const mined = performance.now();
    const first = await firstRecover(content, want);
    sendMs.push(mined - sent);
    attempts.push(first.attempts);
    attemptMs.push(...first.attemptMs);
    others += first.others;
    return first.at - mined;
  };

  const before = await allLookups(h.quorum);
  for (let i = 0; i < EFFECTIVE_ROUNDS; i++) {
    const content = await publish(h, h.policy);
    const contentId = content.manifest.body.contentId;
    // The first recover reads the (empty) balance cold; from then on the asked nodes keep it.
    const cold = await firstRecover(content, 'denied');
    check(cold.attempts === 1, 'a recover without the pass is refused ACCESS_DENIED');
    grant.push(
      await timed(
        () => grantPass(h.rpcUrl, h.accessPass, contentId, h.playerAddress),
        content,
        'granted',
      ),
    );
    revoke.push(
      await timed(
        () => revokePass(h.rpcUrl, h.accessPass, contentId, h.playerAddress),
        content,
        'denied',
      ),
    );
  }
  const after = await allLookups(h.quorum);
  const misses = [...after].map(([i, now]) => now.miss - (before.get(i)?.miss ?? 0));

  const med = (xs: readonly number[]): string => ms1(latencies(xs).p50_ms);
  context.progress(
    `${NAME.effective}: ${EFFECTIVE_ROUNDS} grants p50 ${med(grant)} ms (max ${ms1(Math.max(...grant))}),` +
      ` ${EFFECTIVE_ROUNDS} revokes p50 ${med(revoke)} ms (max ${ms1(Math.max(...revoke))});` +
      ` transaction send to receipt p50 ${med(sendMs)} ms; recovers until the change p50 ${med(attempts)}` +
      ` (max ${Math.max(...attempts)}), one attempt p50 ${med(attemptMs)} ms;` +
      ` ${others} attempts failed otherwise; cache misses, nodes 1-${NODES}: ${misses.join(', ')}`,
  );
  return [
    { name: NAME.effective, impl: 'grant', ...latencies(grant) },
    { name: NAME.effective, impl: 'revoke', ...latencies(revoke) },
  ];
}

/**
 * anvil goes with the nodes when the bench is interrupted: Quorum kills its nodes and raises the
 * signal again, which ends this process without its 'exit' handlers (anvil's among them).
 */
function stopOnInterrupt(anvil: Anvil): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    void anvil.stop();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function runStudy(
  context: StudyContext,
  quorum: Quorum,
  anvil: Anvil,
): Promise<BenchResult[]> {
  const chain = await deployDevChain(anvil.url);
  const policy = passPolicy({
    chainId: chain.chainId,
    rpc: anvil.url,
    accessPass: chain.accessPass,
  });
  await quorum.start(Array.from({ length: NODES }, (_, i) => i + 1));
  context.progress(`anvil on ${anvil.url}, access pass ${chain.accessPass}; ${NODES} nodes up`);

  const playerWallet = walletFromPrivateKey(randomBytes(32).toString('hex'));
  const client = await QuorumClient.create({ nodeSet: quorum.files.nodeSet });
  const publisher = await session(quorum, walletFromPrivateKey(randomBytes(32).toString('hex')), [
    'publish',
    'recover',
  ]);
  const player = await session(quorum, playerWallet, ['recover']);
  try {
    const h: Harness = {
      quorum,
      client,
      publisher,
      player,
      playerAddress: getAddress(playerWallet.address),
      rpcUrl: anvil.url,
      accessPass: chain.accessPass,
      policy,
    };
    const rows: BenchResult[] = [];
    if (context.wants(NAME.evm) || context.wants(NAME.open))
      rows.push(...(await latencyRows(context, h)));
    if (context.wants(NAME.effective)) rows.push(...(await effectiveRows(context, h)));
    return rows.filter((row) => context.wants(row.name));
  } finally {
    publisher.destroy();
    player.destroy();
    await client.close();
  }
}

const policyStudy: Study = {
  names: Object.values(NAME),
  run: async (context) => {
    const anvil = await startAnvil({ port: await freePort(), chainId: ANVIL_DEFAULT_CHAIN_ID });
    const release = stopOnInterrupt(anvil);
    try {
      const quorum = await Quorum.create(NODES, THRESHOLD, [
        ...ROOMY_RATES,
        ...['--evm-rpc', `${anvil.chainId}=${anvil.url}`],
        ...NODE_FLAGS,
      ]);
      try {
        return await runStudy(context, quorum, anvil);
      } finally {
        await quorum.close();
      }
    } finally {
      release();
      await anvil.stop();
    }
  },
};

export const policyBenches: readonly Scenario[] = [policyStudy];
