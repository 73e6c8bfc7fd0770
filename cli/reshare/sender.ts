// How the admin's reshare and cutover commands reach a node: one request
// over TCP + Noise, pinned to the node's PeerId, its addresses tried in order.
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { requestOnce } from '../../node/index.ts';
import { METHODS, type NodeEntry } from '../../protocol/internal.ts';

/** One request to a node over TCP + Noise, pinned to its PeerId, trying its addresses in order. */
export async function nodeSender(timeoutMs: number): Promise<{
  send: (node: NodeEntry, frame: Uint8Array) => Promise<Uint8Array>;
  close: () => Promise<void>;
}> {
  const libp2p = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  const send = async (node: NodeEntry, frame: Uint8Array): Promise<Uint8Array> => {
    let last: unknown = new Error('no TCP address');
    for (const address of node.multiaddrs.filter(
      (a) => a.includes('/tcp/') && !a.includes('/ws'),
    )) {
      try {
        return await requestOnce(
          libp2p,
          multiaddr(`${address}/p2p/${node.peerId}`),
          METHODS.reshare.protocol,
          frame,
          { signal: AbortSignal.timeout(timeoutMs), maxReplyBytes: METHODS.reshare.maxReplyBytes },
        );
      } catch (e) {
        last = e;
      }
    }
    throw last;
  };
  return {
    send,
    close: async () => {
      await libp2p.stop();
    },
  };
}
