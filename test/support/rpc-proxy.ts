// An EVM JSON-RPC endpoint that lies, for e2e tests of a node's chain
// followers (node/policy/): an HTTP proxy that forwards each JSON-RPC 2.0
// POST (https://www.jsonrpc.org/specification, single calls and batches) to
// a real endpoint and hands the answer back, late (`delayMs`) or rewritten
// (`rewrite`). `multicallAnswers` is the rewrite of a lying endpoint: every
// call of every Multicall3 aggregate3 batch (https://www.multicall3.com)
// succeeds with the same word. It decodes and encodes with viem's own
// Multicall3 ABI, not the node's copy (node/policy/rpc.ts), so an error in
// the node's ABI cannot cancel out here.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeFunctionData,
  encodeAbiParameters,
  encodeFunctionResult,
  multicall3Abi,
  type Hex,
} from 'viem';

/** Multicall3's address on every chain, the dev chain included. */
export const MULTICALL3 = '0xcA11bde05977b3631167028862bE2a173976CA11';
/** A test endpoint's request is a few KiB; a larger body is refused (413). */
const MAX_BODY_BYTES = 1 << 20;
/** Deadline of one forwarded call; a local anvil answers in milliseconds. */
const UPSTREAM_DEADLINE_MS = 5_000;

export interface JsonRpcRequest {
  readonly jsonrpc: '2.0';
  readonly id?: number | string | null;
  readonly method: string;
  readonly params?: readonly unknown[];
}

export interface JsonRpcResponse {
  readonly jsonrpc: '2.0';
  readonly id: number | string | null;
  readonly result?: unknown;
  readonly error?: { readonly code: number; readonly message: string; readonly data?: unknown };
}

/** What the proxy answers instead of the upstream `response` to `request`. */
export type RpcRewrite = (request: JsonRpcRequest, response: JsonRpcResponse) => JsonRpcResponse;

export interface RpcProxyOptions {
  /** The real endpoint, http://HOST:PORT. */
  readonly target: string;
  readonly rewrite?: RpcRewrite;
  /** Held back before each request is forwarded, ms. */
  readonly delayMs?: number;
}

export interface RpcProxy {
  /** http://127.0.0.1:PORT. */
  readonly url: string;
  /** JSON-RPC calls forwarded so far (each call of a batch counts). */
  readonly calls: () => number;
  /** Closes the listener and every open connection; idempotent. */
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_BODY_BYTES) {
        reject(new Error(`request body: expected at most ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function isRequest(value: unknown): value is JsonRpcRequest {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { method?: unknown }).method === 'string'
  );
}

/** The upstream answers to `requests`, matched to them by id. */
function byRequest(
  requests: readonly JsonRpcRequest[],
  answer: unknown,
): (JsonRpcResponse | undefined)[] {
  const answers = (Array.isArray(answer) ? answer : [answer]) as JsonRpcResponse[];
  return requests.map((r) => answers.find((a) => a.id === (r.id ?? null)));
}

/** Starts the proxy on a free loopback port. */
export async function startRpcProxy(options: RpcProxyOptions): Promise<RpcProxy> {
  let calls = 0;
  // Aborts held and forwarded calls when the proxy stops, so none outlives it.
  const stopped = new AbortController();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const body = (await readBody(req)).toString('utf8');
    const parsed = JSON.parse(body) as unknown;
    const requests = (Array.isArray(parsed) ? parsed : [parsed]).filter(isRequest);
    calls += requests.length;
    if (options.delayMs !== undefined)
      await sleep(options.delayMs, undefined, { signal: stopped.signal });
    const upstream = await fetch(options.target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.any([stopped.signal, AbortSignal.timeout(UPSTREAM_DEADLINE_MS)]),
    });
    const text = await upstream.text();
    if (options.rewrite === undefined || !upstream.ok) {
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
      return;
    }
    const rewrite = options.rewrite;
    const answers = byRequest(requests, JSON.parse(text)).map((a, i) => {
      const request = requests[i];
      return a === undefined || request === undefined ? a : rewrite(request, a);
    });
    const out = Array.isArray(parsed) ? answers : answers[0];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The upstream is down, the body is bad or the proxy stopped: answer as a dead gateway would.
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        stopped.abort();
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      })),
  };
}

/**
 * A rewrite under which every eth_call of Multicall3's aggregate3 answers
 * each of its calls `{ success: true, returnData: uint256(value) }`, whatever
 * the chain says: a balance of `value`, a bool true for 1. Other calls pass.
 */
export function multicallAnswers(value: bigint): RpcRewrite {
  const word = encodeAbiParameters([{ type: 'uint256' }], [value]);
  return (request, response) => {
    if (request.method !== 'eth_call') return response;
    const call = request.params?.[0] as { to?: unknown; data?: unknown; input?: unknown } | null;
    const data = call?.data ?? call?.input;
    if (
      typeof call?.to !== 'string' ||
      call.to.toLowerCase() !== MULTICALL3.toLowerCase() ||
      typeof data !== 'string'
    )
      return response;
    const decoded = decodeFunctionData({ abi: multicall3Abi, data: data as Hex });
    if (decoded.functionName !== 'aggregate3') return response;
    const result = encodeFunctionResult({
      abi: multicall3Abi,
      functionName: 'aggregate3',
      result: decoded.args[0].map(() => ({ success: true, returnData: word })),
    });
    return { jsonrpc: '2.0', id: response.id, result };
  };
}
