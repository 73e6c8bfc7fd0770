// The libp2p transports a client dials with where Node's sockets exist
// (package.json "imports", `#client-transports`, default condition): TCP,
// what every node listens on, and WebSockets for nodes reachable only
// through a WebSocket endpoint or a reverse proxy. Dials follow the node
// set's address order, so a node listing TCP first is reached over TCP.
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { withCoalescedWrites } from '../protocol/internal.ts';

export const CLIENT_RUNTIME = 'node';

export function clientTransports(): [ReturnType<typeof tcp>, ReturnType<typeof webSockets>] {
  // One socket write per turn (protocol/codec/coalesce-writes.ts).
  const coalescedTcp: ReturnType<typeof tcp> = (components) =>
    withCoalescedWrites(tcp()(components));
  return [coalescedTcp, webSockets()];
}
