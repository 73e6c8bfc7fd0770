// ChainFollower, through PolicyGate, against a real anvil started here on a
// free loopback port and behind JSON-RPC proxies written below: honest
// (counting eth_calls), lying (every aggregate3 answer becomes "success,
// uint256(1)"), slow, or padded past the size cap. Claims: carried balances,
// staleness and recovery, idle entries, k-of-n agreement, the cold-read cap.
// Polls are driven by hand and the clock is injected (Date.now plus what a
// test skips), so no test sleeps on the follower.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import {
  createTestClient,
  decodeFunctionResult,
  encodeFunctionResult,
  http,
  parseAbi,
  type Address,
  type Hex,
} from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from '../../cli/dev-chain/anvil.ts';
import { deployDevChain, grantPass, type DevChainDeployment } from '../../cli/dev-chain/deploy.ts';
import {
  CONTENT_ID,
  ErrorCode,
  USER_ADDRESS,
  fromHex,
  isQkmsError,
  type AccessPolicy,
} from '../../protocol/internal.ts';
import { freePort } from '../../test/support/quorum.ts';
import { silentLogger } from '../log.ts';
import type { ChainSettings } from './chain.ts';
import { PolicyGate } from './gate.ts';
import { createPolicyMetrics } from './metrics.ts';

const CHAIN = 31337;
const CONTENT = Uint8Array.from({ length: 32 }, (_, i) => 0xc0 + i);
const AGGREGATE3 = {
  abi: parseAbi([
    'function aggregate3((address target, bool allowFailure, bytes callData)[] calls) payable returns ((bool success, bytes returnData)[] returnData)',
  ]),
  functionName: 'aggregate3',
} as const;
const ONE_WORD: Hex = `0x${'0'.repeat(63)}1`;

let anvil: Anvil;
let pass: DevChainDeployment;
/** The injected clock: real time plus what tests skip forward. */
let skippedMs = 0;
const clock = (): number => Date.now() + skippedMs;

interface ProxyOptions {
  /** Every aggregate3 answer becomes all (true, uint256(1)). */
  readonly lie?: boolean;
  /** eth_call answers wait this long. */
  readonly callDelayMs?: number;
  /** Spaces appended to every answer (still valid JSON). */
  readonly padBytes?: number;
  /** Answers go chunked, without content-length. */
  readonly chunked?: boolean;
}

/** `ethCalls`: eth_calls forwarded so far. */
type Proxy = { readonly url: string; ethCalls: number };

/** Runs `test` with a JSON-RPC proxy in front of anvil, closed afterwards. */
async function withProxy(options: ProxyOptions, test: (proxy: Proxy) => Promise<void>) {
  const server = createHttpServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const headers = { 'content-type': 'application/json' };
      const upstream = await fetch(anvil.url, { method: 'POST', headers, body });
      const answer = (await upstream.json()) as { result?: unknown };
      if ((JSON.parse(body.toString('utf8')) as { method?: unknown }).method === 'eth_call') {
        proxy.ethCalls++;
        if (options.callDelayMs !== undefined) await sleep(options.callDelayMs);
        if (options.lie === true) {
          const real = decodeFunctionResult({ ...AGGREGATE3, data: answer.result as Hex });
          const result = real.map(() => ({ success: true, returnData: ONE_WORD }));
          answer.result = encodeFunctionResult({ ...AGGREGATE3, result });
        }
      }
      const text = JSON.stringify(answer) + ' '.repeat(options.padBytes ?? 0);
      if (options.chunked === true) {
        res.writeHead(200, headers);
        res.write(text.slice(0, 10)); // headers go out now: the rest is chunked
        res.end(text.slice(10));
      } else {
        res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      }
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ethCalls: 0 };
  try {
    await test(proxy);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const SETTINGS: Omit<ChainSettings, 'urls'> = {
  chainId: CHAIN,
  quorum: 1,
  freshnessMs: 1000,
  pollMs: 50,
  deadlineMs: 1000,
  confirmations: 0,
  maxBlockAgeMs: 0,
  maxEntries: 100,
  idleMs: 60_000,
  maxColdReads: 8,
};

function setup(urls: readonly string[], over: Partial<ChainSettings> = {}) {
  const registry = new Registry();
  const gate = new PolicyGate({
    chains: [{ ...SETTINGS, urls, ...over }],
    keccak: keccak_256,
    log: silentLogger,
    clock,
    metrics: createPolicyMetrics(registry),
  });
  const follower = gate.followers[0];
  if (follower === undefined) throw new Error('no follower');
  /** A counter's or gauge's value, summed over its labels. */
  const metric = async (name: string): Promise<number> => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.reduce((sum, v) => sum + v.value, 0);
  };
  return { gate, follower, metric };
}

const addressBytes = (a: string): Uint8Array => fromHex(a.slice(2).toLowerCase());
/** A wallet no test used before: no test sees another's cached reads. */
let nextWallet = 0x30;
const newWallet = (): Address => `0x${(nextWallet++).toString(16).padStart(2, '0').repeat(20)}`;
const mine = () =>
  createTestClient({ mode: 'anvil', transport: http(anvil.url) }).mine({ blocks: 1 });

const passPolicy = (contract: string = pass.accessPass): AccessPolicy => ({
  kind: 'evm-balance',
  chain: CHAIN,
  standard: 'erc1155',
  contract: addressBytes(contract),
  tokenId: CONTENT_ID,
  comparator: '>=',
  value: 1n,
});

interface Decision {
  readonly outcome: 'admitted' | ErrorCode;
  /** Decided synchronously: admit returned no promise. */
  readonly cached: boolean;
  readonly message?: string;
}

async function decide(gate: PolicyGate, policy: AccessPolicy, wallet: string): Promise<Decision> {
  const ctx = {
    wallet: addressBytes(wallet),
    contentId: CONTENT,
    publisher: new Uint8Array(20),
    now: clock(),
  };
  let cached = true;
  try {
    const pending = gate.admit(policy, ctx);
    cached = pending === undefined;
    await pending;
    return { outcome: 'admitted', cached };
  } catch (e) {
    if (!isQkmsError(e)) throw e;
    return { outcome: e.code, cached, message: e.message };
  }
}
const outcome = async (gate: PolicyGate, policy: AccessPolicy, wallet: string) =>
  (await decide(gate, policy, wallet)).outcome;

beforeAll(async () => {
  anvil = await startAnvil({ port: await freePort() });
  pass = await deployDevChain(anvil.url);
});

afterAll(async () => {
  await anvil.stop();
});

describe('ChainFollower freshness', () => {
  it('a balance no transfer names is carried to the next block without an eth_call; one a transfer names is read again', async () => {
    await withProxy({}, async (proxy) => {
      const { gate, follower } = setup([proxy.url]);
      const [wallet, other] = [newWallet(), newWallet()];
      await follower.poll();
      expect(await outcome(gate, passPolicy(), wallet)).toBe(ErrorCode.ACCESS_DENIED);
      const calls = proxy.ethCalls;
      await grantPass(anvil.url, pass.accessPass, CONTENT, other);
      await follower.poll();
      expect(proxy.ethCalls).toBe(calls);
      expect(await decide(gate, passPolicy(), wallet)).toMatchObject({ cached: true });
      await grantPass(anvil.url, pass.accessPass, CONTENT, wallet);
      await follower.poll();
      expect(proxy.ethCalls).toBe(calls + 1);
      expect(await decide(gate, passPolicy(), wallet)).toEqual({
        outcome: 'admitted',
        cached: true,
      });
    });
  });

  it('anvil stopped: past freshnessMs fresh() is false, a cached wallet is POLICY_UNAVAILABLE and reason() names the chain and endpoints; after a restart from the state file one poll restores service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkms-policy-'));
    const statePath = join(dir, 'state.json');
    const port = await freePort();
    let second = await startAnvil({ port, statePath });
    try {
      const deployed = await deployDevChain(second.url);
      const policy = passPolicy(deployed.accessPass);
      const wallet = newWallet();
      await grantPass(second.url, deployed.accessPass, CONTENT, wallet);
      const { gate, follower } = setup([second.url]);
      await follower.poll();
      expect(await outcome(gate, policy, wallet)).toBe('admitted');
      expect(await decide(gate, policy, wallet)).toEqual({ outcome: 'admitted', cached: true });

      await second.stop();
      await follower.poll();
      expect(follower.fresh()).toBe(true); // within the bound, the last state still serves
      skippedMs += 1001;
      expect([follower.fresh(), gate.fresh()]).toEqual([false, false]);
      expect(await outcome(gate, policy, wallet)).toBe(ErrorCode.POLICY_UNAVAILABLE);
      expect(follower.reason()).toMatch(/^chain 31337: state \d+ s old/);
      expect(follower.reason()).toContain('0 of 1 endpoints answering, 1 must agree');
      expect(gate.reason()).toBe(follower.reason());

      second = await startAnvil({ port, statePath });
      await follower.poll();
      expect([follower.fresh(), gate.reason()]).toEqual([true, undefined]);
      expect(await outcome(gate, policy, wallet)).toBe('admitted');
      expect(await outcome(gate, policy, newWallet())).toBe(ErrorCode.ACCESS_DENIED);
    } finally {
      await second.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an entry unused for idleMs is dropped on the next advancing poll (not on a poll at the same block); a used one stays', async () => {
    const { gate, follower, metric } = setup([anvil.url], { idleMs: 1000 });
    const [used, unused] = [newWallet(), newWallet()];
    await follower.poll();
    expect(await outcome(gate, passPolicy(), used)).toBe(ErrorCode.ACCESS_DENIED);
    expect(await outcome(gate, passPolicy(), unused)).toBe(ErrorCode.ACCESS_DENIED);
    expect(follower.entries).toBe(2);
    skippedMs += 600;
    expect(await decide(gate, passPolicy(), used)).toMatchObject({ cached: true });
    skippedMs += 600;
    await follower.poll();
    expect(follower.entries).toBe(2);
    await mine();
    await follower.poll();
    expect(follower.entries).toBe(1);
    expect(await metric('qkms_policy_cache_entries')).toBe(1);
    expect(await decide(gate, passPolicy(), used)).toMatchObject({ cached: true });
    expect(await decide(gate, passPolicy(), unused)).toMatchObject({ cached: false });
  });
});

describe('ChainFollower with k of n endpoints', () => {
  it('[anvil, liar] with quorum 2: a wallet without a pass is POLICY_UNAVAILABLE, never admitted, and the disagreement is counted', async () => {
    await withProxy({ lie: true }, async (liar) => {
      const { gate, follower, metric } = setup([anvil.url, liar.url], { quorum: 2 });
      await follower.poll();
      expect(follower.fresh()).toBe(true);
      const wallet = newWallet();
      for (let i = 0; i < 2; i++) {
        const answer = await decide(gate, passPolicy(), wallet);
        expect(answer).toMatchObject({ outcome: ErrorCode.POLICY_UNAVAILABLE, cached: false });
        expect(answer.message).toContain('endpoints did not agree');
      }
      expect(follower.entries).toBe(0);
      expect(await metric('qkms_policy_rpc_disagreements_total')).toBe(2);
    });
  });

  it('the liar alone with quorum 1 admits a wallet without a pass: the proxy really lies', async () => {
    await withProxy({ lie: true }, async (liar) => {
      const { gate, follower } = setup([liar.url]);
      await follower.poll();
      expect(await outcome(gate, passPolicy(), newWallet())).toBe('admitted');
    });
  });

  it('[anvil, honest proxy] with quorum 2 decides as anvil alone: denied without a pass, admitted with one', async () => {
    await withProxy({}, async (honest) => {
      const { gate, follower, metric } = setup([anvil.url, honest.url], { quorum: 2 });
      const [holder, other] = [newWallet(), newWallet()];
      await grantPass(anvil.url, pass.accessPass, CONTENT, holder);
      await follower.poll();
      expect(await outcome(gate, passPolicy(), holder)).toBe('admitted');
      expect(await outcome(gate, passPolicy(), other)).toBe(ErrorCode.ACCESS_DENIED);
      expect(honest.ethCalls).toBe(2);
      expect(await metric('qkms_policy_rpc_disagreements_total')).toBe(0);
    });
  });

  it('maxColdReads 1 behind a slow endpoint: of two concurrent cold admits one is refused POLICY_UNAVAILABLE at once (overloaded), the other decides', async () => {
    await withProxy({ callDelayMs: 300 }, async (slow) => {
      const { gate, follower } = setup([slow.url], { maxColdReads: 1, deadlineMs: 2000 });
      await follower.poll();
      const settled: string[] = [];
      const [first, second] = await Promise.all(
        ['first', 'second'].map(async (name) => {
          const answer = await decide(gate, passPolicy(), newWallet());
          settled.push(name);
          return answer;
        }),
      );
      expect(second).toMatchObject({ outcome: ErrorCode.POLICY_UNAVAILABLE, cached: false });
      expect(second?.message).toContain('too many cold chain reads in flight');
      expect(first).toMatchObject({ outcome: ErrorCode.ACCESS_DENIED, cached: false });
      expect(settled).toEqual(['second', 'first']);
      expect(slow.ethCalls).toBe(1);
      // The slot is released: the next cold read goes through.
      expect(await outcome(gate, passPolicy(), newWallet())).toBe(ErrorCode.ACCESS_DENIED);
    });
  });
});

describe('ChainFollower against a hostile endpoint', () => {
  it('a cold admit refused as overloaded after joining another cold read that then fails leaves no unhandled rejection', async () => {
    // A read joined while another is in flight, then refused as overloaded: when the joined read
    // fails (here k endpoints disagree) nothing may be left without a handler (an unhandled
    // rejection ends the daemon by Node's default).
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await withProxy({ lie: true, callDelayMs: 200 }, async (liar) => {
        const { gate, follower } = setup([anvil.url, liar.url], { quorum: 2, maxColdReads: 1 });
        await follower.poll();
        const hasAccess: AccessPolicy = {
          kind: 'evm-call',
          chain: CHAIN,
          contract: addressBytes(pass.accessPass),
          function: 'hasAccess(bytes32,address)',
          params: [CONTENT_ID, USER_ADDRESS],
          returns: 'bool',
          comparator: '==',
          value: 1n,
        };
        const both: AccessPolicy = { kind: 'and', conditions: [passPolicy(), hasAccess] };
        const wallet = newWallet();
        const answers = await Promise.all([
          outcome(gate, passPolicy(), wallet),
          outcome(gate, both, wallet),
        ]);
        expect(answers).toEqual([ErrorCode.POLICY_UNAVAILABLE, ErrorCode.POLICY_UNAVAILABLE]);
        await sleep(20); // unhandled rejections are reported after the microtask queue drains
      });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('an endpoint whose answers exceed 4 MiB is refused, with content-length or chunked without it', async () => {
    // The cap counts the body as it arrives: a chunked answer (no content-length) is held to it too.
    for (const chunked of [false, true]) {
      await withProxy({ padBytes: 5 * 1024 * 1024, chunked }, async (big) => {
        const probe = await fetch(big.url, {
          method: 'POST',
          body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}',
        });
        await probe.arrayBuffer();
        expect(probe.headers.get('content-length') === null).toBe(chunked);
        const { follower } = setup([big.url]);
        await follower.poll();
        expect({ chunked, fresh: follower.fresh() }).toEqual({ chunked, fresh: false });
      });
    }
  });
});
