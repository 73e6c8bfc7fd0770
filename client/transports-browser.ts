// The libp2p transports a client dials with in a browser by default
// (package.json "imports", `#client-transports`, `browser` condition):
// WebSockets, `ws` from a page on http://localhost and `wss` (a CA-signed
// certificate on the node, or a reverse proxy in front of it) from a page
// served over https. A browser bundle carries no TCP code.
//
// WebRTC-direct (a page on https dialing a node by IP with no CA
// certificate) is opt-in through QuorumClientOptions.transports: its
// package, @libp2p/webrtc, would otherwise be a dependency of every Node
// install of the client too, with a native library and react-native-webrtc
// (231 MB installed against 64 MB; decision 0013). The self-contained
// browser bundle carries it and exports webRTCDirect.
import { webSockets } from '@libp2p/websockets';

export const CLIENT_RUNTIME = 'browser';

export function clientTransports(): [ReturnType<typeof webSockets>] {
  return [webSockets()];
}
