// PolicyGate over one ChainFollower, against a real anvil started here on a
// free loopback port with the dev chain's QkmsAccessPass: a pass policy is
// decided cold once (a promise), then from the cache synchronously; a grant,
// a holder's safeTransferFrom and a reorg (evm_revert, anvil_reorg) change
// the answer on the next poll; an evm-call is read again at every block; a
// chain the node does not follow is POLICY_UNSUPPORTED; an erc721 ownerOf
// read (a raw-bytecode token set with anvil_setCode) follows every transfer
// of its token. Polls are driven by hand, so every step is deterministic.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { Registry } from 'prom-client';
import { encodeFunctionData, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from '../../cli/dev-chain/anvil.ts';
import { QKMS_ACCESS_PASS } from '../../cli/dev-chain/artifacts.ts';
import {
  contentTokenId,
  deployDevChain,
  grantPass,
  type DevChainDeployment,
} from '../../cli/dev-chain/deploy.ts';
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
import { TRANSFER_TOPICS } from './rpc.ts';

const CHAIN = 31337;
const CONTENT = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
/** anvil's accounts 1 and 2 (its default mnemonic, unlocked in anvil): a pass holder, a sender. */
const HOLDER: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const SENDER: Address = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

let anvil: Anvil;
let pass: DevChainDeployment;

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(anvil.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message ?? '?'}`);
  return body.result;
}

/** Sends a transaction from an unlocked anvil account and waits until it is mined with success. */
async function send(from: Address, to: string, data: string): Promise<void> {
  const hash = await rpc('eth_sendTransaction', [{ from, to, data }]);
  await expect
    .poll(() => rpc('eth_getTransactionReceipt', [hash]), { interval: 20 })
    .toMatchObject({ status: '0x1' });
}

function setup() {
  const registry = new Registry();
  const settings: ChainSettings = {
    chainId: CHAIN,
    urls: [anvil.url],
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
  const gate = new PolicyGate({
    chains: [settings],
    keccak: keccak_256,
    log: silentLogger,
    clock: Date.now,
    metrics: createPolicyMetrics(registry),
  });
  const follower = gate.followers[0];
  if (follower === undefined) throw new Error('no follower');
  /** A counter's value for one label set, summed over the others. */
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    const match = values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
    return match.reduce((sum, v) => sum + v.value, 0);
  };
  return { gate, follower, metric };
}

const addressBytes = (a: string): Uint8Array => fromHex(a.slice(2).toLowerCase());
/** A wallet no test used before: no test sees another's cached reads. */
let nextWallet = 0x10;
const newWallet = (): Address => `0x${(nextWallet++).toString(16).padStart(2, '0').repeat(20)}`;

interface Decision {
  readonly outcome: 'admitted' | ErrorCode;
  /** Decided synchronously: admit returned no promise. */
  readonly cached: boolean;
}

async function decide(gate: PolicyGate, policy: AccessPolicy, wallet: string): Promise<Decision> {
  const ctx = {
    wallet: addressBytes(wallet),
    contentId: CONTENT,
    publisher: new Uint8Array(20),
    now: Date.now(),
  };
  let cached = true;
  try {
    const pending = gate.admit(policy, ctx);
    cached = pending === undefined;
    await pending;
    return { outcome: 'admitted', cached };
  } catch (e) {
    if (!isQkmsError(e)) throw e;
    return { outcome: e.code, cached };
  }
}

const passPolicy = (): AccessPolicy => ({
  kind: 'evm-balance',
  chain: CHAIN,
  standard: 'erc1155',
  contract: addressBytes(pass.accessPass),
  tokenId: CONTENT_ID,
  comparator: '>=',
  value: 1n,
});
const hasAccessPolicy = (): AccessPolicy => ({
  kind: 'evm-call',
  chain: CHAIN,
  contract: addressBytes(pass.accessPass),
  function: 'hasAccess(bytes32,address)',
  params: [CONTENT_ID, USER_ADDRESS],
  returns: 'bool',
  comparator: '==',
  value: 1n,
});
const DENIED_COLD = { outcome: ErrorCode.ACCESS_DENIED, cached: false };
const DENIED_CACHED = { outcome: ErrorCode.ACCESS_DENIED, cached: true };
const ADMITTED_COLD = { outcome: 'admitted', cached: false };
const ADMITTED_CACHED = { outcome: 'admitted', cached: true };

beforeAll(async () => {
  anvil = await startAnvil({ port: await freePort() });
  pass = await deployDevChain(anvil.url);
});

afterAll(async () => {
  await anvil.stop();
});

describe('PolicyGate decisions on a real anvil', () => {
  it('evm-balance pass: denied cold (a promise), then from the cache with no promise; after a grant and one poll admitted with no promise; hits and misses counted', async () => {
    const { gate, follower, metric } = setup();
    const lookups = async () => [
      await metric('qkms_policy_cache_lookups_total', { result: 'miss' }),
      await metric('qkms_policy_cache_lookups_total', { result: 'hit' }),
    ];
    await follower.poll();
    expect(follower.fresh()).toBe(true);
    const wallet = newWallet();
    expect(await decide(gate, passPolicy(), wallet)).toEqual(DENIED_COLD);
    expect(await lookups()).toEqual([1, 0]);
    expect(await decide(gate, passPolicy(), wallet)).toEqual(DENIED_CACHED);
    expect(await lookups()).toEqual([1, 1]);

    await grantPass(anvil.url, pass.accessPass, CONTENT, wallet);
    // Until the poll the cache is at the block before the grant.
    expect(await decide(gate, passPolicy(), wallet)).toEqual(DENIED_CACHED);
    await follower.poll();
    expect(await decide(gate, passPolicy(), wallet)).toEqual(ADMITTED_CACHED);
    expect(await lookups()).toEqual([1, 3]);
  });

  it("a holder's safeTransferFrom: after one poll the sender is denied and the recipient admitted, both from the cache", async () => {
    const { gate, follower } = setup();
    const recipient = newWallet();
    await grantPass(anvil.url, pass.accessPass, CONTENT, HOLDER);
    await follower.poll();
    expect(await decide(gate, passPolicy(), HOLDER)).toEqual(ADMITTED_COLD);
    expect(await decide(gate, passPolicy(), recipient)).toEqual(DENIED_COLD);
    const data = encodeFunctionData({
      abi: QKMS_ACCESS_PASS.abi,
      functionName: 'safeTransferFrom',
      args: [HOLDER, recipient, contentTokenId(CONTENT), 1n, '0x'],
    });
    await send(HOLDER, pass.accessPass, data);
    await follower.poll();
    expect(await decide(gate, passPolicy(), HOLDER)).toEqual(DENIED_CACHED);
    expect(await decide(gate, passPolicy(), recipient)).toEqual(ADMITTED_CACHED);
  });

  it('evm-call hasAccess(bytes32,address) == 1: admits a wallet with a pass, denies one without, and a grant flips it on the next poll', async () => {
    const { gate, follower } = setup();
    const [granted, without] = [newWallet(), newWallet()];
    await grantPass(anvil.url, pass.accessPass, CONTENT, granted);
    await follower.poll();
    expect(await decide(gate, hasAccessPolicy(), granted)).toEqual(ADMITTED_COLD);
    expect(await decide(gate, hasAccessPolicy(), without)).toEqual(DENIED_COLD);
    await grantPass(anvil.url, pass.accessPass, CONTENT, without);
    expect(await decide(gate, hasAccessPolicy(), without)).toEqual(DENIED_CACHED);
    await follower.poll();
    expect(await decide(gate, hasAccessPolicy(), without)).toEqual(ADMITTED_CACHED);
    expect(await decide(gate, hasAccessPolicy(), granted)).toEqual(ADMITTED_CACHED);
  });

  it('a policy naming a chain this node does not follow is POLICY_UNSUPPORTED, from assertSupported and from admit', async () => {
    const { gate, follower } = setup();
    await follower.poll();
    const elsewhere = { ...passPolicy(), chain: 1 } as AccessPolicy;
    const unsupported = [
      elsewhere,
      { kind: 'or', conditions: [passPolicy(), elsewhere] },
      { kind: 'not', condition: elsewhere },
    ] as const;
    for (const policy of unsupported) {
      expect(() => {
        gate.assertSupported(policy);
      }).toThrow(expect.objectContaining({ code: ErrorCode.POLICY_UNSUPPORTED }));
      expect(await decide(gate, policy, newWallet())).toEqual({
        outcome: ErrorCode.POLICY_UNSUPPORTED,
        cached: true,
      });
    }
    expect(() => {
      gate.assertSupported(passPolicy());
    }).not.toThrow();
  });
});

describe('PolicyGate across reorgs', () => {
  it('evm_revert past a grant, then two empty blocks past the old height: the next poll finds the hash changed and denies', async () => {
    const { gate, follower, metric } = setup();
    const wallet = newWallet();
    await follower.poll();
    expect(await decide(gate, passPolicy(), wallet)).toEqual(DENIED_COLD);
    const snapshot = await rpc('evm_snapshot');
    await grantPass(anvil.url, pass.accessPass, CONTENT, wallet);
    await follower.poll();
    expect(await decide(gate, passPolicy(), wallet)).toEqual(ADMITTED_CACHED);
    const grantBlock = follower.block ?? 0n;
    expect(await rpc('evm_revert', [snapshot])).toBe(true);
    await rpc('evm_mine');
    await rpc('evm_mine');
    await follower.poll();
    expect(follower.block).toBe(grantBlock + 1n);
    expect(await decide(gate, passPolicy(), wallet)).toEqual(DENIED_CACHED);
    expect(await metric('qkms_policy_reorgs_total')).toBe(1);
  });

  it('evm_revert without new blocks: the agreed head goes back, counted as a reorg, and the wallet is read again', async () => {
    const { gate, follower, metric } = setup();
    const wallet = newWallet();
    await follower.poll();
    const snapshot = await rpc('evm_snapshot');
    await grantPass(anvil.url, pass.accessPass, CONTENT, wallet);
    await follower.poll();
    expect(await decide(gate, passPolicy(), wallet)).toEqual(ADMITTED_COLD);
    await rpc('evm_revert', [snapshot]);
    await follower.poll();
    expect(await decide(gate, passPolicy(), wallet)).toEqual(DENIED_CACHED);
    expect(await metric('qkms_policy_reorgs_total')).toBe(1);
  });

  it('anvil_reorg at the same height (the grant block replaced by an empty one): the new hash at the same number re-reads and denies', async () => {
    const { gate, follower, metric } = setup();
    const wallet = newWallet();
    await grantPass(anvil.url, pass.accessPass, CONTENT, wallet);
    await follower.poll();
    expect(await decide(gate, passPolicy(), wallet)).toEqual(ADMITTED_COLD);
    const height = follower.block;
    await rpc('anvil_reorg', [1, []]);
    await follower.poll();
    expect(follower.block).toBe(height);
    expect(await decide(gate, passPolicy(), wallet)).toEqual(DENIED_CACHED);
    expect(await metric('qkms_policy_reorgs_total')).toBe(1);
  });
});

describe('PolicyGate on an erc721 ownerOf policy', () => {
  it('ownerOf(tokenId) first asked by a non-owner: after the owner transfers the token and one poll, the old owner is denied and the new one admitted', async () => {
    // ownerOf(tokenId) is one cache entry for every wallet that asks; at HEAD 9d7578a it
    // followed only the transfers of the first wallet that asked (evaluate.ts balanceRead
    // set `account: ctx.wallet`), so this failed: old owner admitted, new owner denied.
    const nft = '0x0000000000000000000000000000000000000721';
    // A minimal ERC-721 in raw EVM code. ownerOf(uint256) (selector 0x6352211e) returns
    // sload(id); any other call (to, id) does sstore(id, to) and logs Transfer(the previous
    // sload(id), to, id), so the first call for an id mints it.
    const dispatch = (to: number): string =>
      `60003560e01c636352211e1460${to.toString(16).padStart(2, '0')}57`;
    // id, from = sload(id), to; sstore(id, to); swap to (from, to, id); log4(0, 0, Transfer, …).
    const transfer = `602435805460043580835590 7f${TRANSFER_TOPICS.transfer.slice(2)} 60006000a4 00`;
    // jumpdest; mstore(0, sload(calldataload(4))); return(0, 32).
    const ownerOf = '5b 6004355460005260206000f3';
    const jumpdest = (dispatch(0) + transfer).replaceAll(' ', '').length / 2;
    const code = `0x${dispatch(jumpdest)}${transfer}${ownerOf}`.replaceAll(' ', '');
    await rpc('anvil_setCode', [nft, code]);
    const call = (to: Address, id: bigint): string =>
      `0x00000000${to.slice(2).padStart(64, '0')}${id.toString(16).padStart(64, '0')}`;
    const token: AccessPolicy = {
      kind: 'evm-balance',
      chain: CHAIN,
      standard: 'erc721',
      contract: addressBytes(nft),
      tokenId: 5n,
      comparator: '>=',
      value: 1n,
    };
    const [owner, next, bystander] = [newWallet(), newWallet(), newWallet()];
    await send(SENDER, nft, call(owner, 5n));
    const { gate, follower } = setup();
    await follower.poll();
    expect(await decide(gate, token, bystander)).toEqual(DENIED_COLD);
    expect(await decide(gate, token, owner)).toEqual(ADMITTED_CACHED);
    await send(SENDER, nft, call(next, 5n));
    await follower.poll();
    expect({
      owner: (await decide(gate, token, owner)).outcome,
      next: (await decide(gate, token, next)).outcome,
    }).toEqual({ owner: ErrorCode.ACCESS_DENIED, next: 'admitted' });
  });
});
