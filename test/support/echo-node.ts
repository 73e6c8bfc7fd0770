// A libp2p host serving an echo protocol, for the transport tests
// (test/e2e/websocket-limits.test.ts, webrtc-direct.test.ts): what reaches
// the handler comes back, so a test sees a whole request travel through the
// transport and its limits, and an honest client's request still served.
import type { Libp2p } from 'libp2p';
import type { Multiaddr } from '@multiformats/multiaddr';
import { registerHandler, requestOnce, type NetLogger } from '../../node/network/index.ts';
import { MAX_FRAME_BYTES } from '../../protocol/internal.ts';

export const ECHO_PROTOCOL = '/qkms/test-echo/1';

export const quietNetLog: NetLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Serves ECHO_PROTOCOL on `libp2p`: each request is its own answer. */
export async function serveEcho(libp2p: Libp2p, log: NetLogger = quietNetLog): Promise<void> {
  await registerHandler(
    libp2p,
    {
      protocol: ECHO_PROTOCOL,
      maxFrameBytes: MAX_FRAME_BYTES.recover,
      readDeadlineMs: 2_000,
      maxInboundStreams: 8,
      handle: async (request) => Promise.resolve(request),
    },
    { log },
  );
}

/** Sends "ping" from `client` to `addr` (ending in /p2p/…) and returns the answer as text. */
export async function echoPing(client: Libp2p, addr: Multiaddr): Promise<string> {
  const answer = await requestOnce(client, addr, ECHO_PROTOCOL, new TextEncoder().encode('ping'), {
    maxReplyBytes: 64,
    signal: AbortSignal.timeout(10_000),
  });
  return new TextDecoder().decode(answer);
}

export const sleep = async (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms);
  });

/** Waits until `condition` holds, polling; throws naming `what` after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await sleep(20);
  }
}
