// The WebRTC-direct transport's defences before libp2p takes a connection
// over (issue 15). Every STUN binding request with a new ICE ufrag makes
// @libp2p/webrtc build a native peer connection (node-datachannel: DTLS,
// SCTP, a thread's worth of state) before anything is authenticated, with
// no cap: libp2p's pending-upgrade and per-IP limits start only once Noise
// runs over the data channel. Here, per listener, before a peer connection
// is built:
//   - at most MAX_WEBRTC_PENDING handshakes at once (each ends by the
//     inbound upgrade deadline, 3 s, like a TCP upgrade);
//   - at most `maxPendingPerBlock` of them from one address block.
// UDP source addresses can be forged, so the per-block cap only slows an
// honest-looking flood; the total cap is what bounds the node's memory, and
// a flood can at worst hold WebRTC-direct itself busy while TCP and
// WebSockets keep serving (docs/threat-model.md). The listener's
// `incomingConnection` is not public API: @libp2p/webrtc is pinned to an
// exact version, and test/e2e/webrtc-direct.test.ts fails if it moves.
import type { Listener } from '@libp2p/interface';
import { ipBlock } from './address-block.ts';

/** Native peer connections being set up at once, all sources together. */
export const MAX_WEBRTC_PENDING = 32;

export interface WebRtcGuardOptions {
  readonly maxPendingPerBlock: number;
  /** True for a node-set peer's address (never limited). */
  readonly isAllowed: (address: string) => boolean;
  readonly onDrop?: (reason: 'total' | 'block', block: string) => void;
}

type IncomingConnection = (
  ufrag: string,
  remoteHost: string,
  remotePort: number,
  signal: AbortSignal,
) => Promise<void>;

/** Attaches the guard to a WebRTC-direct listener; false if it is not @libp2p/webrtc's. */
export function guardWebRtcListener(listener: Listener, options: WebRtcGuardOptions): boolean {
  const internals = listener as unknown as { incomingConnection?: IncomingConnection };
  const original = internals.incomingConnection;
  if (typeof original !== 'function') return false;
  let pending = 0;
  const perBlock = new Map<string, number>();
  internals.incomingConnection = async (ufrag, remoteHost, remotePort, signal) => {
    if (options.isAllowed(remoteHost)) {
      await original.call(listener, ufrag, remoteHost, remotePort, signal);
      return;
    }
    const block = ipBlock(remoteHost, remoteHost.includes(':') ? 6 : 4);
    if (pending >= MAX_WEBRTC_PENDING) {
      options.onDrop?.('total', block);
      return;
    }
    const n = perBlock.get(block) ?? 0;
    if (n >= options.maxPendingPerBlock) {
      options.onDrop?.('block', block);
      return;
    }
    pending++;
    perBlock.set(block, n + 1);
    try {
      await original.call(listener, ufrag, remoteHost, remotePort, signal);
    } finally {
      pending--;
      const left = (perBlock.get(block) ?? 1) - 1;
      if (left > 0) perBlock.set(block, left);
      else perBlock.delete(block);
    }
  };
  return true;
}
