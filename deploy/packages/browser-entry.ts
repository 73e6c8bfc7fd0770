// The entry of the self-contained browser bundle (build/browser/qkms-client.js):
// the client library, and the protocol's public surface as `protocol` (node
// sets, hex, the crypto suite) and the libp2p transports (`webSockets`,
// `webRTCDirect`), for a page that loads qkms without a bundler.
// The web feature check comes first, so a page that lacks one gets one clear
// error before any of the library runs (client/runtime-check.ts).
import '../../client/runtime-check-browser.ts';
export * from '../../client/index.ts';
export * as protocol from '../../protocol/index.ts';
// The transports a page may pass as QuorumClient's `transports`: WebSockets
// is the default; WebRTC-direct is opt-in (client/transports-browser.ts).
export { webSockets } from '@libp2p/websockets';
export { webRTCDirect } from '@libp2p/webrtc';
