// One EVM JSON-RPC endpoint, through viem: the head, a block's hash, the
// transfer logs of a block range, and batches of eth_calls at one block made
// as a single Multicall3 `aggregate3` call (viem encodes and decodes it).
// Every call has a deadline; an endpoint that fails is marked down until it
// answers again. The URL may hold an API key: it is never logged, and the
// endpoint is named by its index among its chain's endpoints.
import {
  createPublicClient,
  decodeFunctionResult,
  encodeFunctionData,
  http,
  type Hex,
  type PublicClient,
} from 'viem';
import { fromHex, toHex } from '../../protocol/internal.ts';
import type { CallResult, ChainRead } from '../../protocol/internal.ts';

/** Multicall3's address on every chain it is deployed to (and on the dev chain). */
export const MULTICALL3_ADDRESS = '0xcA11bde05977b3631167028862bE2a173976CA11';

const AGGREGATE3_ABI = [
  {
    type: 'function',
    name: 'aggregate3',
    stateMutability: 'payable',
    inputs: [
      {
        name: 'calls',
        type: 'tuple[]',
        components: [
          { name: 'target', type: 'address' },
          { name: 'allowFailure', type: 'bool' },
          { name: 'callData', type: 'bytes' },
        ],
      },
    ],
    outputs: [
      {
        name: 'returnData',
        type: 'tuple[]',
        components: [
          { name: 'success', type: 'bool' },
          { name: 'returnData', type: 'bytes' },
        ],
      },
    ],
  },
] as const;

/** topic0 of the events that move token balances: ERC-20/721 Transfer, ERC-1155 TransferSingle and TransferBatch. */
export const TRANSFER_TOPICS = {
  transfer: '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef',
  transferSingle: '0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62',
  transferBatch: '0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb',
} as const;

/** Reads batched into one aggregate3 call; more are split into several. */
export const MULTICALL_BATCH = 256;
/** aggregate3 calls in flight at once per endpoint (providers rate-limit bursts). */
const BATCHES_AT_ONCE = 4;
/** A response larger than this is refused (a lying endpoint cannot make the node buffer much). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface BlockRef {
  readonly number: bigint;
  readonly hash: string;
}

export interface BlockStamp {
  readonly hash: string;
  /** Seconds since the epoch, as the block says. */
  readonly timestamp: number;
}

/** The account of a transfer whose addresses could not be read: any account of the contract. */
export const ANY_ACCOUNT = '*';

/** A contract and an account whose balance a transfer in the range moved. */
export interface Touched {
  /** 20 bytes, hex. */
  readonly contract: string;
  /** 20 bytes, hex. */
  readonly account: string;
}

const lower = (text: string): string => text.toLowerCase();
const hex = (digits: string): Hex => `0x${digits}`;
const addressOfTopic = (topic: unknown): string | undefined =>
  typeof topic === 'string' && /^0x0{24}[0-9a-fA-F]{40}$/.test(topic)
    ? lower(topic.slice(26))
    : undefined;

/** A block hash as an endpoint gave it, checked (a lying endpoint may send anything). */
function checkedHash(hash: unknown): string {
  if (typeof hash !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(hash))
    throw new Error('not a block hash');
  return lower(hash);
}

export class RpcEndpoint {
  /** 1-based, within its chain: what logs and metrics name it by. */
  readonly index: number;
  readonly #client: PublicClient;
  readonly #multicall: Hex;
  #up = false;

  constructor(
    index: number,
    url: string,
    deadlineMs: number,
    multicall: string = MULTICALL3_ADDRESS,
  ) {
    this.index = index;
    this.#multicall = multicall as Hex;
    this.#client = createPublicClient({
      transport: http(url, {
        timeout: deadlineMs,
        retryCount: 0,
        fetchOptions: { redirect: 'error' },
        // Counted as the body arrives, chunked or not: viem stops reading past it.
        maxResponseBodySize: MAX_RESPONSE_BYTES,
      }),
    });
  }

  /** Whether the last call answered. */
  get up(): boolean {
    return this.#up;
  }

  async #track<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const value = await fn();
      this.#up = true;
      return value;
    } catch (e) {
      this.#up = false;
      throw e;
    }
  }

  head(): Promise<BlockRef> {
    return this.#track(async () => {
      const block = await this.#client.getBlock({ blockTag: 'latest' });
      return { number: block.number, hash: checkedHash(block.hash) };
    });
  }

  /** Block `number`'s hash and its timestamp (seconds). */
  block(number: bigint): Promise<BlockStamp> {
    return this.#track(async () => {
      const block = await this.#client.getBlock({ blockNumber: number });
      return { hash: checkedHash(block.hash), timestamp: Number(block.timestamp) };
    });
  }

  /** Accounts whose balances moved in [from, to] on `contracts` (20-byte hex each). */
  transfers(contracts: readonly string[], from: bigint, to: bigint): Promise<Touched[]> {
    return this.#track(async () => {
      const logs: unknown = await this.#client.request({
        method: 'eth_getLogs',
        params: [
          {
            address: contracts.map(hex),
            fromBlock: hex(from.toString(16)),
            toBlock: hex(to.toString(16)),
            topics: [Object.values(TRANSFER_TOPICS)],
          },
        ],
      });
      if (!Array.isArray(logs)) throw new Error('eth_getLogs: not an array');
      const touched: Touched[] = [];
      for (const log of logs as unknown[]) {
        const { address, topics } = (log ?? {}) as { address?: unknown; topics?: unknown };
        if (
          typeof address !== 'string' ||
          !/^0x[0-9a-fA-F]{40}$/.test(address) ||
          !Array.isArray(topics)
        )
          throw new Error('eth_getLogs: not a log');
        const contract = lower(address).slice(2);
        const [topic0, t1, t2, t3] = topics as unknown[];
        const accounts = (
          typeof topic0 === 'string' && lower(topic0) === TRANSFER_TOPICS.transfer
            ? [t1, t2]
            : [t2, t3]
        ).map(addressOfTopic);
        // A transfer whose addresses are not in its topics (an old token that puts them in
        // the data): every cached balance of the contract is read again.
        if (accounts.some((a) => a === undefined)) touched.push({ contract, account: ANY_ACCOUNT });
        for (const account of accounts)
          if (account !== undefined) touched.push({ contract, account });
      }
      return touched;
    });
  }

  /**
   * The results of `reads` at block `at`, in order: one aggregate3 batch per
   * contract (so a contract whose view burns its gas starves only its own
   * reads), at most BATCHES_AT_ONCE in flight. Each batch settles on its own:
   * the reads of a batch that fails (too large an answer, out of gas, a
   * rate limit) are undefined, not the whole answer; only when every batch
   * fails has the endpoint not answered.
   */
  calls(reads: readonly ChainRead[], at: bigint): Promise<(CallResult | undefined)[]> {
    return this.#track(async () => {
      const byContract = new Map<string, number[]>();
      reads.forEach((r, i) => {
        const key = toHex(r.contract);
        byContract.set(key, [...(byContract.get(key) ?? []), i]);
      });
      const batches: number[][] = [];
      for (const indices of byContract.values())
        for (let i = 0; i < indices.length; i += MULTICALL_BATCH)
          batches.push(indices.slice(i, i + MULTICALL_BATCH));
      const results = new Array<CallResult | undefined>(reads.length);
      let failed = 0;
      let lastError: unknown;
      for (let i = 0; i < batches.length; i += BATCHES_AT_ONCE) {
        const group = batches.slice(i, i + BATCHES_AT_ONCE);
        const settled = await Promise.allSettled(
          group.map((batch) =>
            this.#aggregate3(
              batch.map((j) => reads[j] as ChainRead),
              at,
            ),
          ),
        );
        settled.forEach((outcome, g) => {
          if (outcome.status === 'rejected') {
            failed++;
            lastError = outcome.reason;
            return;
          }
          group[g]?.forEach((readIndex, j) => {
            results[readIndex] = outcome.value[j];
          });
        });
      }
      if (batches.length > 0 && failed === batches.length) throw lastError;
      return results;
    });
  }

  async #aggregate3(batch: readonly ChainRead[], at: bigint): Promise<CallResult[]> {
    const data = encodeFunctionData({
      abi: AGGREGATE3_ABI,
      functionName: 'aggregate3',
      args: [
        batch.map((r) => ({
          target: hex(toHex(r.contract)),
          allowFailure: true,
          callData: hex(toHex(r.data)),
        })),
      ],
    });
    const answer = await this.#client.call({ to: this.#multicall, data, blockNumber: at });
    if (answer.data === undefined)
      throw new Error('multicall returned nothing (no Multicall3 here?)');
    const decoded = decodeFunctionResult({
      abi: AGGREGATE3_ABI,
      functionName: 'aggregate3',
      data: answer.data,
    });
    if (decoded.length !== batch.length) throw new Error('multicall answered a different count');
    return decoded.map((r): CallResult => ({
      ok: r.success,
      data: fromHex(r.returnData.slice(2).toLowerCase()),
    }));
  }
}
