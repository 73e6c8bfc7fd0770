// For client/'s unit tests: an in-memory quorum behind the client's
// NodeTransport interface. Each node is the real recover and publish service
// (node/service, through service-fixture.ts) over in-memory storage, so the
// client's requests are checked exactly as a daemon checks them; faults are
// scripted per node and per call.
import {
  ErrorCode,
  QkmsError,
  encodeMessage,
  requireNativeSuite,
  type CryptoSuite,
  type NodeEntry,
  type RejectionCode,
  rejectionCodeOf,
} from '../../protocol/internal.ts';
import { FIXTURE_TIME, quorumFixture, type QuorumFixture } from './protocol-fixture.ts';
import { nodeUnderTest, type NodeUnderTest } from './service-fixture.ts';
import type { NodeRequestOptions, NodeTransport, ProtocolName } from '../../client/transport.ts';

/** What a node does with one call, instead of (or before) answering normally. */
export type Fault =
  /** The connection fails: refused, reset. */
  | { readonly kind: 'reset' }
  /** No answer until the request's signal aborts (a black hole). */
  | { readonly kind: 'hang' }
  /** Answer after this many ms (the service runs first). */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Answer `reject` with this code without running the service. */
  | { readonly kind: 'reject'; readonly code: RejectionCode }
  /** Answer bytes that do not decode. */
  | { readonly kind: 'garbage' }
  /** An answer whose frame is bad (what the stream reader throws for it). */
  | { readonly kind: 'bad-frame' };

export interface Call {
  readonly index: number;
  readonly protocol: ProtocolName;
  readonly body: Uint8Array;
  readonly freshAfter: number | undefined;
}

/** Clock of the world: the nodes' clock (FIXTURE_TIME + 10 s) minus a little. */
export const CLIENT_TIME = FIXTURE_TIME + 9_000;

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}

export class MemoryQuorum implements NodeTransport {
  readonly suite: CryptoSuite;
  readonly fixture: QuorumFixture;
  readonly nodes: NodeUnderTest[];
  readonly calls: Call[] = [];
  /** Nodes that refuse every connection. */
  readonly down = new Set<number>();
  /** Faults per node, one consumed per call (in order); an empty queue answers normally. */
  readonly faults = new Map<number, Fault[]>();
  /** A fault applied to every call of a node (after the queued ones). */
  readonly always = new Map<number, Fault>();

  constructor(n = 5, t = 3) {
    this.suite = requireNativeSuite();
    this.fixture = quorumFixture(this.suite, n, t);
    this.nodes = this.fixture.nodeSet.nodes.map((node) => nodeUnderTest(this.fixture, node.index));
  }

  get nodeSet(): QuorumFixture['nodeSet'] {
    return this.fixture.nodeSet;
  }

  /** Queues faults for node `index`'s next calls. */
  fault(index: number, ...faults: Fault[]): void {
    this.faults.set(index, [...(this.faults.get(index) ?? []), ...faults]);
  }

  callsTo(index: number, protocol: ProtocolName = 'recover'): Call[] {
    return this.calls.filter((c) => c.index === index && c.protocol === protocol);
  }

  async request(
    node: NodeEntry,
    protocol: ProtocolName,
    body: Uint8Array,
    options: NodeRequestOptions,
  ): Promise<Uint8Array> {
    const { signal } = options;
    signal.throwIfAborted();
    this.calls.push({ index: node.index, protocol, body, freshAfter: options.freshAfter });
    if (this.down.has(node.index)) throw new Error('connection refused');
    const service = this.nodes[node.index - 1];
    if (service === undefined) throw new Error(`no node ${node.index}`);
    const fault = this.faults.get(node.index)?.shift() ?? this.always.get(node.index);
    switch (fault?.kind) {
      case 'reset':
        throw new Error('stream reset');
      case 'hang':
        await sleep(2 ** 30, signal);
        throw new Error('unreachable');
      case 'reject':
        return encodeMessage({ type: 'reject', code: fault.code });
      case 'garbage':
        return Uint8Array.of(0xff, 0x00);
      case 'bad-frame':
        throw new QkmsError(ErrorCode.MALFORMED, 'reply: bytes after the frame');
      default:
        break;
    }
    let answer: Uint8Array;
    try {
      answer = await (protocol === 'publish'
        ? service.publish.handle(body)
        : service.recover.handle(body, 'test-client'));
    } catch (e) {
      const code = rejectionCodeOf(e);
      answer = encodeMessage({ type: 'reject', code });
    }
    if (fault?.kind === 'delay') await sleep(fault.ms, signal);
    signal.throwIfAborted();
    return answer;
  }
}
