// Long file: the fault scenarios share one anvil, one quorum and the same few helpers.
// Access conditions when things go wrong (issue 16, decision 0015), against a
// real anvil and five in-process nodes (t = 3): conditions that are
// malformed, oversized, too deep or name a chain no node follows are refused
// at publish (by the client before sending, and by every node given a
// hand-built frame), so no node ever holds such content; an endpoint that
// lies is outvoted by --evm-rpc-quorum 2 (POLICY_UNAVAILABLE, never a share),
// and one that hangs holds nothing up; and with the RPC stopped nothing that
// needs the chain is served — every node refuses POLICY_UNAVAILABLE once the
// freshness bound has passed, says so on /readyz and in its metrics, and
// records the refusal in its custody audit log — until the chain returns.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Address } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from '../../cli/dev-chain/anvil.ts';
import { deployDevChain, grantPass } from '../../cli/dev-chain/deploy.ts';
import { passPolicy, type DevChainConfig } from '../../cli/commands/dev-chain.ts';
import { QuorumClient, walletFromPrivateKey } from '../../client/index.ts';
import type { Session } from '../../client/index.ts';
import {
  DomainTag,
  ErrorCode,
  MAX_FRAME_BYTES,
  POLICY_LIMITS,
  QkmsError,
  concatBytes,
  createManifest,
  decodeCanonical,
  encodeCanonical,
  policyToCbor,
  policyToJson,
  requireNativeSuite,
  tagBytes,
  type AccessPolicy,
  type CborValue,
  type EvmCallCondition,
  type Manifest,
  dealKey,
} from '../../protocol/internal.ts';
import { runCli } from '../support/cli.ts';
import {
  playerSession,
  signedRecoverFrame,
  startQuorum,
  stopQuorum,
  type Quorum,
} from '../support/in-process.ts';
import { hexToBytes, sessionFixture } from '../support/protocol-fixture.ts';
import {
  ADMITTED,
  BOUND_MS,
  CHAIN_ID,
  attemptText,
  chainArgs,
  expectRefusedByAll,
  within,
} from '../support/chain-quorum.ts';
import { ask, createClient, freePort } from '../support/quorum.ts';
import { multicallAnswers, startRpcProxy, type RpcProxy } from '../support/rpc-proxy.ts';
import { publishFrame } from '../support/service-fixture.ts';

const suite = requireNativeSuite();
const NODES = [1, 2, 3, 4, 5] as const;

/** Node flags: each URL an endpoint of chain 31337, `quorum` of them must agree, short intervals. */
let dir: string;
let anvilPort: number;
let anvil: Anvil;
let chain: DevChainConfig;
let q: Quorum;
let client: QuorumClient;
const sessions: Session[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qkms-access-faults-'));
  anvilPort = await freePort();
  anvil = await startAnvil({ port: anvilPort, statePath: join(dir, 'anvil.json') });
  const deployed = await deployDevChain(anvil.url);
  chain = { chainId: deployed.chainId, rpc: anvil.url, accessPass: deployed.accessPass };
  q = await startQuorum(5, 3, { node: () => ({ args: chainArgs([anvil.url]) }) });
  client = await QuorumClient.create({ nodeSet: q.files.nodeSet, hedge: 2 });
  await chainsFresh(q);
});

afterAll(async () => {
  for (const s of sessions) s.destroy();
  await client.close();
  await stopQuorum(q);
  await anvil.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pass = (): AccessPolicy => passPolicy(chain);
const accessPass = (): Address => chain.accessPass as Address;
const publisherOnly: AccessPolicy = { kind: 'publisher-only' };

/** A fresh wallet's session for `quorum`. */
async function newPlayer(quorum: Quorum = q): Promise<Session> {
  const session = await playerSession(
    quorum.files.nodeSet,
    walletFromPrivateKey(generatePrivateKey()),
  );
  sessions.push(session);
  return session;
}

async function publish(
  publisher: Session,
  policy: AccessPolicy,
  by: QuorumClient = client,
): Promise<Manifest> {
  const { manifest, receipts } = await by.publish(publisher, { policy });
  expect(receipts.map((r) => r.outcome)).toEqual(Array(5).fill('ok'));
  return manifest;
}

/** A recover as text: 'admitted', or each node's rejection code (or outcome), in node order. */
const attempt = (manifest: Manifest, player: Session, by = client): Promise<string> =>
  attemptText(by, manifest, player);
const expectAdmitted = async (manifest: Manifest, player: Session, by = client): Promise<void> => {
  expect(await attempt(manifest, player, by)).toBe(ADMITTED);
};
/** Every one of the five nodes answered `code`. */
const expectRefused = (
  manifest: Manifest,
  player: Session,
  code: ErrorCode,
  by = client,
): Promise<void> => expectRefusedByAll(by, manifest, player, code);

async function readyz(
  quorum: Quorum,
  index: number,
): Promise<{ status: number; failing: string[]; reasons: Record<string, string> }> {
  const node = quorum.nodes[index - 1]!;
  const res = await fetch(`http://${node.http.host}:${node.http.port}/readyz`);
  const body = (await res.json()) as { failing: string[]; reasons?: Record<string, string> };
  return { status: res.status, failing: body.failing, reasons: body.reasons ?? {} };
}

/** Waits until no node of `quorum` lists 'chains' among its failing readiness checks. */
async function chainsFresh(quorum: Quorum): Promise<void> {
  await within(10_000, performance.now(), 'fresh '.repeat(5).trim(), async () =>
    (await Promise.all(NODES.map((i) => readyz(quorum, i))))
      .map((r) => r.reasons['chains'] ?? 'fresh')
      .join(' '),
  );
}

async function metrics(quorum: Quorum, index: number): Promise<string> {
  const node = quorum.nodes[index - 1]!;
  return (await fetch(`http://${node.http.host}:${node.http.port}/metrics`)).text();
}

/** Publish requests the nodes of the shared quorum have seen (answered or not), from their metrics. */
async function publishesSeen(): Promise<number> {
  let total = 0;
  for (const node of q.nodes) {
    const { values } = await node!.metrics.requestDuration.get();
    for (const v of values)
      if (
        v.metricName === 'qkms_request_duration_seconds_count' &&
        v.labels['protocol'] === 'publish'
      )
        total += v.value;
  }
  return total;
}

describe('conditions refused at publish', () => {
  const deep = (depth: number): AccessPolicy =>
    depth === 1 ? { kind: 'open' } : { kind: 'not', condition: deep(depth - 1) };
  const hasAccess = (params: string[]): EvmCallCondition => ({
    kind: 'evm-call',
    chain: CHAIN_ID,
    contract: hexToBytes(chain.accessPass),
    function: 'hasAccess(bytes32,address)',
    params,
    returns: 'bool',
    comparator: '==',
    value: 1n,
  });

  it('by the client, before anything is sent: too deep, oversized (conditions, chain reads, a signature) and malformed trees are INVALID_ARGUMENT', async () => {
    const publisher = await newPlayer();
    const signature = `${'f'.repeat(64)}(${Array(8).fill('address').join(',')})`;
    const refused: [string, AccessPolicy][] = [
      ['too deep', deep(POLICY_LIMITS.maxDepth + 1)],
      ['17 conditions', { kind: 'or', conditions: Array(17).fill({ kind: 'open' }) }],
      ['9 chain reads', { kind: 'or', conditions: Array(9).fill(pass()) }],
      [
        'a 129-byte signature',
        { ...hasAccess(Array(8).fill(':userAddress')), function: signature },
      ],
      ['an unknown kind', { kind: 'everyone' } as unknown as AccessPolicy],
      ['an and of one', { kind: 'and', conditions: [pass()] }],
      [
        'erc1155 without a token id',
        {
          kind: 'evm-balance',
          chain: CHAIN_ID,
          standard: 'erc1155',
          contract: hexToBytes(chain.accessPass),
          comparator: '>=',
          value: 1n,
        },
      ],
      ['a bool compared with 2', { ...hasAccess([':contentId', ':userAddress']), value: 2n }],
      [':userAddress as a bytes32', hasAccess([':userAddress', ':userAddress'])],
      ['a window that ends first', { kind: 'time', notBefore: 2_000, notAfter: 1_000 }],
    ];
    expect(signature).toHaveLength(POLICY_LIMITS.maxFunctionBytes + 1);
    const seen = await publishesSeen();
    for (const [what, policy] of refused)
      await expect(client.publish(publisher, { policy }), what).rejects.toMatchObject({
        code: ErrorCode.INVALID_ARGUMENT,
      });
    expect(await publishesSeen()).toBe(seen);
    // At the limit, the same shape is accepted.
    await publish(publisher, deep(POLICY_LIMITS.maxDepth));
  });

  it('by the client: a field the condition kind does not have (erc721 `tokenID` for `tokenId`) is INVALID_ARGUMENT', async () => {
    // Dropping the unknown field would turn "owns token 5" (ownerOf(5)) into "holds any token
    // of the contract" (balanceOf(wallet) >= 1). Nodes refuse unknown fields (the CBOR
    // decoder, next test); the client refuses them before anything is sent.
    const publisher = await newPlayer();
    const typo = {
      kind: 'evm-balance',
      chain: CHAIN_ID,
      standard: 'erc721',
      contract: hexToBytes(chain.accessPass),
      tokenID: 5n,
      comparator: '>=',
      value: 1n,
    } as unknown as AccessPolicy;
    const outcome = await client.publish(publisher, { policy: typo }).then(
      ({ manifest, receipts }) =>
        `published ${JSON.stringify(policyToJson(manifest.body.policy))}, receipts ${receipts.map((r) => r.outcome).join(' ')}`,
      (e: unknown) => (e instanceof QkmsError ? e.code : String(e)),
    );
    expect(outcome).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  let fixtureLabel = 40;
  /**
   * Publish frames for every node of a manifest whose policy is `policy` as
   * CBOR, built by hand and signed by the fixture session (the client would
   * refuse to build it); and the content id.
   */
  async function framesWithPolicy(
    policy: CborValue,
  ): Promise<{ contentId: Uint8Array; frames: Uint8Array[] }> {
    const nodeSet = q.files.nodeSet;
    const fixture = await sessionFixture(suite, nodeSet, {
      issuedAt: Date.now() - 1000,
      label: fixtureLabel++,
    });
    const cek = suite.randomBytes(32);
    const contentId = suite.randomBytes(32);
    const { shares, commitments, keyScalar } = dealKey(3, 5);
    const manifest = createManifest(suite, fixture.session, {
      contentId,
      nodeSetId: nodeSet.id,
      threshold: 3,
      shares: 5,
      commitments,
      keyScalar,
      cek,
      publisher: hexToBytes(fixture.wallet.address),
      policy: { kind: 'open' },
      issuedAt: Date.now(),
      delegation: fixture.delegation,
    });
    type Frame = { readonly manifest: { readonly body: Record<string, CborValue> } };
    const frames = await Promise.all(
      shares.map(async (share, i) => {
        const bytes = await publishFrame(q.files, manifest, share, i + 1);
        const frame = decodeCanonical(bytes, MAX_FRAME_BYTES.publish) as Frame;
        const body = { ...frame.manifest.body, policy };
        const sig = fixture.session.sign(
          concatBytes(tagBytes(DomainTag.MANIFEST_SIGNATURE), encodeCanonical(body)),
        );
        return encodeCanonical({ ...frame, manifest: { ...frame.manifest, body, sig } });
      }),
    );
    return { contentId, frames };
  }

  it('by every node, given hand-built frames: a tree too deep, too large, with an unknown field or a non-canonical number is MALFORMED, and no node holds the content (UNKNOWN_CONTENT at recover)', async () => {
    const cborDeep = (depth: number): CborValue =>
      depth === 1 ? { kind: 'open' } : { kind: 'not', condition: cborDeep(depth - 1) };
    const leadingZero = { ...(policyToCbor(pass()) as Record<string, CborValue>) };
    leadingZero['value'] = new Uint8Array([0, 1]);
    const cases: [string, CborValue][] = [
      ['too deep', cborDeep(POLICY_LIMITS.maxDepth + 1)],
      ['17 conditions', { kind: 'or', conditions: Array(17).fill({ kind: 'open' }) }],
      ['an unknown field', { kind: 'open', note: 'admit everyone' }],
      ['a uint with a leading zero byte', leadingZero],
    ];
    const libp2p = await createClient();
    const player = await newPlayer();
    try {
      // The same construction with an acceptable tree is stored: the frames differ only in the policy.
      const control = await framesWithPolicy(policyToCbor(deep(POLICY_LIMITS.maxDepth)));
      for (const i of NODES)
        expect(
          (await ask(libp2p, q.files, i, 'publish', control.frames[i - 1]!, 'receipt')).type,
        ).toBe('receipt');
      for (const [what, policy] of cases) {
        const { contentId, frames } = await framesWithPolicy(policy);
        for (const i of NODES) {
          const answer = await ask(libp2p, q.files, i, 'publish', frames[i - 1]!, 'receipt');
          expect({ what, i, answer }).toEqual({
            what,
            i,
            answer: { type: 'reject', code: ErrorCode.MALFORMED },
          });
          const recovered = await ask(
            libp2p,
            q.files,
            i,
            'recover',
            await signedRecoverFrame(player, i, contentId),
            'share',
          );
          expect({ what, i, recovered }).toMatchObject({
            what,
            i,
            recovered: { type: 'reject', code: ErrorCode.UNKNOWN_CONTENT },
          });
        }
      }
    } finally {
      await libp2p.stop();
    }
  });

  it('a condition on chain 999, which no node follows, is POLICY_UNSUPPORTED at every node at publish, even under an or that needs no chain; no node holds it (UNKNOWN_CONTENT)', async () => {
    const [publisher, player] = [await newPlayer(), await newPlayer()];
    const elsewhere = passPolicy({ ...chain, chainId: 999 });
    for (const policy of [elsewhere, { kind: 'or', conditions: [{ kind: 'open' }, elsewhere] }]) {
      const { manifest, receipts } = await client.publish(publisher, {
        policy: policy as AccessPolicy,
      });
      expect(receipts.map((r) => [r.outcome, r.code])).toEqual(
        Array(5).fill(['rejected', ErrorCode.POLICY_UNSUPPORTED]),
      );
      await expectRefused(manifest, player, ErrorCode.UNKNOWN_CONTENT);
      await expectRefused(manifest, publisher, ErrorCode.UNKNOWN_CONTENT);
    }
  });
});

describe('endpoints that lie or hang', () => {
  let liar: RpcProxy;
  const proxies: RpcProxy[] = [];
  const started: { quorum: Quorum; client: QuorumClient }[] = [];

  beforeAll(async () => {
    liar = await startRpcProxy({ target: anvil.url, rewrite: multicallAnswers(1n) });
    proxies.push(liar);
  });

  afterAll(async () => {
    for (const { quorum, client: c } of started) {
      await c.close();
      await stopQuorum(quorum);
    }
    for (const proxy of proxies) await proxy.stop();
  });

  /** Five more nodes following `urls` with k = `k`, fresh, and a client of theirs. */
  async function quorumOn(
    urls: readonly string[],
    k: number,
    extra: readonly string[] = [],
  ): Promise<{ quorum: Quorum; client: QuorumClient }> {
    const quorum = await startQuorum(5, 3, {
      node: () => ({ args: [...chainArgs(urls, k), ...extra] }),
    });
    const added = {
      quorum,
      client: await QuorumClient.create({ nodeSet: quorum.files.nodeSet, hedge: 2 }),
    };
    started.push(added);
    await chainsFresh(quorum);
    return added;
  }

  it('with anvil and a proxy that answers 1 to every multicall read, and --evm-rpc-quorum 2: a wallet without a pass is refused POLICY_UNAVAILABLE at every node, never served; a holder, on whom both agree, is admitted', async () => {
    const { quorum, client: liars } = await quorumOn([anvil.url, liar.url], 2);
    const [publisher, holder, stranger] = [
      await newPlayer(quorum),
      await newPlayer(quorum),
      await newPlayer(quorum),
    ];
    const manifest = await publish(publisher, pass(), liars);
    await grantPass(anvil.url, accessPass(), manifest.body.contentId, holder.address as Address);
    const calls = liar.calls();
    for (let round = 0; round < 3; round++)
      await expectRefused(manifest, stranger, ErrorCode.POLICY_UNAVAILABLE, liars);
    expect(liar.calls()).toBeGreaterThan(calls);
    await within(BOUND_MS, performance.now(), ADMITTED, () => attempt(manifest, holder, liars));
    for (const i of NODES)
      expect(await metrics(quorum, i)).toMatch(
        /^qkms_policy_rpc_disagreements_total\{chain="31337"\} [1-9]/m,
      );
  });

  it('with the same proxy alone and --evm-rpc-quorum 1, that wallet is admitted: the proxy does lie', async () => {
    const { quorum, client: fooled } = await quorumOn([liar.url], 1);
    const [publisher, stranger] = [await newPlayer(quorum), await newPlayer(quorum)];
    const manifest = await publish(publisher, pass(), fooled);
    await expectAdmitted(manifest, stranger, fooled);
  });

  it('with anvil and a proxy that holds every call 3 s (a hung endpoint), --evm-rpc-quorum 1 and a 250 ms RPC deadline: every node stays fresh, names the hung endpoint down, and a grant admits within the freshness bound', async () => {
    // docs/operations.md 9.5: a hung endpoint stretches a poll by about two deadlines,
    // which the bound (1.5 s) exceeds with the poll (100 ms) added.
    const hung = await startRpcProxy({ target: anvil.url, delayMs: 3_000 });
    proxies.push(hung);
    const { quorum, client: patient } = await quorumOn([anvil.url, hung.url], 1, [
      '--evm-rpc-deadline-ms',
      '250',
    ]);
    const [publisher, holder] = [await newPlayer(quorum), await newPlayer(quorum)];
    const manifest = await publish(publisher, pass(), patient);
    await expectRefused(manifest, holder, ErrorCode.ACCESS_DENIED, patient);
    await grantPass(anvil.url, accessPass(), manifest.body.contentId, holder.address as Address);
    await within(BOUND_MS, performance.now(), ADMITTED, () => attempt(manifest, holder, patient));
    for (const i of NODES) {
      expect((await readyz(quorum, i)).failing).not.toContain('chains');
      const text = await metrics(quorum, i);
      expect(text).toMatch(/^qkms_policy_rpc_up\{chain="31337",endpoint="1"\} 1$/m);
      expect(text).toMatch(/^qkms_policy_rpc_up\{chain="31337",endpoint="2"\} 0$/m);
    }
  });
});

describe('the RPC stopped, then restarted', () => {
  /** The node's custody audit log, read with `qkms audit tail --json` (from a snapshot copy). */
  async function auditTail(index: number): Promise<{ kind: string; code?: string; at: number }[]> {
    const run = await runCli(
      ['audit', 'tail', '--dir', q.files.dirs[index - 1]!, '-n', '1000', '--json'],
      {
        cwd: q.files.root,
      },
    );
    expect(run.code).toBe(0);
    return run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; code?: string; at: number });
  }

  it('every node refuses POLICY_UNAVAILABLE once the freshness bound has passed, /readyz fails "chains", qkms_policy_rpc_up is 0 and the refusal is in the custody audit log; not() admits nobody, a publisher-only branch still serves; anvil back on its port and state resumes service', async () => {
    const [publisher, holder, stranger] = [await newPlayer(), await newPlayer(), await newPlayer()];
    const passed = await publish(publisher, pass());
    const negated = await publish(publisher, { kind: 'not', condition: pass() });
    const either = await publish(publisher, { kind: 'or', conditions: [publisherOnly, pass()] });
    await grantPass(anvil.url, accessPass(), passed.body.contentId, holder.address as Address);
    await within(BOUND_MS, performance.now(), ADMITTED, () => attempt(passed, holder));
    await expectAdmitted(negated, stranger);

    await anvil.stop();
    const stoppedAt = Date.now();
    // From here no node holds state confirmed less than the bound ago.
    await sleep(BOUND_MS);
    await expectRefused(passed, holder, ErrorCode.POLICY_UNAVAILABLE);
    // Missing state is unknown, never false: not(pass) does not let the stranger in.
    await expectRefused(negated, stranger, ErrorCode.POLICY_UNAVAILABLE);
    // or(publisher-only, pass) is true for the publisher whatever the chain says.
    await expectAdmitted(either, publisher);

    const ready = await readyz(q, 1);
    expect(ready.status).toBe(503);
    expect(ready.failing).toContain('chains');
    expect(ready.reasons['chains']).toMatch(
      /^chain 31337: state \d+ s old \(bound 1\.5 s\); 0 of 1 endpoints answering/,
    );
    expect(await metrics(q, 1)).toMatch(/^qkms_policy_rpc_up\{chain="31337",endpoint="1"\} 0$/m);
    // Each node writes its audit record after its refusal is sent: poll for them.
    await within(5_000, performance.now(), 'recorded '.repeat(5).trim(), async () => {
      const logs = await Promise.all(NODES.map(auditTail));
      return logs
        .map((records) =>
          records.some(
            (r) =>
              r.kind === 'recover-refused' && r.code === 'POLICY_UNAVAILABLE' && r.at >= stoppedAt,
          )
            ? 'recorded'
            : 'missing',
        )
        .join(' ');
    });

    anvil = await startAnvil({ port: anvilPort, statePath: join(dir, 'anvil.json') });
    await within(5_000, performance.now(), ADMITTED, () => attempt(passed, holder));
    await expectAdmitted(negated, stranger);
    await chainsFresh(q);
    expect(await metrics(q, 1)).toMatch(/^qkms_policy_rpc_up\{chain="31337",endpoint="1"\} 1$/m);
  });
});
