// RpcEndpoint against a JSON-RPC stub that answers exactly what a test needs:
// a transfer log whose addresses are not in its topics names the whole
// contract; a Multicall3 batch that fails leaves only its own reads
// unanswered (one hostile contract cannot fail every read of a poll).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeFunctionData, encodeFunctionResult, multicall3Abi, type Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { balanceRead, fromHex, toHex } from '../../protocol/internal.ts';
import { addr, balance } from '../../test/support/policy-builders.ts';
import { requireNativeSuite } from '../../protocol/suite/native.ts';
import { ANY_ACCOUNT, RpcEndpoint, TRANSFER_TOPICS } from './rpc.ts';

const keccak = requireNativeSuite().keccak256;
let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  server = undefined;
});

/** A JSON-RPC endpoint answering each call with `answer(method, params)` (an Error: a JSON-RPC error). */
async function stub(answer: (method: string, params: unknown[]) => unknown): Promise<string> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { id, method, params } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        id: number;
        method: string;
        params: unknown[];
      };
      const result = answer(method, params);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          result instanceof Error
            ? { jsonrpc: '2.0', id, error: { code: -32000, message: result.message } }
            : { jsonrpc: '2.0', id, result },
        ),
      );
    });
  });
  const listening = server;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
}

const topicOf = (a: Uint8Array): string => `0x${'0'.repeat(24)}${toHex(a)}`;

describe('RpcEndpoint', () => {
  it('a transfer log with its addresses in the data touches every account of its contract', async () => {
    const token = addr(0x70);
    const url = await stub(() => [
      // ERC-20 Transfer with indexed from and to: the two accounts.
      {
        address: `0x${toHex(token)}`,
        topics: [TRANSFER_TOPICS.transfer, topicOf(addr(1)), topicOf(addr(2))],
      },
      // An old token's Transfer: from, to and value all in the data.
      { address: `0x${toHex(addr(0x71))}`, topics: [TRANSFER_TOPICS.transfer] },
    ]);
    const touched = await new RpcEndpoint(1, url, 1000).transfers([toHex(token)], 1n, 2n);
    expect(touched).toEqual([
      { contract: toHex(token), account: toHex(addr(1)) },
      { contract: toHex(token), account: toHex(addr(2)) },
      { contract: toHex(addr(0x71)), account: ANY_ACCOUNT },
    ]);
  });

  it('one contract whose batch fails leaves only its own reads unanswered', async () => {
    const good = addr(0x80);
    const bad = addr(0x81);
    const url = await stub((method, params) => {
      if (method !== 'eth_call') return new Error('unexpected');
      const { data } = params[0] as { data: Hex };
      const { args } = decodeFunctionData({ abi: multicall3Abi, data });
      const calls = (args as readonly [readonly { target: string }[]])[0];
      if (calls.some((c) => c.target.toLowerCase() === `0x${toHex(bad)}`))
        return new Error('out of gas');
      return encodeFunctionResult({
        abi: multicall3Abi,
        functionName: 'aggregate3',
        result: calls.map(() => ({ success: true, returnData: `0x${'0'.repeat(63)}5` as Hex })),
      });
    });
    const ctx = { wallet: addr(0xaa), contentId: new Uint8Array(32) };
    const reads = [good, bad, good].map((contract) =>
      balanceRead(keccak, balance({ contract }), ctx),
    );
    const endpoint = new RpcEndpoint(1, url, 1000);
    const results = await endpoint.calls(reads, 1n);
    const five = { ok: true, data: fromHex(`${'0'.repeat(63)}5`) };
    expect(results).toEqual([five, undefined, five]);
    expect(endpoint.up).toBe(true);
    // Every batch failing is the endpoint failing.
    await expect(endpoint.calls([reads[1]!], 1n)).rejects.toThrow();
    expect(endpoint.up).toBe(false);
  });
});
