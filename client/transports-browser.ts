// The libp2p transports a client dials with in a browser (package.json
// "imports", `#client-transports`, `browser` condition):
//   - WebSockets: `ws` from a page on http://localhost, `wss` (a CA-signed
//     certificate on the node, or a reverse proxy in front of it) from a page
//     served over https;
//   - WebRTC-direct: a page served over https dials a node by IP address with
//     no CA certificate, the multiaddr pinning the node's certificate hash.
// A browser bundle carries no TCP code. Dials follow the node set's address
// order per node.
import { webRTCDirect } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';

export const CLIENT_RUNTIME = 'browser';

export function clientTransports(): [
  ReturnType<typeof webSockets>,
  ReturnType<typeof webRTCDirect>,
] {
  return [webSockets(), webRTCDirect()];
}
