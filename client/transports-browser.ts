// The libp2p transports a client dials with in a browser (package.json
// "imports", `#client-transports`, `browser` condition): WebSockets, `ws`
// from a page on http://localhost and `wss` (a CA-signed certificate, or a
// reverse proxy in front of the node) from a page served over https. A
// browser bundle carries no TCP code.
import { webSockets } from '@libp2p/websockets';

export const CLIENT_RUNTIME = 'browser';

export function clientTransports(): [ReturnType<typeof webSockets>] {
  return [webSockets()];
}
