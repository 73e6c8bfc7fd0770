// The node registers exactly the method table: every method under its
// protocol id with the table's stream limits, no protocol without a spec,
// the channel carrying the methods the client sends; the client's ids and
// answer caps are the node's; a node-set method resets a stream from any
// other peer before reading it, and is logged quietly.
import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { describe, expect, it } from 'vitest';
import { MAX_REPLY_BYTES, PROTOCOL_IDS } from '../../client/index.ts';
import { CHANNEL_KINDS, METHODS, METHOD_NAMES, methodOfProtocol } from '../../protocol/internal.ts';
import { recorder } from '../../test/support/net-recorder.ts';
import type { Host } from './host.ts';
import { registerMethods, type MethodHandlers } from './register.ts';
import type { RequestOutcome } from './request.ts';

interface Registered {
  readonly handler: (stream: Stream, connection: Connection) => unknown;
  readonly options: { maxInboundStreams: number; maxOutboundStreams: number };
}

const LIMITS = { readDeadlineMs: 1_000, maxStreamsPerProtocol: 7 };
const echo = (r: Uint8Array): Promise<Uint8Array> => Promise.resolve(r);
const HANDLERS: MethodHandlers = {
  recover: echo,
  publish: echo,
  info: echo,
  revoke: echo,
  revsync: echo,
  reshare: echo,
};

/** A host that records what is registered on it, and admits no peer as a node-set member. */
async function registered(
  onRequest?: (protocol: string, outcome: RequestOutcome) => void,
): Promise<{ protocols: Map<string, Registered>; log: ReturnType<typeof recorder> }> {
  const protocols = new Map<string, Registered>();
  const host = {
    libp2p: {
      handle: (
        protocol: string,
        handler: Registered['handler'],
        options: Registered['options'],
      ) => {
        protocols.set(protocol, { handler, options });
        return Promise.resolve();
      },
    },
    isNodeSetPeer: () => false,
  } as unknown as Host;
  const log = recorder();
  await registerMethods(host, HANDLERS, LIMITS, {
    log,
    ...(onRequest === undefined ? {} : { onRequest }),
  });
  return { protocols, log };
}

describe('registerMethods', () => {
  it('registers every method of the table under its protocol id, and nothing else', async () => {
    const { protocols } = await registered();
    expect([...protocols.keys()].sort()).toEqual(
      METHOD_NAMES.map((m) => METHODS[m].protocol).sort(),
    );
    for (const protocol of protocols.keys())
      expect(methodOfProtocol(protocol), protocol).toBeDefined();
  });

  it('sets each method’s stream limits from the table, `option` as the operator’s limit', async () => {
    const { protocols } = await registered();
    for (const m of METHOD_NAMES) {
      const { inbound, outbound } = METHODS[m].streams;
      expect(protocols.get(METHODS[m].protocol)?.options, m).toEqual({
        maxInboundStreams: inbound === 'option' ? LIMITS.maxStreamsPerProtocol : inbound,
        maxOutboundStreams: outbound === 'option' ? LIMITS.maxStreamsPerProtocol : outbound,
      });
    }
    expect(protocols.get(METHODS.channel.protocol)?.options).toEqual({
      maxInboundStreams: 4,
      maxOutboundStreams: 1,
    });
  });

  it('gives the client the node’s protocol ids and answer caps, and the channel carries all it sends', async () => {
    const { protocols } = await registered();
    // The channel's kinds, and reshare (`node-set`, decision 0017) on its own stream.
    expect(Object.keys(PROTOCOL_IDS)).toEqual([...CHANNEL_KINDS, 'reshare']);
    for (const [name, id] of Object.entries(PROTOCOL_IDS)) {
      expect(protocols.has(id), id).toBe(true);
      expect(methodOfProtocol(id)).toBe(name);
    }
    for (const k of CHANNEL_KINDS) expect(MAX_REPLY_BYTES[k], k).toBe(METHODS[k].maxReplyBytes);
  });

  it('resets a revsync stream from a peer outside the node set unread, and logs it at debug', async () => {
    const outcomes: [string, RequestOutcome][] = [];
    const { protocols, log } = await registered((p, o) => outcomes.push([p, o]));
    const revsync = protocols.get(METHODS.revsync.protocol);
    let aborted = false;
    let read = false;
    const stream = {
      status: 'open',
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      abort: () => {
        aborted = true;
      },
      [Symbol.asyncIterator]: () => {
        read = true;
        throw new Error('read');
      },
    } as unknown as Stream;
    const connection = {
      remotePeer: { toString: () => 'outsider' } as unknown as PeerId,
      remoteAddr: multiaddr('/ip4/203.0.113.9/tcp/4001'),
    } as unknown as Connection;
    await revsync?.handler(stream, connection);
    expect(aborted).toBe(true);
    expect(read).toBe(false);
    expect(outcomes).toEqual([[METHODS.revsync.protocol, 'refused']]);
    expect(log.lines.map((l) => [l.level, l.ctx['outcome']])).toEqual([['debug', 'refused']]);
  });
});
